//! "Hey, player": the streaming wake-word detector (first stage).
//!
//! Features are openWakeWord's (Apache-2.0):
//! every 80 ms ([`WAKE_STEP`] samples) the mel front end turns the latest
//! [`MEL_INPUT`] samples (in int16 range) into 8 mel frames (`x/10 + 2`),
//! computing `melspectrogram.onnx` with an FFT and the model's own window and
//! filter bank ([`mel`]); the embedding model turns the latest 76 mel frames
//! into one 96-d embedding ([`embed`]: the model file's layers, run on plain
//! matrix products); our own head (tract-onnx,
//! `models/wake/hey_player.onnx`, trained by `models/wake/`) scores the
//! latest 16 embeddings (1.28 s). The detector fires after `patience`
//! consecutive steps at or above the threshold, then stays quiet for the
//! debounce time.
//!
//! The embedding model runs streamed: each layer computes only what the 8 new
//! mel frames change (see [`embed`]), with the numbers of the whole model on
//! the whole window, about 8x less work per step.
//!
//! In the daemon the models run only around speech
//! ([`WakeDetector::push_gated`]): the VAD opens a gate, and while it is shut
//! (silence, steady noise) nothing but the last 2 s of samples is kept. When
//! it opens, the detector replays those 2 s ([`REPLAY_STEPS`]), so every
//! score it gives is the one the always-on detector gives at that step.
//!
//! Every buffer is sized at construction; [`WakeDetector::push`] allocates
//! nothing of its own (tract allocates the head's tensors, and the matrix
//! product its packing buffers).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::SimpleState;

use crate::audio::{Frame, FRAME_SAMPLES};
use crate::config::WakeConfig;

pub mod embed;
pub mod mel;
mod preroll;

use embed::{EmbNet, EmbState, MEL_PADDED};
use mel::{MelBank, MelScratch};
pub use preroll::{PreRoll, PREROLL_MAX_SAMPLES};

/// Samples per detector step (80 ms).
pub const WAKE_STEP: usize = 1280;
/// Samples given to the mel model per step: the step plus 3 frames of context.
pub const MEL_INPUT: usize = WAKE_STEP + 480;
/// Mel frames the mel model returns per step.
pub const MEL_PER_STEP: usize = 8;
/// Mel bins.
pub const MEL_BINS: usize = 32;
/// Mel frames per embedding.
pub const MEL_WINDOW: usize = 76;
/// Embedding size.
pub const EMB_DIM: usize = 96;
/// Embeddings the head looks at (1.28 s).
pub const HEAD_WINDOW: usize = 16;
/// Steps of past audio one score depends on: the mel window (10 steps) and
/// the head window's 15 earlier embeddings. [`WakeDetector::push_gated`]
/// replays this many steps when its gate opens, so its first score is the
/// ungated detector's.
pub const REPLAY_STEPS: usize = MEL_WINDOW.div_ceil(MEL_PER_STEP) + HEAD_WINDOW - 1;
/// How long the gate of [`WakeDetector::push_gated`] stays open after the
/// last frame the VAD called speech (ms): the score peaks within a few steps of
/// the phrase's end, and patience needs two of them.
pub const WAKE_GATE_HOLD_MS: u64 = 1000;
/// The longest gap [`WakeDetector::push_gated`] runs straight through on
/// waking rather than starting its windows afresh: restarting costs the 25
/// replayed steps plus one whole-window embedding, about as much as 22 steps.
const STREAM_THROUGH_STEPS: u64 = 20;
/// Samples kept: the mel model's input plus the replayed steps.
const HISTORY: usize = MEL_INPUT + REPLAY_STEPS * WAKE_STEP;
/// Level (RMS, dBFS) of the quiet that stands for audio the detector never
/// heard: before the stream started, and the command it just woke for
/// (see [`WakeDetector::forget`]). A quiet room's microphone noise, chosen
/// before measuring; digital zeros would be a log-mel floor no microphone
/// gives. Without it, a phrase in the first 2 s of a stream was never
/// scored: the windows had not filled.
pub const QUIET_DBFS: f32 = -70.0;

