//! CED-tiny (issue 33): an AudioSet tagger (527 classes, sigmoid outputs) on
//! the 16 kHz waveform, its mel front end inside the graph; int8 weights,
//! opset 19. The file is `models/tiny.onnx` of the crate `soundevents` 0.5.0
//! (fetched as an archive: see models/manifest.toml), run by tract.
//!
//! Two changes to the graph before tract reads it, neither changing a value:
//! - the `STFT` node's signal gets a trailing axis of 1 (an `Unsqueeze` on
//!   the last axis, [batch, samples] -> [batch, samples, 1]): ONNX's STFT
//!   takes a rank-3 signal, tract insists on it, onnxruntime also takes the
//!   rank-2 one the exporter wrote;
//! - the pooled encoder output (`mean`, [`EMBEDDING`] values: the mean of the
//!   last layer's tokens, which the classifier's LayerNorm + Gemm read) is
//!   made a second output.
//!
//! The file's value infos are ignored (`with_ignore_value_info`): some do not
//! hold for a fixed input length.
//!
//! The plan is built for one input length, [`WINDOW_SAMPLES`]: audio is run in
//! windows of that length (the last one aligned to the end of the audio,
//! shorter audio looped to fill one), and the windows' probabilities and
//! embeddings are averaged.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb::{tensor_proto::DataType, NodeProto, TensorProto, ValueInfoProto};
use tract_onnx::prelude::*;

use super::ContextError;

/// Model names in models/manifest.toml.
pub const MODEL_NAME: &str = "ced-tiny";
/// The class map.
pub const CLASS_MAP_NAME: &str = "ced-class-map";
/// AudioSet classes out.
pub const NUM_CLASSES: usize = 527;
/// Values of the pooled embedding.
pub const EMBEDDING: usize = 192;
/// Samples per window run (2 s at 16 kHz).
pub const WINDOW_SAMPLES: usize = 32_000;
/// Windows start this many samples apart (half a window).
pub const WINDOW_HOP: usize = WINDOW_SAMPLES / 2;
/// The graph's STFT node.
const STFT_NODE: &str = "node_STFT_46";
/// The pooled embedding's name in the graph.
const EMBEDDING_VALUE: &str = "mean";

/// Parses `class_labels_indices.csv` (`index,mid,display_name`, names quoted).
pub fn parse_class_map(text: &str) -> Result<Vec<String>, ContextError> {
    super::yamnet::parse_class_list(text, NUM_CLASSES)
}

/// The network and its class names, loaded once; cheap to clone and share.
#[derive(Clone)]
pub struct Ced {
    plan: Arc<TypedSimplePlan>,
    classes: Arc<[String]>,
}

/// One run's outputs: class probabilities and the pooled embedding.
pub struct CedOutput {
    /// Sigmoid outputs, in class order.
    pub probs: [f32; NUM_CLASSES],
    /// The pooled encoder output.
    pub embedding: [f32; EMBEDDING],
}

impl Default for CedOutput {
    fn default() -> Self {
        Self {
            probs: [0.0; NUM_CLASSES],
            embedding: [0.0; EMBEDDING],
        }
    }
}

/// A caller's working buffer for [`Ced`], allocated once ([`Ced::scratch`]).
pub struct Scratch {
    window: Vec<f32>,
}

fn load_err(path: &Path) -> impl Fn(TractError) -> ContextError + '_ {
    move |e| ContextError::Load {
        path: path.display().to_string(),
        detail: format!("{e:#}"),
    }
}

