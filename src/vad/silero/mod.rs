//! Silero VAD (v6, the OpenVINO-friendly 16 kHz export without `If` nodes).
//!
//! The model takes 64 samples of context plus 512 new samples (`[1, 576]`) and
//! an LSTM state `[2, 1, 128]`, and returns a speech probability and the next
//! state. [`Silero::push`] accepts 10 ms frames and runs the model every
//! [`SILERO_HOP`] samples, exactly as the package's own Python wrapper does.
//! The network is the model file's, restated in [`net`] (tract loads the
//! file, and checks the restatement in the tests).

use std::path::Path;

use tract_onnx::prelude::*;

use crate::audio::Frame;

pub mod net;
use net::{Scratch, SileroNet, HIDDEN};

/// New samples per model call.
pub const SILERO_HOP: usize = 512;
/// Samples of the previous window prepended as context.
pub const SILERO_CONTEXT: usize = 64;
const WINDOW: usize = SILERO_CONTEXT + SILERO_HOP;
/// Samples the model's STFT appends to the window, reflected (`F.pad(x, (0,
/// 64), mode="reflect")`): done in [`Silero::run`].
const REFLECT: usize = 64;
/// Past hops replayed through the model when it wakes up after being skipped,
/// so it hears the onset it missed (128 ms).
pub const SILERO_WARMUP_HOPS: usize = 4;
/// Samples of history kept: context + warm-up hops + the current hop.
const HISTORY: usize = SILERO_CONTEXT + (SILERO_WARMUP_HOPS + 1) * SILERO_HOP;
const STATE_LEN: usize = 2 * HIDDEN;

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
    net: SileroNet,
    scratch: Scratch,
    /// The model's input: the window and its reflection.
    padded: Box<[f32; WINDOW + REFLECT]>,
    /// The latest samples; the current hop is filled into the last `SILERO_HOP`.
    history: Box<[f32; HISTORY]>,
    /// New samples in the current hop.
    fill: usize,
    /// The LSTM state: `h`, then `c`.
    state: Box<[f32; STATE_LEN]>,
    prob: f32,
    /// Windows skipped in a row (see [`Silero::push`]).
    idle_windows: u32,
}

/// After this many skipped windows (about 1 s) the LSTM state is reset, as
/// after a long silence.
pub const SILERO_IDLE_RESET_WINDOWS: u32 = 31;

impl Silero {
    /// Loads the model.
    pub fn load(path: &Path) -> Result<Self, SileroError> {
        let net = SileroNet::load(path, &Self::whole_model(path)?)?;
        Ok(Self {
            scratch: net.scratch(),
            net,
            padded: Box::new([0.0; WINDOW + REFLECT]),
            history: Box::new([0.0; HISTORY]),
            fill: 0,
            state: Box::new([0.0; STATE_LEN]),
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
        // tract panics when given the fact of an input the model lacks.
        let inputs: Vec<&str> = proto
            .graph
            .iter()
            .flat_map(|g| g.input.iter().map(|i| i.name.as_str()))
            .collect();
        if inputs != ["input", "state"] {
            return Err(SileroError::Load {
                path: path.display().to_string(),
                detail: format!("inputs {inputs:?}, not input and state: not Silero VAD"),
            });
        }
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
        self.state.fill(0.0);
    }

    /// Feeds a 10 ms frame and always runs the model (see [`Silero::push_gated`]).
    pub fn push(&mut self, frame: &Frame) -> Result<f32, SileroError> {
        self.push_gated(frame, true)
    }

    /// Runs the model on `history[from..from + WINDOW]`, updating the state.
    fn run(&mut self, from: usize) -> Result<f32, SileroError> {
        let window = &self.history[from..from + WINDOW];
        let (head, tail) = self.padded.split_at_mut(WINDOW);
        head.copy_from_slice(window);
        for (d, s) in tail.iter_mut().zip(window[..WINDOW - 1].iter().rev()) {
            *d = *s;
        }
        self.net
            .run(&self.padded[..], &mut self.state[..], &mut self.scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The restated network gives the probabilities and states of tract
    /// running the model file, call after call (the state carried on by
    /// each), within 1e-4.
    #[test]
    fn the_restated_network_matches_the_model_file() {
        let Some(path) = crate::models::for_test("silero-vad") else {
            return;
        };
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
        let (mut worst_p, mut worst_state) = (0.0f32, 0.0f32);
        for window in x.windows(WINDOW).step_by(SILERO_HOP) {
            silero.history[HISTORY - WINDOW..].copy_from_slice(window);
            let p = silero.run(HISTORY - WINDOW).unwrap();
            let input = Tensor::from_shape(&[1, WINDOW], window).unwrap();
            let out = whole
                .run(tvec!(input.into_tvalue(), state.clone().into_tvalue()))
                .unwrap();
            let want = out[0].to_plain_array_view::<f32>().unwrap()[[0, 0]];
            state = out[1].clone().into_tensor();
            worst_p = worst_p.max((p - want).abs());
            let want_state = state.to_plain_array_view::<f32>().unwrap();
            for (a, b) in silero.state.iter().zip(want_state.iter()) {
                worst_state = worst_state.max((a - b).abs());
            }
            assert!((p - want).abs() <= 1e-4, "call {calls}: {p} against {want}");
            calls += 1;
            max_p = max_p.max(p);
        }
        eprintln!("{calls} calls, worst |p diff| {worst_p:e}, worst |state diff| {worst_state:e}");
        assert!(worst_state <= 1e-4, "states differ by {worst_state}");
        assert!(calls > 400, "{calls} calls");
        assert!(max_p > 0.9, "the demo's speech never scored: {max_p}");
    }

    /// Any other model is refused with a clear error, not run.
    #[test]
    fn another_model_is_refused() {
        let Some([mel, emb, head]) = crate::wake::tests::model_paths() else {
            return;
        };
        for path in [mel, emb, head] {
            let err = Silero::load(&path).err().expect("loaded").to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
    }
}