/// Fills `out` (int16 range, oldest first) with the quiet of [`QUIET_DBFS`]:
/// white noise, the same every time.
fn fill_quiet(out: &mut [f32]) {
    // Uniform in [-a, a] has an RMS of a / sqrt(3).
    let amp = 32767.0 * 10f32.powf(QUIET_DBFS / 20.0) * 3f32.sqrt();
    let mut x: u32 = 0x9E37_79B9;
    for s in out {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *s = (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp;
    }
}
const _: () = assert!(HISTORY.is_multiple_of(FRAME_SAMPLES));

/// Errors of the wake stage.
#[derive(Debug, thiserror::Error)]
pub enum WakeError {
    /// A model could not be loaded.
    #[error("cannot load the wake-word model {path}: {detail}")]
    Load {
        /// The file.
        path: String,
        /// What tract said.
        detail: String,
    },
    /// Inference failed.
    #[error("wake-word inference failed: {0}")]
    Run(String),
}

/// A detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Audio clock at the end of the step that fired, ms.
    pub t_ms: u64,
    /// Highest score in the run of steps that fired.
    pub score: f32,
}

/// What the first stage made of a whole clip ([`WakeDetector::scan`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scan {
    /// Its first detection.
    pub first: Option<Detection>,
    /// The end of its best-scoring step, ms from the clip's start.
    pub best_t_ms: u64,
    /// That step's score.
    pub best_score: f32,
}

impl Scan {
    /// The time (ms from the clip's start) and score a tool weighs the
    /// first stage by: its first detection's, else its best step's.
    pub fn decisive(&self) -> (u64, f32) {
        self.first
            .map_or((self.best_t_ms, self.best_score), |d| (d.t_ms, d.score))
    }
}

type Plan = Arc<TypedSimplePlan>;

fn load(path: &Path, input: &[usize]) -> Result<Plan, WakeError> {
    let err = |e: TractError| WakeError::Load {
        path: path.display().to_string(),
        detail: format!("{e:#}"),
    };
    tract_onnx::onnx()
        .model_for_path(path)
        .map_err(err)?
        .with_input_fact(0, f32::fact(input).into())
        .map_err(err)?
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)
}

/// The three models, loaded once and shared between detectors.
#[derive(Clone)]
pub struct WakeModels {
    mel: Arc<MelBank>,
    emb: Arc<EmbNet>,
    head: Plan,
}

impl WakeModels {
    /// Loads the mel, embedding and head models.
    pub fn load(mel: &Path, emb: &Path, head: &Path) -> Result<Self, WakeError> {
        Ok(Self {
            mel: Arc::new(MelBank::load(mel)?),
            emb: Arc::new(EmbNet::load(emb)?),
            head: load(head, &[1, HEAD_WINDOW, EMB_DIM])?,
        })
    }

