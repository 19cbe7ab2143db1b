//! The "hey player" detector on held-out voices and unseen real speech, and the
//! whole pipeline (wake word → Whisper → command) on spoken commands.
//!
//! The corpus comes from `heyplayer_tools.testdata.wake` (run by `make test`).

use std::path::{Path, PathBuf};

use heyplayer::audio::read_all;
use heyplayer::audio::stdin::RawPcmSource;
use heyplayer::audio::wav::WavSource;
use heyplayer::audio::FRAME_SAMPLES;
use heyplayer::events::Event;
use heyplayer::pipeline::{collect_all_events, wake_models, Assistant};
use heyplayer::wake::WakeDetector;

use crate::common::{config, to_s16le, Noise};

/// The first stage must find at least this share of the held-out positives.
const MIN_RECALL: f64 = 0.90;

fn corpus() -> PathBuf {
    corpus_at("wake")
}

/// A test-data corpus under tests/out (`make test-data`): `wake`, the
/// held-out positives ("hey player, <command>") and real speech, or
/// `wake_fluent`, the same voices running the phrase into the command.
fn corpus_at(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/out")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Line {
    id: String,
    audio: String,
    #[serde(default)]
    engine: String,
    labels: serde_json::Value,
}

fn lines() -> Vec<Line> {
    lines_in(&corpus())
}

fn lines_in(corpus: &Path) -> Vec<Line> {
    let manifest = corpus.join("manifest.jsonl");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; generate it with `make test-data` (part of `make test`)",
            manifest.display()
        )
    });
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn samples(l: &Line) -> Vec<f32> {
    samples_in(&corpus(), l)
}

fn samples_in(corpus: &Path, l: &Line) -> Vec<f32> {
    read_all(WavSource::open(&corpus.join(&l.audio), false).unwrap()).unwrap()
}

/// First-stage detections (t_ms) on 16 kHz samples.
fn detections(samples: &[f32]) -> Vec<u64> {
    let cfg = config();
    let mut d = WakeDetector::new(wake_models(&cfg).unwrap(), cfg.wake.detector);
    samples
        .chunks_exact(FRAME_SAMPLES)
        .filter_map(|c| d.push(c.try_into().unwrap()).unwrap())
        .map(|det| det.t_ms)
        .collect()
}

#[test]
fn first_stage_finds_held_out_positives() {
    let pos: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == true)
        .collect();
    assert!(pos.len() >= 30, "only {} positives", pos.len());
    let mut missed = Vec::new();
    for l in &pos {
        if detections(&samples(l)).is_empty() {
            missed.push(format!("{} ({})", l.id, l.engine));
        }
    }
    let recall = 1.0 - missed.len() as f64 / pos.len() as f64;
    eprintln!(
        "first-stage recall on {} held-out positives: {:.1}%; missed: {}",
        pos.len(),
        recall * 100.0,
        missed.join(", ")
    );
    assert!(
        recall >= MIN_RECALL,
        "recall {:.1}% < {:.0}%",
        recall * 100.0,
        MIN_RECALL * 100.0
    );
}

/// Ten minutes of unseen real speech: the shipped detector (first stage, then
/// Whisper's check, both on by default) must accept no wake at all.
#[test]
fn no_wake_is_accepted_on_ten_minutes_of_real_speech() {
    let _turn = crate::common::whisper_turn();
    let neg: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == false)
        .collect();
    assert!(!neg.is_empty());
    let cfg = config();
    let mut minutes = 0.0;
    for l in &neg {
        let s = samples(l);
        minutes += s.len() as f64 / 16_000.0 / 60.0;
        let first = detections(&s);
        let src = WavSource::open(&corpus().join(&l.audio), false).unwrap();
        let events = collect_all_events(src, &cfg, Assistant::new(&cfg).unwrap()).unwrap();
        let wakes = events
            .iter()
            .filter(|e| matches!(e, Event::Wake { .. }))
            .count();
        let rejected: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e, Event::WakeRejected { .. }))
            .collect();
        eprintln!(
            "{}: {minutes:.1} min, first stage fired {} times {first:?}, Whisper rejected {rejected:?}",
            l.id,
            first.len()
        );
        assert_eq!(wakes, first.len(), "the pipeline's first stage differs");
        assert_eq!(
            wakes,
            rejected.len(),
            "{}: accepted false wakes: {events:?}",
            l.id
        );
    }
    assert!(minutes >= 9.9, "only {minutes:.1} min of negative speech");
}

