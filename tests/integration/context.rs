//! `heyplayer context`: the three axes in JSON for the reference clip, a
//! real recording, and clear errors for bad files.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_heyplayer");

fn run(args: &[&str]) -> (i32, String, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(args)
        .env("HEYPLAYER_DATA_DIR", data.path().join("store"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn reference_clip() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/out/context/clip.wav");
    assert!(
        p.is_file(),
        "{} is missing: run `make test-data`",
        p.display()
    );
    p
}

fn check_label(v: &serde_json::Value, axis: &str, allowed: &[&str]) {
    let l = &v[axis];
    let value = l["value"].as_str().unwrap_or_else(|| panic!("{axis}: {v}"));
    assert!(
        value == "unknown" || allowed.contains(&value),
        "{axis}: {value}"
    );
    let c = l["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&c), "{axis}: {c}");
    for e in l["evidence"].as_array().unwrap() {
        assert!(e[0].is_string() && e[1].is_number(), "{axis}: {e}");
    }
}

#[test]
fn json_has_the_three_axes() {
    let clip = reference_clip();
    let asterisk = Path::new(crate::common::ASTERISK_EN).join("hello-world.wav");
    let mut args = vec!["context", "--json", clip.to_str().unwrap()];
    if asterisk.is_file() {
        args.push(asterisk.to_str().unwrap());
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), args.len() - 2, "{out}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        check_label(
            &v,
            "physical",
            &["indoor_quiet", "indoor_busy", "street", "nature", "vehicle"],
        );
        check_label(&v, "social", &["alone", "conversation", "crowd"]);
        check_label(&v, "emotion", &["neutral", "happy", "sad", "angry"]);
        // Every file here has speech: the VAD finds it, arousal has a value.
        let sf = v["speech_fraction"].as_f64().unwrap();
        assert!(sf > 0.1 && sf < 0.95, "{sf}: {v}");
        let a = v["arousal"]["value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a));
        // Issue 33: arousal's level is a label of its own, with its reasons.
        check_label(&v["arousal"], "level", &["calm", "neutral", "energetic"]);
        assert!(
            !v["arousal"]["level"]["evidence"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{v}"
        );
        // Prompts read calmly: no laugh, sob or shout, so no emotion named.
        let emotion = v["emotion"]["value"].as_str().unwrap();
        assert!(["neutral", "unknown"].contains(&emotion), "{v}");
        assert!(v["top_classes"][0][0].is_string());
        // No field about who speaks.
        for banned in ["gender", "age", "speaker", "embedding", "identity"] {
            assert!(!line.contains(banned), "{banned} in {line}");
        }
    }
    // The text form names the three axes.
    let (code, out, _) = run(&["context", clip.to_str().unwrap()]);
    assert_eq!(code, 0);
    for w in ["physical ", "social ", "emotion ", "arousal "] {
        assert!(out.contains(w), "{out}");
    }
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio at all, just text").unwrap();
    let (code, out, err) = run(&["context", text.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("heyplayer: error: "), "{err}");
    assert!(err.contains("not a readable WAV file"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // 0.1 s of audio: too short to say anything.
    let short = dir.path().join("short.wav");
    crate::common::write_wav16(&short, std::iter::repeat_n(0i16, 1600));
    let (code, _, err) = run(&["context", short.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("too short for context"), "{err}");

    let missing = dir.path().join("nope.wav");
    let (code, _, err) = run(&["context", missing.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot open"), "{err}");

    // A bad file among good ones: the good ones are still answered, the bad
    // one is named, and the run fails at the end.
    let clip = reference_clip();
    let (code, out, err) = run(&[
        "context",
        "--json",
        clip.to_str().unwrap(),
        text.to_str().unwrap(),
        clip.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        err.contains("notes.wav is not a readable WAV file"),
        "{err}"
    );
    assert!(err.contains("1 of 3 files failed"), "{err}");
}

#[test]
fn a_missing_model_says_how_to_fetch_it() {
    let empty = tempfile::tempdir().unwrap();
    let clip = reference_clip();
    let (code, _, err) = run(&[
        "context",
        "--models-dir",
        empty.path().to_str().unwrap(),
        clip.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("yamnet-w8a8"), "{err}");
    assert!(err.contains("heyplayer models fetch"), "{err}");
}

/// Minimum accuracy of the committed head on the small held-out set of
/// `make test-data` (test speakers over test recordings and held-out
/// synthetic rooms; see models/context/MODEL_CARD.md). Measured with the
/// head on the background embedding (2026-12-03): physical 62.3%, social
/// 87.1% (the rooms head before it: 68.8% and 85.9%); the zero-shot mapping
/// gets 17-30% and 37% on held-out scenes, chance is about 20% and 33%.
const MIN_HELD_OUT_PHYSICAL: f64 = 0.58;
const MIN_HELD_OUT_SOCIAL: f64 = 0.75;
/// Minimum recall of each indoor label on the same set's scenes and rooms.
/// A head that cannot say them (the head before the synthetic rooms) gets 0.
const MIN_HELD_OUT_INDOOR_RECALL: f64 = 0.5;

/// The held-out set's rows and the `context --json` answer for each (run
/// once, shared by the tests that read them).
fn held_out_answers() -> &'static [(serde_json::Value, serde_json::Value)] {
    static ANSWERS: std::sync::OnceLock<Vec<(serde_json::Value, serde_json::Value)>> =
        std::sync::OnceLock::new();
    ANSWERS.get_or_init(run_held_out)
}

fn run_held_out() -> Vec<(serde_json::Value, serde_json::Value)> {
    context_on_manifest("heldout", "test.jsonl", &["--preroll-ms", "2000"])
}

/// Each row of the manifest `tests/out/context/DATA/MANIFEST` (written by
/// `make test-data`) with heyplayer's `context --json` answer for its audio,
/// all files in one run with `extra` arguments.
fn context_on_manifest(
    data: &str,
    manifest: &str,
    extra: &[&str],
) -> Vec<(serde_json::Value, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/out/context")
        .join(data);
    let manifest = dir.join(manifest);
    assert!(
        manifest.is_file(),
        "{} is missing: run `make test-data`",
        manifest.display()
    );
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files: Vec<String> = rows
        .iter()
        .map(|r| dir.join(r["audio"].as_str().unwrap()).display().to_string())
        .collect();
    let mut args = vec!["context", "--json"];
    args.extend(extra);
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let got: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), rows.len());
    rows.into_iter().zip(got).collect()
}

/// Share of the rows labelled on `axis` (and, if given, labelled `only`) that
/// the head got right, and how many there were.
fn recall(
    answers: &[(serde_json::Value, serde_json::Value)],
    axis: &str,
    only: Option<&str>,
) -> (f64, usize) {
    let (mut n, mut ok) = (0usize, 0usize);
    for (r, g) in answers {
        let Some(want) = r[axis].as_str() else {
            continue;
        };
        if only.is_some_and(|o| o != want) {
            continue;
        }
        n += 1;
        ok += usize::from(g[axis]["value"].as_str() == Some(want));
        // The head decides, and says so in the evidence (after the music,
        // when music in the background made the label unknown).
        let evidence = &g[axis]["evidence"];
        let head = if evidence[0][0] == "Music in the background" {
            assert_eq!(g[axis]["value"], "unknown", "{g}");
            &evidence[1][0]
        } else {
            &evidence[0][0]
        };
        assert!(
            head.as_str().is_some_and(|h| h.starts_with("learned head")),
            "{g}"
        );
    }
    (ok as f64 / n.max(1) as f64, n)
}

#[test]
fn the_head_meets_its_minimum_on_held_out_scenes() {
    let answers = held_out_answers();
    let (physical, n_physical) = recall(answers, "physical", None);
    let (social, n_social) = recall(answers, "social", None);
    eprintln!(
        "held-out make test-data scenes: physical {:.1}% of {n_physical}, social {:.1}% of {n_social}",
        physical * 100.0,
        social * 100.0
    );
    assert!(n_physical >= 30 && n_social >= 30, "too few labelled clips");
    assert!(
        physical >= MIN_HELD_OUT_PHYSICAL,
        "physical {physical:.3} < {MIN_HELD_OUT_PHYSICAL}"
    );
    assert!(
        social >= MIN_HELD_OUT_SOCIAL,
        "social {social:.3} < {MIN_HELD_OUT_SOCIAL}"
    );
}

/// Issue 7: the head could not say `indoor_quiet` or `indoor_busy` (no
/// training audio); the synthetic rooms of heyplayer_tools.context.rooms gave it
/// some. Held-out rooms (other random draws, test speakers' babble, the
/// held-out music track) must be recognised.
#[test]
fn issue_7_the_head_says_indoor_on_held_out_rooms() {
    let answers = held_out_answers();
    for label in ["indoor_quiet", "indoor_busy"] {
        let (r, n) = recall(answers, "physical", Some(label));
        eprintln!("held-out {label}: recall {:.1}% of {n}", r * 100.0);
        assert!(n >= 8, "{label}: only {n} held-out clips");
        assert!(
            r >= MIN_HELD_OUT_INDOOR_RECALL,
            "{label}: recall {r:.3} < {MIN_HELD_OUT_INDOOR_RECALL}"
        );
    }
}

/// Speech over music (`make test-data`: heyplayer_tools.testdata.context_music, the
/// held-out music-on-hold track): music hides the surroundings and the people
/// around, so physical and social must be `unknown` with the music as their
/// evidence. Before the rule, the head called every one of these clips
/// `vehicle` (it learned ship and ferry horns, which YAMNet hears as music).
#[test]
fn music_in_the_background_makes_physical_and_social_unknown() {
    let answers = context_on_manifest("music", "manifest.jsonl", &[]);
    assert!(answers.len() >= 6, "too few music clips: {}", answers.len());
    for (_, v) in &answers {
        for axis in ["physical", "social"] {
            let label = &v[axis];
            assert_eq!(
                label["value"], "unknown",
                "{axis} of {}: {label}",
                v["file"]
            );
            assert_eq!(
                label["evidence"][0][0], "Music in the background",
                "{axis} of {}: {label}",
                v["file"]
            );
        }
    }
}

/// A background with no sound in it (digital silence: a muted input, or a
/// noise suppressor that zeroes all but speech) says nothing about the place:
/// physical must be `unknown`, the level its evidence. Before the rule the
/// head, which had heard such a background in one training scene of 900,
/// called these `nature` (0.99 and 0.50). A quiet room's -70 dBFS is still
/// judged, and social still is.
#[test]
fn no_background_sound_makes_physical_unknown() {
    use heyplayer::context::SILENT_BACKGROUND_CUE;
    let dir = tempfile::tempdir().unwrap();
    let zeros = |ms: usize| std::iter::repeat_n(0i16, ms * 16);
    let silent = dir.path().join("silent.wav");
    crate::common::write_wav16(&silent, zeros(3000));
    // Real speech (8 kHz, each sample twice for 16 kHz) between stretches of zeros.
    let (speech, rate) =
        crate::common::read_wav(&Path::new(crate::common::ASTERISK_EN).join("hello-world.wav"));
    assert_eq!(rate, 8000);
    let spoken = dir.path().join("spoken.wav");
    let samples = speech
        .iter()
        .flat_map(|&x| [(x * 32767.0) as i16; 2])
        .collect::<Vec<_>>();
    crate::common::write_wav16(&spoken, zeros(2000).chain(samples).chain(zeros(1000)));
    // White noise at -70 dBFS RMS (uniform: peak sqrt(3) times the RMS).
    let quiet = dir.path().join("quiet.wav");
    let noise = crate::common::white(48_000, 10f32.powf(-70.0 / 20.0) * 3f32.sqrt(), 7);
    crate::common::write_wav16(&quiet, noise.iter().map(|&x| (x * 32767.0).round() as i16));

    let paths = [&silent, &spoken, &quiet].map(|p| p.to_str().unwrap());
    let (code, out, err) = run(&["context", "--json", paths[0], paths[1], paths[2]]);
    assert_eq!(code, 0, "{err}");
    let answers: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{out}");
    for v in &answers[..2] {
        let physical = &v["physical"];
        assert_eq!(physical["value"], "unknown", "{v}");
        assert_eq!(physical["evidence"][0][0], SILENT_BACKGROUND_CUE, "{v}");
        assert!(physical["evidence"][0][1].as_f64().unwrap() < -90.0, "{v}");
        assert_ne!(v["social"]["value"], "unknown", "{v}");
    }
    let physical = &answers[2]["physical"];
    assert_ne!(
        physical["evidence"][0][0], SILENT_BACKGROUND_CUE,
        "{physical}"
    );
    assert_ne!(physical["value"], "unknown", "{physical}");
}

#[test]
fn a_missing_head_fails_at_start_up_never_falls_back() {
    // Every model but the head: `context` must refuse, naming the head.
    let cfg = crate::common::config();
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&cfg.models_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() != "context_head.onnx" {
            std::os::unix::fs::symlink(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let clip = reference_clip();
    let args = [
        "context",
        "--models-dir",
        dir.path().to_str().unwrap(),
        clip.to_str().unwrap(),
    ];
    let (code, out, err) = run(&args);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("context-head"), "{err}");
    assert!(err.contains("heyplayer models fetch"), "{err}");
    // Asked for explicitly, the zero-shot mapping still runs without it.
    let mut zs = args.to_vec();
    zs.insert(1, "--zero-shot");
    let (code, out, err) = run(&zs);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("physical "), "{out}");
}

/// Issue 33: a background that is no place (a steady tone, a dial tone,
/// generated white or pink noise, a clipped input, digital silence) must be
/// `unknown` on physical, and on social except for silence (nobody heard: see
/// the test above), with the reason first in the evidence. The signals are
/// generated here, 4 s each, at levels a microphone could give; nothing was
/// tuned on them. Before issue 33 the head called a sine `vehicle` 1.00, a
/// dial tone `vehicle` 0.99 and pink noise `nature` 1.00.
#[test]
fn test_signals_clipping_and_silence_are_unknown_with_the_reason() {
    use heyplayer::context::{CLIPPED_CUE, SILENT_BACKGROUND_CUE};
    let n = 4 * 16_000;
    let dir = tempfile::tempdir().unwrap();
    let white = crate::common::white(n, 0.3, 11);
    // Pink noise: white noise through Paul Kellet's three-pole filter.
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    let mut pink: Vec<f32> = crate::common::white(n, 1.0, 12)
        .into_iter()
        .map(|w| {
            b0 = 0.99765 * b0 + w * 0.099_046;
            b1 = 0.963 * b1 + w * 0.296_516_4;
            b2 = 0.57 * b2 + w * 1.052_691_3;
            b0 + b1 + b2 + w * 0.1848
        })
        .collect();
    let peak = pink.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    pink.iter_mut().for_each(|x| *x *= 0.3 / peak);
    let sine = crate::common::sine(n, 16_000, 440.0, 0.3);
    let dial: Vec<f32> = crate::common::sine(n, 16_000, 350.0, 0.15)
        .iter()
        .zip(crate::common::sine(n, 16_000, 440.0, 0.15))
        .map(|(a, b)| a + b)
        .collect();
    // A loud tone and noise driven far past full scale.
    let clipped: Vec<f32> = crate::common::sine(n, 16_000, 220.0, 4.0)
        .iter()
        .zip(&white)
        .map(|(s, w)| (s + 3.0 * w).clamp(-1.0, 1.0))
        .collect();
    let silence = vec![0.0f32; n];
    let cases = [
        ("sine", sine),
        ("dial-tone", dial),
        ("white-noise", white.clone()),
        ("pink-noise", pink),
        ("clipped", clipped),
        ("silence", silence),
    ];
    let mut paths = Vec::new();
    for (name, x) in &cases {
        let p = dir.path().join(format!("{name}.wav"));
        crate::common::write_wav16(&p, x.iter().map(|&v| (v * 32767.0).round() as i16));
        paths.push(p.to_str().unwrap().to_string());
    }
    let mut args = vec!["context", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let answers: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), cases.len(), "{out}");
    let mut wrong = Vec::new();
    for ((name, _), v) in cases.iter().zip(&answers) {
        let axes: &[&str] = if *name == "silence" {
            &["physical"]
        } else {
            &["physical", "social"]
        };
        for axis in axes {
            let l = &v[*axis];
            let why = l["evidence"][0][0].as_str().unwrap_or("");
            let reason = why.ends_with("in the background, not a place")
                || why == CLIPPED_CUE
                || why == SILENT_BACKGROUND_CUE;
            if l["value"] != "unknown" || !reason {
                wrong.push(format!("{name} {axis}: {l}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
