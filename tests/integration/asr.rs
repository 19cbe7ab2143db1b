//! Whisper on real human speech, model integrity, and the transcribe CLI.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use heyplayer::asr::{AsrModel, AsrWorker};
use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::models;

use heyplayer::app::eval::wer_words;
use heyplayer::text::edit_distance;

use crate::common::{asterisk_prompts, config};

/// Prompts scored for WER (issue 2 asks for at least 50).
const WER_PROMPTS: usize = 50;
/// The test fails above this word error rate on the prompts (tiny.en q8).
const MAX_WER: f64 = 0.15;

/// The Whisper model the WER test names.
const TINY: &str = "whisper-tiny.en-q8";

fn load(name: &str) -> AsrModel {
    let cfg = config();
    let file = models::locate(name, &cfg.models_dir).unwrap_or_else(|e| panic!("{e}"));
    AsrModel::load(&file.path, cfg.asr.flash_attn).unwrap()
}

/// The default (configured) Whisper model, loaded once for the whole test binary.
pub fn whisper() -> &'static AsrModel {
    static MODEL: OnceLock<AsrModel> = OnceLock::new();
    MODEL.get_or_init(|| load(&config().asr_model))
}

/// A fresh worker on the default model.
pub fn worker() -> AsrWorker {
    whisper().worker(config().asr).unwrap()
}

/// A fresh worker on tiny.en q8, the fast model.
pub fn tiny_worker() -> AsrWorker {
    static MODEL: OnceLock<AsrModel> = OnceLock::new();
    MODEL
        .get_or_init(|| load(TINY))
        .worker(config().asr)
        .unwrap()
}

#[test]
fn wer_normalisation_and_distance() {
    assert_eq!(
        wer_words("Press 1, or one-two!"),
        vec!["press", "1", "or", "1", "2"]
    );
    let a = wer_words("the cat sat");
    let b = wer_words("the cat sat down");
    assert_eq!(edit_distance(&a, &b), 1);
    assert_eq!(edit_distance(&b, &b), 0);
    assert_eq!(edit_distance(&a, &wer_words("")), 3);
}

#[test]
fn whisper_tiny_en_q8_wer_on_real_prompts() {
    let _turn = crate::common::whisper_turn();
    let all: Vec<_> = asterisk_prompts()
        .into_iter()
        .filter(|(name, _, _)| !name.contains('/'))
        .collect();
    // Every k-th prompt: a spread over the whole set, the same each run.
    let step = all.len() as f64 / WER_PROMPTS as f64;
    let picked: Vec<_> = (0..WER_PROMPTS)
        .map(|i| &all[(i as f64 * step) as usize])
        .collect();
    let mut w = tiny_worker();
    let (mut errors, mut words) = (0usize, 0usize);
    let mut worst = Vec::new();
    for (name, path, said) in picked {
        let samples = read_all(WavSource::open(path, false).unwrap()).unwrap();
        let t = w.transcribe(&samples).unwrap();
        let r = wer_words(said);
        let h = wer_words(&t.text);
        let e = edit_distance(&r, &h);
        errors += e;
        words += r.len();
        if e > 0 {
            worst.push(format!("{name}: {said:?} -> {:?} ({e})", t.text));
        }
    }
    let wer = errors as f64 / words as f64;
    eprintln!(
        "WER on {WER_PROMPTS} asterisk prompts: {:.1}% ({errors}/{words})\n{}",
        wer * 100.0,
        worst.join("\n")
    );
    assert!(
        wer <= MAX_WER,
        "WER {:.1}% > {:.0}%",
        wer * 100.0,
        MAX_WER * 100.0
    );
}

