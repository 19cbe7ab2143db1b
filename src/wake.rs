//! "Hey, player": the streaming wake-word detector (first stage).
//!
//! Features are openWakeWord's (Apache-2.0), run in tract-onnx:
//! every 80 ms ([`WAKE_STEP`] samples) the mel model turns the latest
//! [`MEL_INPUT`] samples (in int16 range) into 8 mel frames (`x/10 + 2`); the
//! embedding model turns the latest 76 mel frames into one 96-d embedding; our
//! own head (`models/wake/hey_player.onnx`, trained by `models/wake/`) scores
//! the latest 16 embeddings (1.28 s). The detector fires after `patience`
//! consecutive steps at or above the threshold, then stays quiet for the
//! debounce time.
//!
//! Every buffer is sized at construction; [`WakeDetector::push`] allocates
//! nothing of its own (tract allocates its tensors, once per 80 ms step).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::audio::{Frame, FRAME_SAMPLES};

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

/// Settings of the first stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WakeConfig {
    /// Score at or above which a step counts.
    pub threshold: f32,
    /// Consecutive counting steps needed to fire.
    pub patience: u32,
    /// Quiet time after a detection, ms.
    pub debounce_ms: u64,
}

/// Default first-stage threshold (chosen on validation data, see models/wake/MODEL_CARD.md).
pub const DEFAULT_WAKE_THRESHOLD: f32 = 0.5;
/// Default patience, in 80 ms steps.
pub const DEFAULT_WAKE_PATIENCE: u32 = 2;
/// Default debounce, ms.
pub const DEFAULT_WAKE_DEBOUNCE_MS: u64 = 1500;

impl Default for WakeConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_WAKE_THRESHOLD,
            patience: DEFAULT_WAKE_PATIENCE,
            debounce_ms: DEFAULT_WAKE_DEBOUNCE_MS,
        }
    }
}

/// A detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Audio clock at the end of the step that fired, ms.
    pub t_ms: u64,
    /// Highest score in the run of steps that fired.
    pub score: f32,
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
    mel: Plan,
    emb: Plan,
    head: Plan,
}

impl WakeModels {
    /// Loads the mel, embedding and head models.
    pub fn load(mel: &Path, emb: &Path, head: &Path) -> Result<Self, WakeError> {
        Ok(Self {
            mel: load(mel, &[1, MEL_INPUT])?,
            emb: load(emb, &[1, MEL_WINDOW, MEL_BINS, 1])?,
            head: load(head, &[1, HEAD_WINDOW, EMB_DIM])?,
        })
    }
}

