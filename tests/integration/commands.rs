//! Spoken commands end to end: synthesised with two TTS engines (espeak-ng and
//! Piper), mixed with noise at 10 dB SNR by `tests/gen/commands.py` (run by
//! `make test`), then Whisper + the intent parser must get the command right.

use std::path::{Path, PathBuf};

use heyplayer::audio::wav::WavSource;
use heyplayer::intent::{parse, Command};
use heyplayer::pipeline::read_all;

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
#[ignore = "fails today: 61.3% (38/62) with tiny.en q8 at 10 dB SNR (an earlier unseeded corpus: 64.5%, and 77.4% with the full 30 s audio context); see issue 3's note. Run with --ignored"]
fn spoken_commands_in_noise_give_the_right_intent() {
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
    let mut w = worker();
    let (mut right, mut wrong) = (0usize, Vec::new());
    for engine in ["espeak", "piper"] {
        assert!(
            lines.iter().any(|l| l.id.contains(engine)),
            "no {engine} clips"
        );
    }
    for l in &lines {
        let samples = read_all(WavSource::open(&corpus().join(&l.audio), false).unwrap()).unwrap();
        let t = w.transcribe(&samples).unwrap();
        let got = if t.accepted() { parse(&t.text) } else { None };
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
        } else {
            wrong.push(format!(
                "{}: said {:?}, heard {:?} ({:?}) -> {got:?}",
                l.id, l.labels.transcript, t.text, t.rejected
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