/// Events of the whole pipeline on a positive clip.
fn full_events(s: &[f32], read_sizes: &[usize]) -> Vec<Event> {
    let cfg = config();
    let bytes = to_s16le(s);
    let src = RawPcmSource::new(Chunked::new(bytes, read_sizes), "buffer", 16_000, 1).unwrap();
    collect_all_events(src, &cfg, Assistant::new(&cfg).unwrap()).unwrap()
}

/// A reader that hands out its bytes in the given read sizes, cycling.
struct Chunked {
    data: std::io::Cursor<Vec<u8>>,
    sizes: Vec<usize>,
    k: usize,
}

impl Chunked {
    fn new(data: Vec<u8>, sizes: &[usize]) -> Self {
        Self {
            data: std::io::Cursor::new(data),
            sizes: sizes.to_vec(),
            k: 0,
        }
    }
}

impl std::io::Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.sizes[self.k % self.sizes.len()].min(buf.len());
        self.k += 1;
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn wake_then_whisper_end_to_end_and_chunking_invariant() {
    let _turn = crate::common::whisper_turn();
    let pos: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == true && l.engine.starts_with("piper"))
        .take(3)
        .collect();
    let mut rng = Noise::new(5);
    for l in &pos {
        let s = samples(l);
        let whole = full_events(&s, &[1 << 20]);
        let wakes = whole
            .iter()
            .filter(|e| matches!(e, Event::Wake { .. }))
            .count();
        let rejected = whole
            .iter()
            .filter(|e| matches!(e, Event::WakeRejected { .. }))
            .count();
        let heard = whole
            .iter()
            .filter(|e| matches!(e, Event::Transcript { .. }))
            .count();
        // The first stage fires once; Whisper then either accepts the phrase
        // (and transcribes the command) or rejects the wake. Its acceptance
        // rate is a figure of `heyplayer eval`, not asserted on three clips.
        assert_eq!(wakes, 1, "{}: {whole:?}", l.id);
        assert_eq!(rejected + heard, 1, "{}: {whole:?}", l.id);
        let sizes: Vec<usize> = (0..7)
            .map(|_| 2 * (1 + ((rng.next() + 1.0) * 2000.0) as usize))
            .collect();
        assert_eq!(full_events(&s, &sizes), whole, "{} chunked {sizes:?}", l.id);
    }
}

/// The bundled demo (what `make run` plays without a microphone) holds one
/// "Hey player, play some jazz" and three sentences without the wake word.
#[test]
fn demo_recording_wakes_once_and_plays_jazz() {
    let _turn = crate::common::whisper_turn();
    let cfg = config();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
    let events = collect_all_events(
        WavSource::open(&demo, false).unwrap(),
        &cfg,
        Assistant::new(&cfg).unwrap(),
    )
    .unwrap();
    let wakes: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Wake { t_ms, .. } => Some(*t_ms),
            _ => None,
        })
        .collect();
    assert_eq!(wakes.len(), 1, "{events:?}");
    // "Hey player" is said between 1.5 s and 2.5 s.
    assert!((1_500..=2_600).contains(&wakes[0]), "{wakes:?}");
    let commands: Vec<&heyplayer::intent::Command> = events
        .iter()
        .filter_map(|e| match e {
            Event::Command { command, .. } => Some(command),
            _ => None,
        })
        .collect();
    assert_eq!(
        commands,
        vec![&heyplayer::intent::parse("play some jazz").unwrap()],
        "{events:?}"
    );
}

/// Share of held-out positives the second stage must accept (measured on the
/// comma set: 82.5% with the rivals and the looser forced check, and again
/// with the evidence weighed; 77.5% before them, 72.5% before the plain retry).
const MIN_POSITIVES: f64 = 0.75;