/// The streaming detector.
pub struct WakeDetector {
    models: WakeModels,
    cfg: WakeConfig,
    /// Latest MEL_INPUT samples, int16 range; the new step fills the tail.
    audio: Box<[f32; MEL_INPUT]>,
    fill: usize,
    mel: Box<[f32; MEL_WINDOW * MEL_BINS]>,
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
        Self {
            models,
            cfg,
            audio: Box::new([0.0; MEL_INPUT]),
            fill: 0,
            mel: Box::new([0.0; MEL_WINDOW * MEL_BINS]),
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
    pub fn push(&mut self, frame: &Frame) -> Result<Option<Detection>, WakeError> {
        let at = MEL_INPUT - WAKE_STEP + self.fill;
        for (d, s) in self.audio[at..at + FRAME_SAMPLES].iter_mut().zip(frame) {
            *d = s * 32767.0;
        }
        self.fill += FRAME_SAMPLES;
        self.samples += FRAME_SAMPLES as u64;
        if self.fill < WAKE_STEP {
            return Ok(None);
        }
        self.fill = 0;
        let score = self.step()?;
        self.audio.copy_within(WAKE_STEP.., 0);
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

    /// One 80 ms step: mel, embedding, head. Returns the head's score (0
    /// until the windows are full).
    fn step(&mut self) -> Result<f32, WakeError> {
        let input = Tensor::from_shape(&[1, MEL_INPUT], &self.audio[..]).map_err(run_err)?;
        let out = self
            .models
            .mel
            .run(tvec!(input.into_tvalue()))
            .map_err(run_err)?;
        let mel = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
        if mel.len() != MEL_PER_STEP * MEL_BINS {
            return Err(WakeError::Run(format!(
                "mel model gave {} values, expected {}",
                mel.len(),
                MEL_PER_STEP * MEL_BINS
            )));
        }
        let shift = MEL_PER_STEP * MEL_BINS;
        self.mel.copy_within(shift.., 0);
        let tail = MEL_WINDOW * MEL_BINS - shift;
        for (d, s) in self.mel[tail..].iter_mut().zip(mel.iter()) {
            *d = s / 10.0 + 2.0;
        }
        self.mel_frames += MEL_PER_STEP;
        if self.mel_frames < MEL_WINDOW {
            return Ok(0.0);
        }
        let input =
            Tensor::from_shape(&[1, MEL_WINDOW, MEL_BINS, 1], &self.mel[..]).map_err(run_err)?;
        let out = self
            .models
            .emb
            .run(tvec!(input.into_tvalue()))
            .map_err(run_err)?;
        let e = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
        if e.len() != EMB_DIM {
            return Err(WakeError::Run(format!("embedding has {} values", e.len())));
        }
        self.emb.copy_within(EMB_DIM.., 0);
        for (d, s) in self.emb[(HEAD_WINDOW - 1) * EMB_DIM..]
            .iter_mut()
            .zip(e.iter())
        {
            *d = *s;
        }
        self.emb_count += 1;
        if self.emb_count < HEAD_WINDOW {
            return Ok(0.0);
        }
        let input =
            Tensor::from_shape(&[1, HEAD_WINDOW, EMB_DIM], &self.emb[..]).map_err(run_err)?;
        let out = self
            .models
            .head
            .run(tvec!(input.into_tvalue()))
            .map_err(run_err)?;
        let p = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
        p.iter()
            .next()
            .copied()
            .ok_or_else(|| WakeError::Run("empty head output".into()))
    }
}

/// The most audio kept before a detection, in memory only (2 s).
pub const PREROLL_MAX_SAMPLES: usize = 2 * crate::audio::SAMPLE_RATE as usize;

/// The last [`PREROLL_MAX_SAMPLES`] of audio, overwritten continuously and
/// handed on only after a wake. Never written anywhere.
pub struct PreRoll {
    ring: Box<[f32]>,
    /// Next write position.
    at: usize,
    /// Samples held (≤ capacity).
    len: usize,
}

impl PreRoll {
    /// A ring holding `ms` of audio (at most 2 s).
    pub fn new(ms: u64) -> Self {
        let n =
            ((ms as usize) * crate::audio::SAMPLE_RATE as usize / 1000).min(PREROLL_MAX_SAMPLES);
        Self {
            ring: vec![0.0; n.max(FRAME_SAMPLES)].into_boxed_slice(),
            at: 0,
            len: 0,
        }
    }

    /// Adds a frame, overwriting the oldest audio.
    pub fn push(&mut self, frame: &Frame) {
        let cap = self.ring.len();
        for &s in frame {
            self.ring[self.at] = s;
            self.at = (self.at + 1) % cap;
        }
        self.len = (self.len + FRAME_SAMPLES).min(cap);
    }

    /// How many frames it holds when full.
    pub fn capacity_frames(&self) -> usize {
        self.ring.len() / FRAME_SAMPLES
    }

    /// Forgets the held audio.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends the held audio, oldest first, to `out`, and forgets it.
    pub fn drain_into(&mut self, out: &mut Vec<f32>) {
        let cap = self.ring.len();
        let start = (self.at + cap - self.len) % cap;
        for k in 0..self.len {
            out.push(self.ring[(start + k) % cap]);
        }
        self.len = 0;
    }
}

/// How Whisper writes a spoken "hey" that is more than one letter off.
const HEY_HEARD_AS: &[&str] = &["a", "eh", "hi"];

/// Whether `heard` (a transcript) starts with the wake `phrase`. The first
/// word may be one letter off ("hay player") or, for "hey", one of
/// [`HEY_HEARD_AS`] ("a player"); the others must be exact, or
/// plural ("hey players"), so near-misses ("hey layer", "hey prayer", "okay
/// player") do not pass. Whisper may put up to two words before the phrase.
/// Returns the rest of the transcript (the command) when it matches.
pub fn match_phrase(heard: &str, phrase: &str) -> Option<String> {
    let heard = crate::intent::normalise(heard);
    let phrase = crate::intent::normalise(phrase);
    let want: Vec<&str> = phrase.split_whitespace().collect();
    let words: Vec<&str> = heard.split_whitespace().collect();
    let (first, rest) = want.split_first()?;
    for skip in 0..=2usize {
        let Some(cand) = words.get(skip..skip + want.len()) else {
            break;
        };
        let first_ok = char_distance(cand[0], first) <= 1
            || (*first == "hey" && HEY_HEARD_AS.contains(&cand[0]));
        let rest_ok = cand[1..]
            .iter()
            .zip(rest)
            .all(|(c, w)| c == w || c.strip_suffix('s') == Some(w));
        if first_ok && rest_ok {
            return Some(words[skip + want.len()..].join(" "));
        }
    }
    None
}

/// Levenshtein distance between two words, in characters.
fn char_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    crate::eval::edit_distance(&a, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_matching_is_fuzzy_but_not_loose() {
        assert_eq!(
            match_phrase("Hey player, play some jazz.", "hey player").as_deref(),
            Some("play some jazz")
        );
        assert_eq!(
            match_phrase("Hey, player!", "hey player").as_deref(),
            Some("")
        );
        assert_eq!(
            match_phrase("Hey players, skip.", "hey player").as_deref(),
            Some("skip")
        );
        assert_eq!(
            match_phrase("Hay player, pause.", "hey player").as_deref(),
            Some("pause")
        );
        assert_eq!(match_phrase("Hey layer", "hey player"), None);
        assert_eq!(match_phrase("Hey prayer, play", "hey player"), None);
        assert_eq!(match_phrase("Okay player", "hey player"), None);
        assert_eq!(
            match_phrase("Okay, hey player stop", "hey player").as_deref(),
            Some("stop")
        );
        assert_eq!(
            match_phrase("Hey computer, next song", "hey computer").as_deref(),
            Some("next song")
        );
        assert_eq!(match_phrase("Hey there, how are you?", "hey player"), None);
        assert_eq!(match_phrase("Play some jazz", "hey player"), None);
        assert_eq!(match_phrase("Hey Siri", "hey player"), None);
        assert_eq!(match_phrase("Hey Jarvis", "hey player"), None);
        assert_eq!(match_phrase("", "hey player"), None);
    }

    #[test]
    fn preroll_keeps_the_latest_audio_in_order() {
        let mut p = PreRoll::new(30);
        for k in 0..5 {
            p.push(&[k as f32; FRAME_SAMPLES]);
        }
        let mut out = Vec::new();
        p.drain_into(&mut out);
        assert_eq!(out.len(), 3 * FRAME_SAMPLES);
        assert_eq!(out[0], 2.0);
        assert_eq!(out[out.len() - 1], 4.0);
        out.clear();
        p.drain_into(&mut out);
        assert!(out.is_empty());
        assert_eq!(PreRoll::new(60_000).ring.len(), PREROLL_MAX_SAMPLES);
    }
}
