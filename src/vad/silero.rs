//! Silero VAD (v6, the OpenVINO-friendly 16 kHz export without `If` nodes), run
//! with tract-onnx.
//!
//! The model takes 64 samples of context plus 512 new samples (`[1, 576]`) and
//! an LSTM state `[2, 1, 128]`, and returns a speech probability and the next
//! state. [`Silero::push`] accepts 10 ms frames and runs the model every
//! [`SILERO_HOP`] samples, exactly as the package's own Python wrapper does.

use std::path::Path;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::SimpleState;

use crate::audio::Frame;

/// New samples per model call.
pub const SILERO_HOP: usize = 512;
/// Samples of the previous window prepended as context.
pub const SILERO_CONTEXT: usize = 64;
const WINDOW: usize = SILERO_CONTEXT + SILERO_HOP;
/// Samples the model's STFT appends to the window, reflected (`F.pad(x, (0,
/// 64), mode="reflect")`): done here, before the model (see [`PAD_NODE`]).
const REFLECT: usize = 64;
/// The model's own reflect padding. tract evaluates it element by element
/// (about a third of a call), so the plan starts after it and
/// [`Silero::run`] pads the window itself.
const PAD_NODE: &str = "F0::If_0_then_branch__Inline_0__/stft/padding/Pad";
/// Past hops replayed through the model when it wakes up after being skipped,
/// so it hears the onset it missed (128 ms).
pub const SILERO_WARMUP_HOPS: usize = 4;
/// Samples of history kept: context + warm-up hops + the current hop.
const HISTORY: usize = SILERO_CONTEXT + (SILERO_WARMUP_HOPS + 1) * SILERO_HOP;
const STATE_LEN: usize = 2 * 128;

/// Errors of the Silero model.
#[derive(Debug, thiserror::Error)]
pub enum SileroError {
    /// The model could not be loaded.
    #[error("cannot load the Silero VAD model {path}: {detail}")]
    Load {
        /// The file.
        path: String,
        /// What tract said.
        detail: String,
    },
    /// Inference failed.
    #[error("Silero VAD inference failed: {0}")]
    Run(String),
}

/// The Silero export names 15 constant nodes alike (`F0::anon`), which tract's
/// graph compaction refuses; give every node a unique name before loading.
/// Only names change: the graph is the same.
fn unique_node_names(proto: &mut tract_onnx::pb::ModelProto) {
    let Some(graph) = proto.graph.as_mut() else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for (i, node) in graph.node.iter_mut().enumerate() {
        if !seen.insert(node.name.clone()) {
            node.name = format!("{}#{i}", node.name);
            seen.insert(node.name.clone());
        }
    }
}

/// Streaming Silero VAD.
pub struct Silero {
    /// The plan's session, kept from call to call (a fresh one per call
    /// allocates every intermediate tensor anew).
    session: TypedSimpleState,
    /// The model's input: the window and its reflection.
    padded: Box<[f32; WINDOW + REFLECT]>,
    /// The latest samples; the current hop is filled into the last `SILERO_HOP`.
    history: Box<[f32; HISTORY]>,
    /// New samples in the current hop.
    fill: usize,
    state: Tensor,
    prob: f32,
    /// Windows skipped in a row (see [`Silero::push`]).
    idle_windows: u32,
}

/// After this many skipped windows (about 1 s) the LSTM state is reset, as
/// after a long silence.
pub const SILERO_IDLE_RESET_WINDOWS: u32 = 31;