    /// Time per 80 ms step of each model alone,
    /// averaged over `steps` runs on speech-range noise (for the benchmark:
    /// `cargo bench --bench wake`).
    pub fn profile(&self, steps: u32) -> Result<Vec<(String, Duration)>, WakeError> {
        let mut x = 12345u32;
        let mut noise = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * scale
                })
                .collect()
        };
        let time = |plan: &Plan, shape: &[usize], v: Vec<f32>| time_plan(plan, shape, &v, steps);
        let samples = noise(MEL_INPUT, 6000.0);
        let mut scratch = self.mel.scratch();
        let mut mel = [0.0; MEL_PER_STEP * MEL_BINS];
        self.mel.compute(&samples, &mut scratch, &mut mel)?;
        let t = Instant::now();
        for _ in 0..steps {
            self.mel.compute(&samples, &mut scratch, &mut mel)?;
        }
        let mut out = vec![("mel (FFT)".to_string(), t.elapsed() / steps)];
        let mut state = EmbState::new(&self.emb);
        let window = noise(MEL_WINDOW * MEL_PADDED, 2.0);
        state.window(&self.emb, &window)?;
        let new = &window[(MEL_WINDOW - MEL_PER_STEP) * MEL_PADDED..];
        let t = Instant::now();
        for _ in 0..steps {
            state.step(&self.emb, new)?;
        }
        out.push(("embedding (streamed)".to_string(), t.elapsed() / steps));
        out.push((
            "head".to_string(),
            time(
                &self.head,
                &[1, HEAD_WINDOW, EMB_DIM],
                noise(HEAD_WINDOW * EMB_DIM, 2.0),
            )?,
        ));
        Ok(out)
    }

    /// Time per 80 ms step of openWakeWord's whole embedding model on a whole
    /// 76-frame window, as the detector ran it before it streamed (for the
    /// benchmark's comparison).
    pub fn profile_whole_embedding(path: &Path, steps: u32) -> Result<Duration, WakeError> {
        let shape = [1, MEL_WINDOW, MEL_BINS, 1];
        let plan = load(path, &shape)?;
        let v: Vec<f32> = (0..MEL_WINDOW * MEL_BINS)
            .map(|k| (k as f32 * 0.37).sin())
            .collect();
        time_plan(&plan, &shape, &v, steps)
    }
}

/// Mean time of one run of `plan` on `v` (shaped `shape`), over `steps` runs after a first.
fn time_plan(plan: &Plan, shape: &[usize], v: &[f32], steps: u32) -> Result<Duration, WakeError> {
    let input = Tensor::from_shape(shape, v).map_err(run_err)?;
    let mut state = SimpleState::new(plan).map_err(run_err)?;
    state
        .run(tvec!(input.clone().into_tvalue()))
        .map_err(run_err)?;
    let t = Instant::now();
    for _ in 0..steps {
        state
            .run(tvec!(input.clone().into_tvalue()))
            .map_err(run_err)?;
    }
    Ok(t.elapsed() / steps)
}

/// The streaming detector.
pub struct WakeDetector {
    models: WakeModels,
    cfg: WakeConfig,
    /// The head's tract session, kept from step to step (made at the first
    /// step: making one can fail, and `new` cannot).
    head_state: Option<TypedSimpleState>,
    /// The embedding's contexts and buffers.
    emb_state: EmbState,
    /// A ring of the latest [`HISTORY`] samples (int16 range), each written
    /// twice, at `i` and `i + HISTORY`, so that the latest [`HISTORY`] are
    /// always `audio[head..head + HISTORY]`, oldest first, with nothing to
    /// shift.
    audio: Box<[f32; 2 * HISTORY]>,
    /// Where the oldest of the latest [`HISTORY`] samples is.
    head: usize,
    fill: usize,
    /// Steps completed since the start.
    steps: u64,
    /// The gate of [`Self::push_gated`] is open until this sample.
    open_until: u64,
    /// Steps the models have skipped since they last ran (or since the start).
    skipped: u64,
    /// The mel front end's buffers, and its output for the latest step.
    mel_scratch: MelScratch,
    mel_out: Box<[f32; MEL_PER_STEP * MEL_BINS]>,
    /// The latest MEL_WINDOW mel frames, scaled and zero-padded to
    /// [`MEL_PADDED`] bins, as the embedding model takes them.
    mel: Box<[f32; MEL_WINDOW * MEL_PADDED]>,
    mel_frames: usize,
    emb: Box<[f32; HEAD_WINDOW * EMB_DIM]>,
    emb_count: usize,
    samples: u64,
    over: u32,
    run_max: f32,
    quiet_until: u64,
    last_score: f32,
}

fn run_err(e: TractError) -> WakeError {
    WakeError::Run(format!("{e:#}"))
}