/// The second stage as the daemon runs it on a clip: the prompted transcript
/// checked, then (issue 4) a plain one, weighed (issue 29) with the first
/// stage's score on the clip (its first detection's, else its best step's:
/// what the daemon would hand on had it fired). What was heard, and the
/// command text when the phrase stood.
fn second_stage(
    w: &mut heyplayer::asr::AsrWorker,
    models: &heyplayer::wake::WakeModels,
    clip: &[f32],
    check: &heyplayer::command::verify::WakeCheck,
) -> (String, Option<String>) {
    let cfg = config();
    let scan = WakeDetector::new(models.clone(), cfg.wake.detector)
        .scan(clip)
        .unwrap();
    let (_, score) = scan.decisive();
    let t = w.transcribe(clip).unwrap();
    let (v, plain) = heyplayer::command::verify::verify_wake_clip(w, &t, check, score).unwrap();
    let mut heard = match plain {
        Some(p) => format!("{} / plain: {}", t.text, p.text),
        None => t.text,
    };
    if let Some(why) = v.why() {
        heard += &format!(" ({why})");
    }
    (heard, v.command())
}

/// The second stage (Whisper: the transcript starts with the phrase, or the
/// phrase forced at its start is likely enough, and no near-miss rival beats
/// it; again without the prompt if not) on near-misses said by espeak-ng
/// voices held out of the wake model's training, and on the held-out
/// positives. The forced threshold was first chosen on these clips, and since
/// checked on the training voices (`heyplayer_tools.wake.verify_tune`); "A player"
/// was taken out of the rivals after these positives showed that one held-out
/// voice's "hey player" is written that way. This guards against
/// regressions, it is not a held-out measurement.
#[test]
fn second_stage_rejects_near_misses_and_accepts_most_positives() {
    let _turn = crate::common::whisper_turn();
    /// Near-misses the second stage may let through (measured: 2 of 36,
    /// with and without the rivals; 1 with the evidence weighed, issue 29).
    const MAX_NEAR_MISSES: usize = 2;
    /// Positives the prompted pass rejects and the plain retry accepts
    /// (measured: 3; 2 with the evidence weighed).
    const MIN_RECOVERED: usize = 1;
    const NEAR_MISSES: &[&str] = &[
        "hey layer, play some jazz",
        "hey prayer, skip this song",
        "okay player, pause",
        "hey there, play some music",
        "play her a song",
        "hey siri, next song",
        "hey jarvis, stop",
        "hey, play some jazz",
        "player, turn it up",
        "hey baylor, louder",
        "hey planner, what's playing",
        "hey mayor, mute",
    ];
    let cfg = config();
    let check = heyplayer::command::verify::WakeCheck::new(&cfg.wake);
    let models = wake_models(&cfg).unwrap();
    let mut w = crate::asr::worker();
    let dir = tempfile::tempdir().unwrap();
    let mut passed = Vec::new();
    for voice in ["en-gb-x-gbclan", "en-us-nyc", "en-gb-x-gbcwmd"] {
        for (i, said) in NEAR_MISSES.iter().enumerate() {
            let wav = dir.path().join(format!("{voice}-{i}.wav"));
            let ok = std::process::Command::new("espeak-ng")
                .args(["-v", voice, "-w"])
                .arg(&wav)
                .arg(said)
                .status()
                .unwrap_or_else(|e| panic!("espeak-ng: {e} (make test installs it)"));
            assert!(ok.success());
            let s = read_all(WavSource::open(&wav, false).unwrap()).unwrap();
            let (heard, rest) = second_stage(&mut w, &models, &s, &check);
            if let Some(rest) = rest {
                passed.push(format!("{voice}: {said:?} heard {heard:?} -> {rest:?}"));
            }
        }
    }
    let positives: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == true)
        .collect();
    let (mut accepted, mut recovered) = (0, 0);
    for l in &positives {
        let (heard, rest) = second_stage(&mut w, &models, &samples(l), &check);
        if rest.is_some() {
            accepted += 1;
            recovered += usize::from(heard.contains(" / plain: "));
        }
    }
    let share = accepted as f64 / positives.len() as f64;
    eprintln!(
        "second stage: {}/{} near-misses passed, {accepted}/{} positives accepted ({:.1}%), \
         {recovered} of them by the plain retry\n{}",
        passed.len(),
        NEAR_MISSES.len() * 3,
        positives.len(),
        share * 100.0,
        passed.join("\n")
    );
    assert!(passed.len() <= MAX_NEAR_MISSES, "{}", passed.join("\n"));
    assert!(share >= MIN_POSITIVES, "{:.1}%", share * 100.0);
    assert!(
        recovered >= MIN_RECOVERED,
        "the plain retry recovered {recovered} positives"
    );
}