#[test]
fn silence_and_noise_are_rejected_not_transcribed() {
    let _turn = crate::common::whisper_turn();
    let mut w = worker();
    let silence = vec![0.0f32; 32_000];
    let t = w.transcribe(&silence).unwrap();
    assert!(!t.accepted() || t.text.is_empty(), "{t:?}");
    // Nor does guided decoding find a command in silence or noise.
    let u = w.understand(&t, &t.text, "").unwrap();
    assert_eq!(u.command, None, "silence became a command: {u:?}");
    let alsa_noise =
        read_all(WavSource::open(Path::new("/usr/share/sounds/alsa/Noise.wav"), false).unwrap())
            .unwrap();
    let noises = [
        ("white", crate::common::white(48_000, 0.05, 3)),
        ("loud white", crate::common::white(32_000, 0.3, 4)),
        ("brown", crate::common::brown(48_000, 0.2, 5)),
        ("hum", crate::common::sine(32_000, 16_000, 100.0, 0.2)),
        ("alsa Noise.wav", alsa_noise),
    ];
    for (name, noise) in noises {
        let t = w.transcribe(&noise).unwrap();
        let u = w.understand(&t, &t.text, "").unwrap();
        assert_eq!(u.command, None, "{name} became a command: {t:?} {u:?}");
    }
}

#[test]
fn too_short_clip_is_an_error_not_a_panic() {
    let mut w = worker();
    let err = w.transcribe(&[0.0; 100]).unwrap_err();
    assert!(err.to_string().contains("too short"), "{err}");
}

fn heyplayer(args: &[&str], models_dir: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heyplayer"))
        .args(args)
        .env("HEYPLAYER_MODELS_DIR", models_dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A models directory holding the real Silero model and `whisper` as the Whisper file.
fn models_dir_with(whisper: Option<&[u8]>) -> tempfile::TempDir {
    let cfg = config();
    let dir = tempfile::tempdir().unwrap();
    let silero = models::locate("silero-vad", &cfg.models_dir).unwrap();
    std::fs::copy(&silero.path, dir.path().join(&silero.entry.file)).unwrap();
    if let Some(bytes) = whisper {
        let e = models::entry(&cfg.asr_model).unwrap();
        std::fs::write(dir.path().join(e.file), bytes).unwrap();
    }
    dir
}

#[test]
fn missing_corrupt_and_truncated_whisper_models_fail_clearly() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
    let demo = demo.to_str().unwrap();
    let cfg = config();
    let real = models::locate(&cfg.asr_model, &cfg.models_dir).unwrap();
    let bytes = std::fs::read(&real.path).unwrap();

    let missing = models_dir_with(None);
    let (ok, _, err) = heyplayer(&["transcribe", demo], missing.path());
    assert!(!ok);
    assert!(
        err.contains("is missing") && err.contains("heyplayer models fetch"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let truncated = models_dir_with(Some(&bytes[..bytes.len() / 2]));
    let (ok, _, err) = heyplayer(&["transcribe", demo], truncated.path());
    assert!(!ok);
    assert!(err.contains("damaged"), "{err}");

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 3;
    flipped[mid] ^= 0x55;
    let corrupt = models_dir_with(Some(&flipped));
    let (ok, _, err) = heyplayer(&["transcribe", demo], corrupt.path());
    assert!(!ok);
    assert!(err.contains("damaged") && err.contains("sha256"), "{err}");
}

#[test]
fn transcribe_cli_prints_transcript_and_json() {
    let _turn = crate::common::whisper_turn();
    let cfg = config();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("cmd.wav");
    let st = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg("Skip this song.")
        .status()
        .expect("espeak-ng is not installed: run `make test`");
    assert!(st.success());
    let (ok, out, err) = heyplayer(
        &["transcribe", "--json", wav.to_str().unwrap()],
        &cfg.models_dir,
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["command"]["action"], "next", "{v}");
    assert!(v["avg_logprob"].as_f64().unwrap() <= 0.0);
    let (ok, out, err) = heyplayer(&["transcribe", wav.to_str().unwrap()], &cfg.models_dir);
    assert!(ok, "{err}");
    assert!(out.contains("-> next"), "{out}");
}
