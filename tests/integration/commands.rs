//! Spoken commands end to end: synthesised with two TTS engines (espeak-ng and
//! Piper), mixed with noise at 10 dB SNR by `heyplayer_tools.testdata.commands` (run by
//! `make test`), then Whisper + the intent parser must get the command right.

use std::path::{Path, PathBuf};

use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::intent::Command;

use crate::asr::worker;

/// The test fails below this intent accuracy.
const MIN_INTENT_ACCURACY: f64 = 0.90;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/out/commands")
}

#[derive(serde::Deserialize)]
struct Line {
    id: String,
    audio: String,
    labels: Labels,
}

#[derive(serde::Deserialize)]
struct Labels {
    transcript: String,
    intent: Command,
}

#[test]
fn spoken_commands_in_noise_give_the_right_intent() {
    let _turn = crate::common::whisper_turn();
    let manifest = corpus().join("manifest.jsonl");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; generate it with `make test-data` (part of `make test`)",
            manifest.display()
        )
    });
    let lines: Vec<Line> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 60, "only {} clips", lines.len());
    // Every phrasing once, the engines taking turns (espeak-ng says the even
    // ones, Piper the odd ones): all phrasings and both engines in half the
    // Whisper time of the whole corpus (about 40 s of a cold `make test`).
    let lines: Vec<Line> = lines
        .into_iter()
        .filter(|l| {
            let n: usize =
                l.id.rsplit('-')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{}: not cmd-ENGINE-NUMBER", l.id));
            l.id.contains(if n.is_multiple_of(2) {
                "-espeak-"
            } else {
                "-piper-"
            })
        })
        .collect();
    let mut w = worker();
    let (mut right, mut wrong) = (0usize, Vec::new());
    for engine in ["espeak", "piper"] {
        assert!(
            lines.iter().any(|l| l.id.contains(engine)),
            "no {engine} clips"
        );
    }
    assert!(lines.len() >= 30, "only {} clips", lines.len());
    for l in &lines {
        let samples = read_all(WavSource::open(&corpus().join(&l.audio), false).unwrap()).unwrap();
        let t = w.transcribe(&samples).unwrap();
        let u = w.understand(&t, &t.text, "").unwrap();
        let got = u.command;
        let ok = match &got {
            Some(c) => {
                c.action == l.labels.intent.action
                    && c.value == l.labels.intent.value
                    && c.query.as_deref().map(words) == l.labels.intent.query.as_deref().map(words)
            }
            None => false,
        };
        if ok {
            right += 1;
            if let Some(g) = u.guess {
                eprintln!(
                    "{}: heard {:?}, guided {:?} ({:.2})",
                    l.id, t.text, g.text, g.avg_logprob
                );
            }
        } else {
            wrong.push(format!(
                "{}: said {:?}, heard {:?} ({:?}), guided {:?} -> {got:?}",
                l.id,
                l.labels.transcript,
                t.text,
                t.rejected,
                u.guess.map(|g| (g.text, g.avg_logprob))
            ));
        }
    }
    let acc = right as f64 / lines.len() as f64;
    eprintln!(
        "intent accuracy at 10 dB SNR: {:.1}% ({right}/{})\n{}",
        acc * 100.0,
        lines.len(),
        wrong.join("\n")
    );
    assert!(
        acc >= MIN_INTENT_ACCURACY,
        "intent accuracy {:.1}% < {:.0}%",
        acc * 100.0,
        MIN_INTENT_ACCURACY * 100.0
    );
}

/// A query compared as its words, ignoring punctuation and case.
fn words(q: &str) -> String {
    heyplayer::intent::normalise(q)
}

/// Real speech that is not a command (Debian's asterisk-core-sounds-en
/// prompts: "Press 1 to...", "The conference is now locked."): guided decoding
/// must not turn it into commands. A prompt that really is one word of the
/// command vocabulary ("Stop.") would count, which none of those picked is.
#[test]
fn real_speech_that_is_not_a_command_stays_not_understood() {
    let _turn = crate::common::whisper_turn();
    /// Prompts checked (every 5th up to 5 s long, the same each run).
    const PROMPTS: usize = 30;
    /// Tolerated prompts that become commands.
    const MAX_COMMANDS: usize = 1;
    let mut w = worker();
    let mut commands = Vec::new();
    let mut n = 0;
    for (name, path, said) in crate::common::asterisk_prompts()
        .into_iter()
        .filter(|(n, _, _)| !n.contains('/'))
        .step_by(5)
    {
        let samples = read_all(WavSource::open(&path, false).unwrap()).unwrap();
        if samples.len() > 5 * 16_000 || heyplayer::intent::parse(&said).is_some() {
            continue;
        }
        let t = w.transcribe(&samples).unwrap();
        let u = w.understand(&t, &t.text, "").unwrap();
        if let Some(c) = u.command {
            commands.push(format!(
                "{name}: {said:?} heard {:?} -> {c} (guess {:?})",
                t.text, u.guess
            ));
        }
        n += 1;
        if n == PROMPTS {
            break;
        }
    }
    assert_eq!(n, PROMPTS);
    eprintln!(
        "{}/{n} non-command prompts became commands\n{}",
        commands.len(),
        commands.join("\n")
    );
    assert!(commands.len() <= MAX_COMMANDS, "{}", commands.join("\n"));
}