impl Silero {
    /// Loads and optimises the model.
    pub fn load(path: &Path) -> Result<Self, SileroError> {
        let err = |e: TractError| SileroError::Load {
            path: path.display().to_string(),
            detail: format!("{e:#}"),
        };
        let mut model = Self::whole_model(path)?;
        let pad = model
            .node_by_name(PAD_NODE)
            .map_err(|_| SileroError::Load {
                path: path.display().to_string(),
                detail: format!("no node {PAD_NODE}: not the Silero v6 OpenVINO export"),
            })?
            .id;
        // A new input in place of the padding's output; the padding is left
        // dangling, outside the plan.
        let state = model.input_outlets().map_err(err)?[1];
        let padded = model
            .add_source("padded", f32::fact([1, WINDOW + REFLECT]).into())
            .map_err(err)?;
        for inlet in model.outlet_successors(OutletId::new(pad, 0)).to_vec() {
            model.add_edge(padded, inlet).map_err(err)?;
        }
        model.set_input_outlets(&[padded, state]).map_err(err)?;
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self {
            session: SimpleState::new(&plan).map_err(err)?,
            padded: Box::new([0.0; WINDOW + REFLECT]),
            history: Box::new([0.0; HISTORY]),
            fill: 0,
            state: Tensor::zero::<f32>(&[2, 1, 128]).map_err(err)?,
            prob: 0.0,
            idle_windows: 0,
        })
    }

    /// The model as stored, with its two inputs' shapes fixed.
    fn whole_model(path: &Path) -> Result<InferenceModel, SileroError> {
        let err = |e: TractError| SileroError::Load {
            path: path.display().to_string(),
            detail: format!("{e:#}"),
        };
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_path(path).map_err(err)?;
        unique_node_names(&mut proto);
        onnx.model_for_proto_model(&proto)
            .map_err(err)?
            .with_input_fact(0, f32::fact([1, WINDOW]).into())
            .map_err(err)?
            .with_input_fact(1, f32::fact([2, 1, 128]).into())
            .map_err(err)
    }

    /// The latest speech probability.
    pub fn prob(&self) -> f32 {
        self.prob
    }

    /// Feeds a 10 ms frame; returns the latest probability (updated whenever a
    /// 512-sample window completes).
    ///
    /// With `active` false the model is not run when the window completes: the
    /// probability becomes 0 (the cheap gates already said "not speech"), and
    /// after [`SILERO_IDLE_RESET_WINDOWS`] such windows the state is reset.
    /// When it runs again, it first replays up to [`SILERO_WARMUP_HOPS`] of the
    /// skipped hops, so the onset is not lost.
    pub fn push_gated(&mut self, frame: &Frame, active: bool) -> Result<f32, SileroError> {
        let mut rest: &[f32] = &frame[..];
        while !rest.is_empty() {
            let take = (SILERO_HOP - self.fill).min(rest.len());
            let at = HISTORY - SILERO_HOP + self.fill;
            self.history[at..at + take].copy_from_slice(&rest[..take]);
            self.fill += take;
            rest = &rest[take..];
            if self.fill == SILERO_HOP {
                if active {
                    let warm = (self.idle_windows as usize).min(SILERO_WARMUP_HOPS);
                    for k in (1..=warm).rev() {
                        let end = HISTORY - k * SILERO_HOP;
                        self.run(end - WINDOW)?;
                    }
                    self.idle_windows = 0;
                    self.prob = self.run(HISTORY - WINDOW)?;
                } else {
                    self.prob = 0.0;
                    self.idle_windows = self.idle_windows.saturating_add(1);
                    if self.idle_windows == SILERO_IDLE_RESET_WINDOWS {
                        self.reset();
                    }
                }
                self.history.copy_within(SILERO_HOP.., 0);
                self.fill = 0;
            }
        }
        Ok(self.prob)
    }

    /// Forgets the LSTM state, as at the start of a stream.
    pub fn reset(&mut self) {
        if let Ok(z) = Tensor::zero::<f32>(&[2, 1, 128]) {
            self.state = z;
        }
    }

    /// Feeds a 10 ms frame and always runs the model (see [`Silero::push_gated`]).
    pub fn push(&mut self, frame: &Frame) -> Result<f32, SileroError> {
        self.push_gated(frame, true)
    }

    /// Runs the model on `history[from..from + WINDOW]`, updating the state.
    fn run(&mut self, from: usize) -> Result<f32, SileroError> {
        let err = |e: TractError| SileroError::Run(format!("{e:#}"));
        let window = &self.history[from..from + WINDOW];
        let (head, tail) = self.padded.split_at_mut(WINDOW);
        head.copy_from_slice(window);
        for (d, s) in tail.iter_mut().zip(window[..WINDOW - 1].iter().rev()) {
            *d = *s;
        }
        let input = Tensor::from_shape(&[1, WINDOW + REFLECT], &self.padded[..]).map_err(err)?;
        let out = self
            .session
            .run(tvec!(input.into_tvalue(), self.state.clone().into_tvalue()))
            .map_err(err)?;
        let prob = *out[0]
            .to_plain_array_view::<f32>()
            .map_err(err)?
            .iter()
            .next()
            .ok_or_else(|| SileroError::Run("empty output".into()))?;
        let next = out[1].clone().into_tensor();
        if next.len() != STATE_LEN {
            return Err(SileroError::Run(format!(
                "unexpected state size {}",
                next.len()
            )));
        }
        self.state = next;
        Ok(prob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the reflection done before the model, the probabilities and
    /// states are exactly those of the model as stored, call after call.
    #[test]
    fn padding_outside_the_model_changes_nothing() {
        let dir = crate::config::Config::default().models_dir;
        let path = crate::models::locate("silero-vad", &dir).unwrap().path;
        let mut silero = Silero::load(&path).unwrap();
        let whole = Silero::whole_model(&path)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
        let mut r = hound::WavReader::open(demo).unwrap();
        let x: Vec<f32> = r
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect();
        let mut state = Tensor::zero::<f32>(&[2, 1, 128]).unwrap();
        let (mut calls, mut max_p) = (0, 0.0f32);
        for window in x.windows(WINDOW).step_by(SILERO_HOP) {
            silero.history[HISTORY - WINDOW..].copy_from_slice(window);
            let p = silero.run(HISTORY - WINDOW).unwrap();
            let input = Tensor::from_shape(&[1, WINDOW], window).unwrap();
            let out = whole
                .run(tvec!(input.into_tvalue(), state.clone().into_tvalue()))
                .unwrap();
            let want = out[0].to_plain_array_view::<f32>().unwrap()[[0, 0]];
            state = out[1].clone().into_tensor();
            assert_eq!(p, want, "call {calls}");
            assert_eq!(
                silero.state.to_plain_array_view::<f32>().unwrap(),
                state.to_plain_array_view::<f32>().unwrap(),
                "call {calls}"
            );
            calls += 1;
            max_p = max_p.max(p);
        }
        assert!(calls > 400, "{calls} calls");
        assert!(max_p > 0.9, "the demo's speech never scored: {max_p}");
    }
}