/// Issue 29: the phrase as people say it, run into the command with no comma
/// or pause ("hey player play some jazz"), by the voices held out of
/// training (`tests/out/wake_fluent`). Both stages must find it as they find
/// the comma set: the first stage at least `MIN_RECALL` of the clips, the
/// second accepting at least `MIN_POSITIVES` of them (the comma set's floors,
/// not chosen on these clips; measured when the set was made, 2026-12-08:
/// the first stage 20 of 20, the second 19 of 20, the miss an espeak voice
/// that Whisper base hears as "I play ...").
#[test]
fn issue_29_fluent_held_out_phrases_wake_both_stages() {
    let _turn = crate::common::whisper_turn();
    let fluent = corpus_at("wake_fluent");
    let pos = lines_in(&fluent);
    assert!(pos.len() >= 20, "only {} fluent positives", pos.len());
    let cfg = config();
    let check = heyplayer::command::verify::WakeCheck::new(&cfg.wake);
    let models = wake_models(&cfg).unwrap();
    let mut w = crate::asr::worker();
    let (mut found, mut accepted, mut missed) = (0, 0, Vec::new());
    for l in &pos {
        assert_eq!(l.labels["wake"], true, "{}", l.id);
        let s = samples_in(&fluent, l);
        if detections(&s).is_empty() {
            missed.push(format!("{} ({}): first stage", l.id, l.engine));
            continue;
        }
        found += 1;
        match second_stage(&mut w, &models, &s, &check) {
            (_, Some(_)) => accepted += 1,
            (heard, None) => missed.push(format!("{} ({}): {heard}", l.id, l.engine)),
        }
    }
    let n = pos.len() as f64;
    eprintln!(
        "fluent held-out positives: first stage {found}/{}, both stages {accepted}/{}\n{}",
        pos.len(),
        pos.len(),
        missed.join("\n")
    );
    assert!(found as f64 / n >= MIN_RECALL, "{}", missed.join("\n"));
    assert!(
        accepted as f64 / n >= MIN_POSITIVES,
        "{}",
        missed.join("\n")
    );
}