impl WakeDetector {
    /// A detector on shared models.
    pub fn new(models: WakeModels, cfg: WakeConfig) -> Self {
        let mut audio = Box::new([0.0; 2 * HISTORY]);
        let (first, second) = audio.split_at_mut(HISTORY);
        fill_quiet(first);
        second.copy_from_slice(first);
        Self {
            head_state: None,
            emb_state: EmbState::new(&models.emb),
            mel_scratch: models.mel.scratch(),
            mel_out: Box::new([0.0; MEL_PER_STEP * MEL_BINS]),
            models,
            cfg,
            audio,
            head: 0,
            fill: 0,
            steps: 0,
            open_until: 0,
            skipped: 0,
            mel: Box::new([0.0; MEL_WINDOW * MEL_PADDED]),
            mel_frames: 0,
            emb: Box::new([0.0; HEAD_WINDOW * EMB_DIM]),
            emb_count: 0,
            samples: 0,
            over: 0,
            run_max: 0.0,
            quiet_until: 0,
            last_score: 0.0,
        }
    }

    /// The shared models.
    pub fn models(&self) -> &WakeModels {
        &self.models
    }

    /// The score of the latest step.
    pub fn score(&self) -> f32 {
        self.last_score
    }

    /// Feeds a 10 ms frame; returns a detection when the wake word is heard.
    /// The models run on every step.
    pub fn push(&mut self, frame: &Frame) -> Result<Option<Detection>, WakeError> {
        self.push_gated(frame, true)
    }

    /// Feeds a 10 ms frame and the VAD's word on it. The models run only
    /// while the gate is open: from a frame of speech until
    /// [`WAKE_GATE_HOLD_MS`] after the last one. On opening, the detector
    /// replays the [`REPLAY_STEPS`] steps it skipped, so its scores while open
    /// are exactly those of [`Self::push`]; while shut, the score is 0.
    pub fn push_gated(
        &mut self,
        frame: &Frame,
        speech: bool,
    ) -> Result<Option<Detection>, WakeError> {
        // HISTORY is a whole number of frames: a frame never straddles the end.
        let at = self.head;
        for (d, s) in self.audio[at..at + FRAME_SAMPLES].iter_mut().zip(frame) {
            *d = s * 32767.0;
        }
        let (first, second) = self.audio.split_at_mut(HISTORY);
        second[at..at + FRAME_SAMPLES].copy_from_slice(&first[at..at + FRAME_SAMPLES]);
        self.head = (at + FRAME_SAMPLES) % HISTORY;
        self.fill += FRAME_SAMPLES;
        self.samples += FRAME_SAMPLES as u64;
        if speech {
            self.open_until =
                self.samples + WAKE_GATE_HOLD_MS * crate::audio::SAMPLE_RATE as u64 / 1000;
        }
        if self.fill < WAKE_STEP {
            return Ok(None);
        }
        self.fill = 0;
        self.steps += 1;
        let score = if self.samples > self.open_until {
            self.skipped += 1;
            0.0
        } else if self.asleep() {
            self.wake_up()?
        } else {
            self.step(0, true)?
        };
        self.last_score = score;
        let t_ms = self.samples * 1000 / crate::audio::SAMPLE_RATE as u64;
        if t_ms < self.quiet_until || score < self.cfg.threshold {
            self.over = 0;
            self.run_max = 0.0;
            return Ok(None);
        }
        self.over += 1;
        self.run_max = self.run_max.max(score);
        if self.over < self.cfg.patience {
            return Ok(None);
        }
        let det = Detection {
            t_ms,
            score: self.run_max,
        };
        self.over = 0;
        self.run_max = 0.0;
        self.quiet_until = t_ms + self.cfg.debounce_ms;
        Ok(Some(det))
    }