/// Loads the graph with the two changes of the module doc, planned for
/// `samples` samples.
pub(crate) fn plan(model: &Path, samples: usize) -> Result<Arc<TypedSimplePlan>, ContextError> {
    let err = load_err(model);
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let mut proto = onnx.proto_model_for_path(model).map_err(&err)?;
    let graph = proto.graph.as_mut().ok_or_else(|| ContextError::Load {
        path: model.display().to_string(),
        detail: "the model has no graph".into(),
    })?;
    let at = graph
        .node
        .iter()
        .position(|n| n.name == STFT_NODE && n.op_type == "STFT")
        .ok_or_else(|| ContextError::Load {
            path: model.display().to_string(),
            detail: format!("no STFT node {STFT_NODE:?}: not the CED-tiny export expected"),
        })?;
    let signal = graph.node[at].input[0].clone();
    let rank3 = format!("{signal}_heyplayer_rank3");
    let axes = "heyplayer_stft_axes".to_string();
    graph.initializer.push(TensorProto {
        name: axes.clone(),
        dims: vec![1],
        data_type: DataType::Int64 as i32,
        int64_data: vec![2],
        ..Default::default()
    });
    graph.node.insert(
        at,
        NodeProto {
            name: "heyplayer_stft_signal_rank3".into(),
            op_type: "Unsqueeze".into(),
            input: vec![signal, axes],
            output: vec![rank3.clone()],
            ..Default::default()
        },
    );
    graph.node[at + 1].input[0] = rank3;
    graph.output.push(ValueInfoProto {
        name: EMBEDDING_VALUE.into(),
        ..Default::default()
    });
    let parsed = onnx.parse(&proto, None).map_err(&err)?;
    parsed
        .model
        .with_input_fact(0, f32::fact([1, samples]).into())
        .and_then(|m| m.with_output_fact(1, InferenceFact::default()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(&err)
}

impl Ced {
    /// Loads the graph and the class map.
    pub fn load(model: &Path, class_map: &Path) -> Result<Self, ContextError> {
        let plan = plan(model, WINDOW_SAMPLES)?;
        let text = std::fs::read_to_string(class_map).map_err(|e| ContextError::Load {
            path: class_map.display().to_string(),
            detail: e.to_string(),
        })?;
        let ced = Self {
            plan,
            classes: parse_class_map(&text)?.into(),
        };
        let mut out = CedOutput::default();
        ced.run_window(&vec![0.0; WINDOW_SAMPLES], &mut out)
            .map_err(|e| ContextError::Load {
                path: model.display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(ced)
    }

    /// Finds the two files in `models_dir` through the manifest (sha256
    /// checked) and loads them.
    pub fn locate(models_dir: &Path) -> Result<Self, ContextError> {
        let model = crate::models::locate(MODEL_NAME, models_dir)?;
        let map = crate::models::locate(CLASS_MAP_NAME, models_dir)?;
        Self::load(&model.path, &map.path)
    }

    /// AudioSet class names, in output order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Working buffer for [`Self::run`].
    pub fn scratch(&self) -> Scratch {
        Scratch {
            window: vec![0.0; WINDOW_SAMPLES],
        }
    }

    /// Runs one window of exactly [`WINDOW_SAMPLES`]; writes its outputs.
    pub fn run_window(&self, window: &[f32], out: &mut CedOutput) -> Result<(), ContextError> {
        let bad = |m: String| ContextError::Run(format!("CED: {m}"));
        if window.len() != WINDOW_SAMPLES {
            return Err(bad(format!(
                "{} samples, expected {WINDOW_SAMPLES}",
                window.len()
            )));
        }
        let input =
            Tensor::from_shape(&[1, WINDOW_SAMPLES], window).map_err(|e| bad(e.to_string()))?;
        let result = self
            .plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| bad(format!("{e:#}")))?;
        for (dst, t, name) in [
            (&mut out.probs[..], result.first(), "probabilities"),
            (&mut out.embedding[..], result.get(1), "embedding"),
        ] {
            let t = t.ok_or_else(|| bad(format!("no {name} output")))?;
            let v = t
                .to_plain_array_view::<f32>()
                .map_err(|e| bad(format!("{e:#}")))?;
            if v.len() != dst.len() {
                return Err(bad(format!(
                    "{name}: {} values, expected {}",
                    v.len(),
                    dst.len()
                )));
            }
            for (d, s) in dst.iter_mut().zip(v.iter()) {
                *d = if s.is_finite() { *s } else { 0.0 };
            }
        }
        Ok(())
    }

    /// Mean outputs over the windows of `audio` (every [`WINDOW_HOP`], the
    /// last ending at the end; audio shorter than a window is looped to fill
    /// it), into `out`. Returns the number of windows run (0 for no audio:
    /// `out` is then all zeros).
    pub fn run(
        &self,
        audio: &[f32],
        scratch: &mut Scratch,
        out: &mut CedOutput,
    ) -> Result<usize, ContextError> {
        out.probs.fill(0.0);
        out.embedding.fill(0.0);
        let n = audio.len();
        if n == 0 {
            return Ok(0);
        }
        let mut one = CedOutput::default();
        let mut count = 0usize;
        let mut next = 0usize;
        loop {
            let start = if n <= WINDOW_SAMPLES {
                0
            } else {
                next.min(n - WINDOW_SAMPLES)
            };
            for (k, w) in scratch.window.iter_mut().enumerate() {
                *w = audio[(start + k) % n];
            }
            self.run_window(&scratch.window, &mut one)?;
            for (a, v) in out.probs.iter_mut().zip(one.probs.iter()) {
                *a += v;
            }
            for (a, v) in out.embedding.iter_mut().zip(one.embedding.iter()) {
                *a += v;
            }
            count += 1;
            if start + WINDOW_SAMPLES >= n {
                break;
            }
            next += WINDOW_HOP;
        }
        let k = 1.0 / count as f32;
        out.probs.iter_mut().for_each(|v| *v *= k);
        out.embedding.iter_mut().for_each(|v| *v *= k);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load() -> Option<Ced> {
        let model = crate::models::for_test(MODEL_NAME)?;
        let map = crate::models::for_test(CLASS_MAP_NAME)?;
        Some(Ced::load(&model, &map).unwrap())
    }

    /// tract gives the probabilities and embeddings onnxruntime gave on the
    /// same clips (`tests/golden/ced_tiny.json`, written by
    /// `heyplayer_tools.context.ced_reference` from generated clips that this
    /// test regenerates): within 1e-5 (the embedding relative to its largest
    /// value). Measured on the four clips: probabilities
    /// within 3.1e-6, embedding within 3.0e-6 of its largest value (8.8). onnxruntime's own graph optimisations are off for
    /// the reference: on, they quantise activations (1e-3 off).
    #[test]
    fn tract_matches_onnxruntime() {
        let Some(ced) = load() else { return };
        assert_eq!(ced.classes().len(), NUM_CLASSES);
        assert_eq!(ced.classes()[0], "Speech");
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ced_tiny.json");
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
        let clips = golden["clips"].as_array().unwrap();
        assert!(clips.len() >= 3);
        let mut out = CedOutput::default();
        for c in clips {
            let name = c["name"].as_str().unwrap();
            let wave = reference_clip(name);
            ced.run_window(&wave, &mut out).unwrap();
            for (key, got) in [("probs", &out.probs[..]), ("embedding", &out.embedding[..])] {
                let want: Vec<f32> = c[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                assert_eq!(want.len(), got.len(), "{name} {key}");
                // Relative to the largest value for the embedding (up to
                // about 9); the probabilities are within [0, 1].
                let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let mut worst = 0.0f32;
                for (w, g) in want.iter().zip(got) {
                    worst = worst.max((w - g).abs() / scale);
                }
                eprintln!("{name} {key}: worst difference {worst} (x {scale})");
                assert!(
                    worst < 1e-5,
                    "{name} {key}: tract is {worst} from onnxruntime"
                );
            }
        }
    }

    /// The clips of `heyplayer_tools.context.ced_reference`, generated the same
    /// way here (a fixed-seed LCG, so Python and Rust agree bit for bit).
    pub(crate) fn reference_clip(name: &str) -> Vec<f32> {
        let n = WINDOW_SAMPLES;
        let t = |i: usize| i as f32 / 16_000.0;
        match name {
            "tone" => (0..n)
                .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t(i)).sin())
                .collect(),
            "chirp" => (0..n)
                .map(|i| 0.2 * (2.0 * std::f32::consts::PI * (200.0 + 900.0 * t(i)) * t(i)).sin())
                .collect(),
            "noise" => {
                let mut s: u32 = 12345;
                (0..n)
                    .map(|_| {
                        s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        0.1 * ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0)
                    })
                    .collect()
            }
            "cafe" => {
                // examples/cafe.wav from 1 s on (16-bit PCM, 16 kHz mono).
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cafe.wav");
                let mut r = hound::WavReader::open(path).unwrap();
                r.samples::<i16>()
                    .skip(16_000)
                    .take(n)
                    .map(|s| f32::from(s.unwrap()) / 32768.0)
                    .collect()
            }
            other => panic!("no reference clip {other:?}"),
        }
    }
}