/// The rivals' scores share decoder work (a common start is fed once); each
/// score must still be what the text gets when it is scored alone (issue 4).
#[test]
fn rival_scores_match_scoring_each_text_alone() {
    let _turn = crate::common::whisper_turn();
    /// Log-probabilities agree to this (the same decoder, other batching).
    const TOL: f32 = 1e-2;
    let leads: Vec<String> = [
        "Hey player,",
        "Hey",
        "Hey players,",
        "Play her,",
        "Hey",
        "Hey, player.",
        "Okay player,",
        "Hey player, play",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let pos = lines()
        .into_iter()
        .find(|l| l.labels["wake"] == true)
        .expect("a positive in the wake set");
    let mut w = crate::asr::worker();
    w.transcribe(&samples(&pos)).unwrap();
    let together = w.lead_logprobs(&leads).unwrap();
    for (lead, &got) in leads.iter().zip(&together) {
        let alone = w.lead_logprobs(std::slice::from_ref(lead)).unwrap()[0];
        assert!(got.is_finite(), "{lead}: {got}");
        assert!(
            (got - alone).abs() < TOL,
            "{lead}: {got} together, {alone} alone"
        );
    }
    // A longer text is never likelier than its own start.
    assert!(together[0] <= together[1] + TOL && together[7] <= together[0] + TOL);
    assert_eq!(together[1], together[4]);
}

/// Issue 31: forced decoding, lead scoring and guided search start from the
/// prompt whisper.cpp's own pass decoded, and from each other's; each must
/// give what it gives as the first after a fresh encoding with the prompt
/// decoded afresh, and nothing of one clip's decoding may carry over to the
/// next clip. A rival given up below a floor
/// is one whose whole score is below it; the others score as without one.
#[test]
fn issue_31_what_follows_a_held_prompt_is_what_follows_a_fresh_one() {
    let _turn = crate::common::whisper_turn();
    /// The same decoder; the prompt may be decoded in other batches.
    const TOL: f32 = 1e-3;
    let pos = lines()
        .into_iter()
        .find(|l| l.labels["wake"] == true)
        .expect("a positive in the wake set");
    let b = samples(&pos);
    // The same clip backwards: no "hey" at its start.
    let a: Vec<f32> = b.iter().rev().copied().collect();
    let (a, b) = (&a, &b);
    let lead = "Hey player,";
    let leads: Vec<String> = [
        "Hey player,",
        "Hey, player.",
        "Hey layer,",
        "Play her,",
        "Okay player,",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut w = crate::asr::worker();
    // Fresh: each first after its own encoding of b, the prompt decoded here
    // (not taken from whisper.cpp's pass).
    w.transcribe(b).unwrap();
    w.decode_prompt_afresh();
    let forced = w.force(lead).unwrap();
    w.transcribe(b).unwrap();
    w.decode_prompt_afresh();
    let guessed = w.guess(lead).unwrap();
    w.transcribe(b).unwrap();
    w.decode_prompt_afresh();
    let scored = w.lead_logprobs(&leads).unwrap();
    // Held: after a, then b with everything run in turn.
    w.transcribe(a).unwrap();
    w.lead_logprobs(&leads).unwrap();
    w.force(lead).unwrap();
    w.transcribe(b).unwrap();
    let held_guessed = w.guess(lead).unwrap();
    let held_forced = w.force(lead).unwrap();
    // Forced decoding leaves its last step's row where the prompt's was.
    let held_scored = w.lead_logprobs(&leads).unwrap();
    assert!((forced.lead_avg_logprob - held_forced.lead_avg_logprob).abs() < TOL);
    assert_eq!(forced.rest, held_forced.rest);
    match (&guessed, &held_guessed) {
        (Some(g), Some(h)) => {
            assert_eq!(g.text, h.text);
            assert!((g.logprob - h.logprob).abs() < TOL, "{g:?} {h:?}");
        }
        (g, h) => assert_eq!(g.is_none(), h.is_none(), "{g:?} {h:?}"),
    }
    for (x, y) in scored.iter().zip(&held_scored) {
        assert!((x - y).abs() < TOL, "{scored:?} {held_scored:?}");
    }
    // A floor half-way between the best and the worst lead.
    let best = scored.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let worst = scored.iter().copied().fold(f32::INFINITY, f32::min);
    let floor = (best + worst) / 2.0;
    let above = w.lead_logprobs_above(&leads, floor).unwrap();
    for ((lead, &full), &got) in leads.iter().zip(&scored).zip(&above) {
        if full < floor - TOL {
            assert_eq!(got, f32::NEG_INFINITY, "{lead}: {full} < {floor}");
        } else if full > floor + TOL {
            assert!((got - full).abs() < TOL, "{lead}: {got} vs {full}");
        }
    }
}

/// Issue 31: the wake check's retry without the prompt decodes the encoding
/// it has instead of encoding the clip again; it must write what
/// whisper.cpp's own pass without the prompt writes, with the same
/// confidence and verdict. On 8 held-out positives.
#[test]
fn issue_31_the_plain_retry_on_the_held_encoding_is_whisper_cpps_plain_pass() {
    let _turn = crate::common::whisper_turn();
    /// Log-probabilities agree to this (the same decoder, other batching).
    const TOL: f32 = 1e-3;
    let mut w = crate::asr::worker();
    for l in lines().iter().filter(|l| l.labels["wake"] == true).take(8) {
        let clip = samples(l);
        let own = w.transcribe_plain(&clip).unwrap();
        w.transcribe(&clip).unwrap();
        let again = w.transcribe_plain_again().unwrap();
        assert_eq!(own.text, again.text, "{}", l.audio);
        // whisper.cpp's own no-speech probability reads a logits row its
        // batched prompt decode did not write (a stale one), and a transcript
        // takes the larger of it and ours: ours alone can only be lower.
        assert!(
            (own.avg_logprob - again.avg_logprob).abs() < TOL
                && again.no_speech_prob <= own.no_speech_prob + TOL
                && own.rejected == again.rejected,
            "{}: {own:?} vs {again:?}",
            l.audio
        );
    }
}

/// Issue 29: a stream that starts just before the phrase (a WAV, a Wyoming
/// session) finds it as one with history does. Every held-out positive cut to
/// 100 ms before its speech onset (the first 10 ms frame 15 dB above the
/// clip's 10th-percentile level, as heyplayer_tools.testdata.short_history finds it). Before
/// the detector took missing history for quiet, it found none of them: its
/// windows had not filled when the phrase was heard.
#[test]
fn issue_29_a_phrase_at_the_very_start_of_a_stream_is_found() {
    let pos: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == true)
        .collect();
    let mut missed = Vec::new();
    for l in &pos {
        let s = samples(l);
        let levels: Vec<f32> = s
            .chunks_exact(FRAME_SAMPLES)
            .map(|c| 10.0 * (c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32 + 1e-12).log10())
            .collect();
        let mut sorted = levels.clone();
        sorted.sort_by(f32::total_cmp);
        let floor = sorted[sorted.len() / 10];
        let onset = levels.iter().position(|&v| v > floor + 15.0).unwrap_or(0);
        let start = onset.saturating_sub(10) * FRAME_SAMPLES;
        if detections(&s[start..]).is_empty() {
            missed.push(l.id.clone());
        }
    }
    eprintln!(
        "cut to 100 ms before the phrase: {} of {} missed {missed:?}",
        missed.len(),
        pos.len()
    );
    // Measured 1 of 40 (2.5 %) on 2026-12-07; with history the first stage misses 0.
    assert!(
        missed.len() * 10 <= pos.len(),
        "{} of {} missed: {missed:?}",
        missed.len(),
        pos.len()
    );
}

/// Issue 31: a command heard as complete ("pause", "volume to forty") is
/// acted on after a short quiet, not the whole hang-over: Whisper starts at
/// the first pause and its result stands when nobody speaks again. On the
/// audio clock, the command event comes at most the short quiet (plus a
/// frame of VAD slack) after the end of speech; before, it came after the
/// VAD's and the command's hang-overs (about 1 s). The clip is held-out
/// voices (pos-005 "pause", pos-020 "set the volume to forty", pos-022
/// "mute", pos-029 "what's playing"); at least three of the four must.
#[test]
fn issue_31_a_complete_command_is_acted_on_after_a_short_quiet() {
    let _turn = crate::common::whisper_turn();
    let cfg = config();
    let mut assistant = Assistant::new(&cfg).unwrap();
    let ids = ["pos-005", "pos-020", "pos-022", "pos-029"];
    let mut quick = Vec::new();
    for l in lines().iter().filter(|l| ids.contains(&l.id.as_str())) {
        let src = WavSource::open(&corpus().join(&l.audio), false).unwrap();
        let events =
            heyplayer::pipeline::collect_all_events_with(src, &cfg, &mut assistant).unwrap();
        let Some(t_cmd) = events.iter().find_map(|e| match e {
            Event::Command { t_ms, .. } => Some(*t_ms),
            _ => None,
        }) else {
            continue;
        };
        let speech_end = events
            .iter()
            .filter_map(|e| match e {
                Event::VoiceStopped { t_ms, .. } if *t_ms <= t_cmd => Some(*t_ms),
                _ => None,
            })
            .max()
            .unwrap_or_else(|| panic!("{}: no end of speech before {t_cmd}", l.id));
        let after = t_cmd - speech_end;
        eprintln!("{}: command {after} ms after the end of speech", l.id);
        if after <= cfg.command.complete_hangover_ms + 30 {
            quick.push(l.id.clone());
        }
    }
    assert!(quick.len() >= 3, "only {quick:?} of {ids:?} came quickly");
}

/// Stands in for Whisper's reading of a pause: every pause is a complete
/// command, so a recording ends after the shortest quiet the endpointing
/// allows (`complete_hangover_ms`), the soonest the detector is free again.
struct HeardComplete;

impl heyplayer::command::Speculate for HeardComplete {
    fn start(&mut self, _id: u64, _job: heyplayer::command::Job) {}
    fn void(&mut self, _id: u64) {}
    fn reading(&mut self, _id: u64, _wait: bool) -> Option<heyplayer::command::Reading> {
        Some(heyplayer::command::Reading::Complete)
    }
}

/// Drives the front end alone over `s` as the pipeline does (VAD, first
/// stage, pre-roll and command recorder; no Whisper unless `ahead` brings
/// it): each frame's events and finished recording go to `each`, with
/// `ahead`.
fn drive_front<A: heyplayer::command::Speculate>(
    s: &[f32],
    cfg: &heyplayer::config::Config,
    ahead: &mut A,
    mut each: impl FnMut(&mut Vec<Event>, Option<heyplayer::command::Job>, &mut A),
) {
    use heyplayer::command::front::WakeFront;
    use heyplayer::command::recorder::CommandEnd;
    use heyplayer::vad::{Boundary, VoiceDetector};
    let silero = heyplayer::pipeline::load::Loaded::load(cfg, false)
        .unwrap()
        .silero;
    let mut vad = VoiceDetector::new(&cfg.vad, &silero).unwrap();
    let mut front = WakeFront::new(cfg, Some(wake_models(cfg).unwrap()));
    let mut evs = Vec::new();
    for (k, c) in s.chunks_exact(FRAME_SAMPLES).enumerate() {
        let t_ms = k as u64 * 10;
        let frame = c.try_into().unwrap();
        let b = vad.push(t_ms, frame, |_, _| {}).unwrap();
        let onset = matches!(b, Some(Boundary::Started { .. }));
        let speech = (vad.in_speech(), vad.frame_speech());
        let job = front
            .push(t_ms, frame, speech, onset, Some(&mut *ahead), &mut evs)
            .unwrap();
        if let Some(job) = &job {
            if matches!(job.end, CommandEnd::Spoken { cut: false, .. }) {
                vad.end_segment();
            }
        }
        each(&mut evs, job, ahead);
        evs.clear();
    }
}

/// The front end alone, with every pause heard as complete: the `wake`
/// events' times and the recordings' ends on the audio clock.
fn front_wakes(s: &[f32], cfg: &heyplayer::config::Config) -> (Vec<u64>, Vec<u64>) {
    let (mut wakes, mut ends) = (Vec::new(), Vec::new());
    drive_front(s, cfg, &mut HeardComplete, |evs, job, _| {
        wakes.extend(evs.iter().filter_map(|e| match e {
            Event::Wake { t_ms, .. } => Some(*t_ms),
            _ => None,
        }));
        ends.extend(job.map(|j| j.t_ms));
    });
    (wakes, ends)
}

/// Issue 29: no second wake while a command is recorded, nor from what it
/// recorded. The wake phrase stays in the first stage's 2 s windows, and the
/// detector goes on firing for up to 0.8 s after a phrase (measured on these
/// clips with no debounce), so two gates matter: fires during a recording
/// are dropped, and when the recording ends the detector forgets what it
/// heard ([`heyplayer::wake::WakeDetector::forget`]). The debounce is set to
/// 0 (an allowed setting) so that it hides neither. Front end only (VAD,
/// first stage, recorder), with every pause heard as a complete command: the
/// shortest recordings the endpointing allows, the detector free soonest.
#[test]
fn issue_29_no_second_wake_during_or_from_a_command() {
    let mut cfg = config();
    cfg.wake.detector.debounce_ms = 0;
    let pos: Vec<Line> = lines()
        .into_iter()
        .filter(|l| l.labels["wake"] == true)
        .collect();
    let clip = |id: &str| samples(pos.iter().find(|l| l.id == id).unwrap());
    // 1. "hey player, <command>": the ungated detector fires again during
    // the command; the front end must wake once.
    let mut bad = Vec::new();
    for id in [
        "pos-005", "pos-010", "pos-011", "pos-022", "pos-023", "pos-036",
    ] {
        let s = clip(id);
        let mut d = WakeDetector::new(wake_models(&cfg).unwrap(), cfg.wake.detector);
        let fires = s
            .chunks_exact(FRAME_SAMPLES)
            .filter_map(|c| d.push(c.try_into().unwrap()).unwrap())
            .count();
        assert!(
            fires >= 2,
            "{id}: the detector fired {fires} times: no test"
        );
        let (wakes, ends) = front_wakes(&s, &cfg);
        if wakes.len() != 1 {
            bad.push(format!("{id}: wakes {wakes:?}, recordings ended {ends:?}"));
        }
    }
    // 2. "hey player … hey player, pause": the phrase said again, and the
    // recording ends just after it. Without forgetting, the repeated phrase
    // still in the windows woke it again 100-300 ms after the end (24 of 64
    // such streams, measured; 0 with it).
    let sr = 16_000;
    for (a, cut_ms, b) in [
        ("pos-005", 1550, "pos-005"),
        ("pos-022", 1550, "pos-011"),
        ("pos-016", 1450, "pos-005"),
        ("pos-036", 1550, "pos-036"),
    ] {
        let mut s = clip(a)[..cut_ms * sr / 1000].to_vec();
        s.extend_from_slice(&clip(b)[900 * sr / 1000..]);
        let (wakes, ends) = front_wakes(&s, &cfg);
        if wakes.len() != 1 {
            bad.push(format!(
                "{a}+{b}: wakes {wakes:?}, recordings ended {ends:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "second wakes:\n{}", bad.join("\n"));
}

/// The real command worker's half, counting its hearings ahead and what each
/// gave (as the single-threaded pipeline drives it: a hearing is done before
/// the next frame).
struct CountedAhead {
    c: heyplayer::command::Commander,
    /// The readings of its hearings, in order.
    heard: Vec<Option<heyplayer::command::Reading>>,
}

impl heyplayer::command::Speculate for CountedAhead {
    fn start(&mut self, id: u64, job: heyplayer::command::Job) {
        self.c.start(id, job);
        let r = self.c.reading(id, false);
        self.heard.push(r);
    }
    fn void(&mut self, id: u64) {
        heyplayer::command::Speculate::void(&mut self.c, id)
    }
    fn reading(&mut self, id: u64, wait: bool) -> Option<heyplayer::command::Reading> {
        heyplayer::command::Speculate::reading(&mut self.c, id, wait)
    }
}

/// Issue 29: a first-stage fire in running speech, once hearings ahead
/// (Whisper at a pause, issue 31) have rejected the wake
/// [`heyplayer::command::recorder::AHEAD_REJECTIONS`] times, is not heard
/// again at each later pause: before, one such fire was transcribed at every
/// 100 ms pause until `command.max_ms` (9.5 s of CPU per fire, 3.6 % of one
/// core on 1.31 h of real speech). Real VAD, first stage (its threshold
/// lowered so that it fires on the held-out real speech), recorder and
/// Whisper; the recording's end is still heard and rejected.
#[test]
fn issue_29_a_rejected_false_fire_is_not_heard_ahead_again() {
    use heyplayer::command::{handle, Commander, Reading};
    let _turn = crate::common::whisper_turn();
    let mut cfg = config();
    cfg.wake.detector.threshold = 0.05;
    let neg = lines()
        .into_iter()
        .find(|l| l.labels["wake"] == false)
        .unwrap();
    let asr = heyplayer::pipeline::load::Loaded::load(&cfg, true)
        .unwrap()
        .asr
        .unwrap();
    let mut ahead = CountedAhead {
        c: Commander::new(&cfg, asr),
        heard: Vec::new(),
    };
    // Per recording: the readings of its hearings ahead, and its events.
    let mut recordings: Vec<(Vec<Option<Reading>>, Vec<Event>)> = Vec::new();
    drive_front(&samples(&neg), &cfg, &mut ahead, |_, job, ahead| {
        if let Some(job) = job {
            let mut out = Vec::new();
            handle(&mut ahead.c, None, job, &mut out);
            recordings.push((std::mem::take(&mut ahead.heard), out));
        }
    });
    for (i, (r, out)) in recordings.iter().enumerate() {
        eprintln!("recording {i}: hearings ahead {r:?}; {out:?}");
    }
    let rejected: Vec<_> = recordings
        .iter()
        .filter(|(r, _)| r.contains(&Some(Reading::Rejected)))
        .collect();
    assert!(
        rejected.len() >= 2,
        "only {} fires rejected ahead: no test",
        rejected.len()
    );
    let budget = heyplayer::command::recorder::AHEAD_REJECTIONS as usize;
    let mut spent = 0;
    for (r, out) in &rejected {
        // Where the budget of rejections ran out, if it did.
        let mut seen = 0;
        let last = r.iter().position(|x| {
            seen += usize::from(*x == Some(Reading::Rejected));
            seen == budget
        });
        if let Some(last) = last {
            spent += 1;
            assert_eq!(
                last + 1,
                r.len(),
                "heard ahead after {budget} rejections: {r:?}"
            );
        }
        assert!(
            out.iter().any(|e| matches!(e, Event::WakeRejected { .. })),
            "the rejected fire is still audited: {out:?}"
        );
        assert!(!out.iter().any(|e| matches!(e, Event::Command { .. })));
    }
    assert!(spent >= 1, "no recording used up its rejections: no test");
}