    /// Runs a whole clip through [`Self::push`], 10 ms frame by frame (a
    /// partial last frame is dropped): its first detection, and the time
    /// (ms from the clip's start, at a step's end) and score of its best step.
    /// For offline tools that weigh the first stage's score.
    pub fn scan(&mut self, clip: &[f32]) -> Result<Scan, WakeError> {
        let mut out = Scan {
            first: None,
            best_t_ms: 0,
            best_score: f32::NEG_INFINITY,
        };
        for (i, frame) in clip.chunks_exact(FRAME_SAMPLES).enumerate() {
            let mut f: Frame = [0.0; FRAME_SAMPLES];
            f.copy_from_slice(frame);
            let d = self.push(&f)?;
            if self.score() > out.best_score {
                out.best_t_ms = (i as u64 + 1) * 10;
                out.best_score = self.score();
            }
            if out.first.is_none() {
                out.first = d;
            }
        }
        Ok(out)
    }

    /// Forgets what it heard: its history becomes quiet (but for the
    /// current, unfinished step), and its windows start afresh at the next
    /// step. Called when a command recording ends, so that nothing heard
    /// before or during that command (the wake phrase still in its 2 s
    /// windows) can wake it again; new speech can at once.
    pub fn forget(&mut self) {
        let (first, second) = self.audio.split_at_mut(HISTORY);
        // The oldest HISTORY - fill samples, in ring order from `head`.
        let old = HISTORY - self.fill;
        let (a, b) = (self.head, (self.head + old).min(HISTORY));
        fill_quiet(&mut first[a..b]);
        let wrapped = old - (b - a);
        fill_quiet(&mut first[..wrapped]);
        second.copy_from_slice(first);
        // More than a short gap: the next open step restarts the windows.
        self.skipped = STREAM_THROUGH_STEPS + 1;
        self.over = 0;
        self.run_max = 0.0;
    }

    /// The models did not run on the latest step: the gate was shut, or they
    /// have never run.
    fn asleep(&self) -> bool {
        self.skipped > 0 || self.head_state.is_none()
    }

    /// The gate opened: catch up on the skipped steps, then score the latest.
    /// After a short gap (at most [`STREAM_THROUGH_STEPS`]) the windows just
    /// run on through the skipped steps; after a longer one they start afresh
    /// on the last [`REPLAY_STEPS`] steps (fewer at the start of the stream),
    /// which is all a score depends on. Either way the state is the always-on
    /// detector's. Before the stream (or after [`Self::forget`]) the history
    /// is quiet ([`QUIET_DBFS`]), so a phrase at the very start is scored too.
    fn wake_up(&mut self) -> Result<f32, WakeError> {
        let ran_before = self.head_state.is_some();
        let back = if ran_before && self.skipped <= STREAM_THROUGH_STEPS {
            self.skipped
        } else {
            self.mel_frames = 0;
            self.emb_count = 0;
            REPLAY_STEPS as u64
        };
        self.skipped = 0;
        for k in (1..=back as usize).rev() {
            self.step(k, false)?;
        }
        self.step(0, true)
    }

    /// One 80 ms step, the one that ended `back` steps ago: mel, embedding,
    /// and the head if `score`. Returns the head's score (0 until the windows
    /// are full, or without `score`).
    fn step(&mut self, back: usize, score: bool) -> Result<f32, WakeError> {
        let head = match &mut self.head_state {
            Some(s) => s,
            None => self
                .head_state
                .insert(SimpleState::new(&self.models.head).map_err(run_err)?),
        };
        let end = self.head + HISTORY - back * WAKE_STEP;
        self.models.mel.compute(
            &self.audio[end - MEL_INPUT..end],
            &mut self.mel_scratch,
            &mut self.mel_out,
        )?;
        let shift = MEL_PER_STEP * MEL_PADDED;
        self.mel.copy_within(shift.., 0);
        let tail = MEL_WINDOW * MEL_PADDED - shift;
        // The pad bins (first and last of each frame) stay 0.
        for (d, s) in self.mel[tail..]
            .chunks_exact_mut(MEL_PADDED)
            .zip(self.mel_out.chunks_exact(MEL_BINS))
        {
            for (d, s) in d[1..=MEL_BINS].iter_mut().zip(s) {
                *d = s / 10.0 + 2.0;
            }
        }
        self.mel_frames += MEL_PER_STEP;
        if self.mel_frames < MEL_WINDOW {
            return Ok(0.0);
        }
        let net = &self.models.emb;
        let e = if self.emb_count == 0 {
            // The first window runs whole, and primes the streamed steps.
            self.emb_state.window(net, &self.mel[..])?
        } else {
            self.emb_state.step(net, &self.mel[tail..])?
        };
        if e.len() != EMB_DIM {
            return Err(WakeError::Run(format!("embedding has {} values", e.len())));
        }
        self.emb.copy_within(EMB_DIM.., 0);
        self.emb[(HEAD_WINDOW - 1) * EMB_DIM..].copy_from_slice(e);
        self.emb_count += 1;
        if self.emb_count < HEAD_WINDOW || !score {
            return Ok(0.0);
        }
        let input =
            Tensor::from_shape(&[1, HEAD_WINDOW, EMB_DIM], &self.emb[..]).map_err(run_err)?;
        let out = head.run(tvec!(input.into_tvalue())).map_err(run_err)?;
        let p = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
        p.iter()
            .next()
            .copied()
            .ok_or_else(|| WakeError::Run("empty head output".into()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The detector's scoring as it was before the embedding model streamed:
    /// the whole embedding model on the whole 76-frame mel window at every
    /// step (the code of commit 4afa1b4, kept here as the reference).
    struct Reference {
        mel: Plan,
        emb: Plan,
        head: Plan,
        audio: Vec<f32>,
        fill: usize,
        mel_win: Vec<f32>,
        mel_frames: usize,
        emb_win: Vec<f32>,
        emb_count: usize,
    }

    impl Reference {
        fn new(mel: &Path, emb: &Path, head: &Path) -> Self {
            Self {
                mel: load(mel, &[1, MEL_INPUT]).unwrap(),
                emb: load(emb, &[1, MEL_WINDOW, MEL_BINS, 1]).unwrap(),
                head: load(head, &[1, HEAD_WINDOW, EMB_DIM]).unwrap(),
                audio: vec![0.0; MEL_INPUT],
                fill: 0,
                mel_win: vec![0.0; MEL_WINDOW * MEL_BINS],
                mel_frames: 0,
                emb_win: vec![0.0; HEAD_WINDOW * EMB_DIM],
                emb_count: 0,
            }
        }

        /// Runs on `history` (int16 range) as if it came before the stream:
        /// its first MEL_INPUT - WAKE_STEP samples as the initial context,
        /// the rest as whole steps.
        fn prime(&mut self, history: &[f32]) {
            let lead = MEL_INPUT - WAKE_STEP;
            self.audio[..lead].copy_from_slice(&history[..lead]);
            for step in history[lead..].chunks_exact(WAKE_STEP) {
                self.audio[lead..].copy_from_slice(step);
                self.step();
                self.audio.copy_within(WAKE_STEP.., 0);
            }
        }

        /// Some(score) at the end of each 80 ms step.
        fn push(&mut self, frame: &Frame) -> Option<f32> {
            let at = MEL_INPUT - WAKE_STEP + self.fill;
            for (d, s) in self.audio[at..at + FRAME_SAMPLES].iter_mut().zip(frame) {
                *d = s * 32767.0;
            }
            self.fill += FRAME_SAMPLES;
            if self.fill < WAKE_STEP {
                return None;
            }
            self.fill = 0;
            let score = self.step();
            self.audio.copy_within(WAKE_STEP.., 0);
            Some(score)
        }

        fn step(&mut self) -> f32 {
            let input = Tensor::from_shape(&[1, MEL_INPUT], &self.audio[..]).unwrap();
            let out = self.mel.run(tvec!(input.into_tvalue())).unwrap();
            let mel = out[0].to_plain_array_view::<f32>().unwrap();
            let shift = MEL_PER_STEP * MEL_BINS;
            self.mel_win.copy_within(shift.., 0);
            let tail = MEL_WINDOW * MEL_BINS - shift;
            for (d, s) in self.mel_win[tail..].iter_mut().zip(mel.iter()) {
                *d = s / 10.0 + 2.0;
            }
            self.mel_frames += MEL_PER_STEP;
            if self.mel_frames < MEL_WINDOW {
                return 0.0;
            }
            let input =
                Tensor::from_shape(&[1, MEL_WINDOW, MEL_BINS, 1], &self.mel_win[..]).unwrap();
            let out = self.emb.run(tvec!(input.into_tvalue())).unwrap();
            let e = out[0].to_plain_array_view::<f32>().unwrap();
            self.emb_win.copy_within(EMB_DIM.., 0);
            for (d, s) in self.emb_win[(HEAD_WINDOW - 1) * EMB_DIM..]
                .iter_mut()
                .zip(e.iter())
            {
                *d = *s;
            }
            self.emb_count += 1;
            if self.emb_count < HEAD_WINDOW {
                return 0.0;
            }
            let input = Tensor::from_shape(&[1, HEAD_WINDOW, EMB_DIM], &self.emb_win[..]).unwrap();
            let out = self.head.run(tvec!(input.into_tvalue())).unwrap();
            let p = out[0].to_plain_array_view::<f32>().unwrap();
            p.iter().next().copied().unwrap()
        }
    }

    /// The mel, embedding and head model files.
    /// `None` (the test skips) when they are not fetched; see
    /// [`crate::models::for_test`].
    pub(crate) fn model_paths() -> Option<[std::path::PathBuf; 3]> {
        let [mel, emb, head] =
            ["oww-melspectrogram", "oww-embedding", "hey-player"].map(crate::models::for_test);
        Some([mel?, emb?, head?])
    }

    fn test_models() -> Option<WakeModels> {
        let [mel, emb, head] = model_paths()?;
        Some(WakeModels::load(&mel, &emb, &head).unwrap())
    }

    /// The bundled demo (real speech with "hey player" in it), then the same
    /// louder and clipped, then white noise: 16 kHz frames.
    pub(super) fn test_audio() -> Vec<Frame> {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
        let mut r = hound::WavReader::open(demo).unwrap();
        let x: Vec<f32> = r
            .samples::<i16>()
            .map(|s| s.unwrap() as f32 / 32768.0)
            .collect();
        let mut all = x.clone();
        all.extend(x.iter().map(|v| (v * 8.0).clamp(-1.0, 1.0)));
        let mut seed = 7u32;
        all.extend((0..48_000).map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.3
        }));
        all.chunks_exact(FRAME_SAMPLES)
            .map(|c| c.try_into().unwrap())
            .collect()
    }

    /// The streaming embedding gives the scores (and embeddings) of the whole
    /// model on whole windows, step for step, within 1e-4.
    #[test]
    fn streaming_embedding_matches_the_whole_model() {
        let Some([mel, emb, head]) = model_paths() else {
            return;
        };
        let mut reference = Reference::new(&mel, &emb, &head);
        let models = WakeModels::load(&mel, &emb, &head).unwrap();
        let mut det = WakeDetector::new(models, WakeConfig::default());
        // The same quiet before the stream as the detector's history (the
        // oldest step of its ring gives way to the stream's first).
        reference.prime(&det.audio[WAKE_STEP..HISTORY]);
        let (mut steps, mut scored, mut max_score) = (0, 0, 0.0f32);
        let (mut max_score_diff, mut max_emb_diff) = (0.0f32, 0.0f32);
        for f in &test_audio() {
            det.push(f).unwrap();
            let Some(want) = reference.push(f) else {
                continue;
            };
            steps += 1;
            let got = det.score();
            assert_eq!(det.emb_count, reference.emb_count, "step {steps}");
            max_score_diff = max_score_diff.max((got - want).abs());
            for (a, b) in det.emb.iter().zip(&reference.emb_win) {
                max_emb_diff = max_emb_diff.max((a - b).abs() / b.abs().max(1.0));
            }
            assert!(
                (got - want).abs() <= 1e-4,
                "step {steps}: streaming {got}, whole model {want}"
            );
            scored += (want > 0.0) as u32;
            max_score = max_score.max(want);
        }
        eprintln!(
            "{steps} steps, {scored} scored, max score {max_score}, \
             max |score diff| {max_score_diff:e}, max embedding diff {max_emb_diff:e}"
        );
        assert!(max_emb_diff <= 1e-4, "embeddings differ by {max_emb_diff}");
        assert!(scored > 400, "only {scored} steps scored");
        assert!(
            max_score > crate::config::DEFAULT_WAKE_THRESHOLD,
            "the demo's wake word never scored"
        );
    }

    /// Gated by the VAD, the detector runs its models only while the gate is
    /// open; each time it opens, it replays the last 2 s, so its scores while
    /// open are the always-on detector's (within the streaming embedding's
    /// 1e-4), from the very first step, and it finds the same wake words.
    #[test]
    fn gated_detector_scores_like_the_always_on_one() {
        let Some(models) = test_models() else {
            return;
        };
        let mut always = WakeDetector::new(models.clone(), WakeConfig::default());
        let mut gated = WakeDetector::new(models, WakeConfig::default());
        let audio = test_audio();
        // Always in the demo's wake word (its first 8 s), then speech for
        // 1.5 s in every 6 s, with a blip of speech in every other gap: gaps
        // of 9 and 20 steps (run through) and of 35 (start afresh).
        let speech = |i: usize| {
            i < 800
                || (i / 150).is_multiple_of(4)
                || ((i / 600).is_multiple_of(2) && i % 600 == 340)
        };
        let (mut open, mut shut, mut max_diff) = (0, 0, 0.0f32);
        let (mut run_through, mut afresh) = (0, 0);
        let (mut fired_always, mut fired_gated) = (Vec::new(), Vec::new());
        for (i, f) in audio.iter().enumerate() {
            let was_asleep = gated.asleep();
            let skipped = gated.skipped;
            let before = gated.steps;
            fired_always.extend(always.push(f).unwrap().map(|d| d.t_ms));
            fired_gated.extend(gated.push_gated(f, speech(i)).unwrap().map(|d| d.t_ms));
            if gated.steps == before {
                continue;
            }
            if gated.asleep() {
                shut += 1;
                assert_eq!(gated.score(), 0.0, "a shut gate scores 0");
                continue;
            }
            open += 1;
            if was_asleep && skipped > 0 {
                if skipped <= STREAM_THROUGH_STEPS {
                    run_through += 1;
                } else {
                    afresh += 1;
                }
            }
            let d = (gated.score() - always.score()).abs();
            max_diff = max_diff.max(d);
            assert!(
                d <= 1e-4,
                "step {}: gated {} vs always-on {} (first step after opening: {was_asleep})",
                gated.steps,
                gated.score(),
                always.score()
            );
        }
        eprintln!(
            "{open} steps open, {shut} shut, woke {run_through} times running through \
             and {afresh} times afresh, max diff {max_diff:e}"
        );
        assert!(run_through >= 2 && afresh >= 2 && shut >= 100 && open >= 100);
        assert!(!fired_always.is_empty());
        assert_eq!(fired_gated, fired_always);
    }

    /// With no speech at all the models never run: the gate stays shut.
    #[test]
    fn gated_detector_sleeps_through_silence() {
        let Some(models) = test_models() else {
            return;
        };
        let mut d = WakeDetector::new(models, WakeConfig::default());
        for f in &test_audio() {
            assert!(d.push_gated(f, false).unwrap().is_none());
        }
        assert!(d.steps > 400);
        assert!(d.asleep() && d.head_state.is_none(), "the models ran");
    }
}
