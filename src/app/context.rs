//! `heyplayer context FILE.wav`: one file taken as one gated clip.
//!
//! The file is read whole (any WAV heyplayer reads, resampled to 16 kHz mono
//! by the same code as `listen`), its speech mask comes from the same per-frame
//! VAD decision as `listen` ([`FrameVad`]: webrtc-vad, noise floor and Silero
//! agreeing), and its first `preroll_ms` count as pre-roll.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::audio::wav::WavSource;
use crate::audio::{Frame, FRAME_SAMPLES};
use crate::context::{ContextLabels, ContextStage};
use crate::vad::{FrameVad, VadError};

/// What `heyplayer context` reports for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileContext {
    /// The file.
    pub file: String,
    /// Its length, ms.
    pub audio_ms: u64,
    /// The verdicts.
    #[serde(flatten)]
    pub labels: ContextLabels,
    /// Wall-clock time of the classification (VAD excluded), ms; not deterministic.
    pub elapsed_ms: u64,
    /// The head's feature vector (see [`crate::context::features`]), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<f32>>,
}

/// The VAD's per-10 ms speech decisions for `samples` (a trailing partial frame is left out).
pub fn speech_mask(samples: &[f32], vad: &mut FrameVad) -> Result<Vec<bool>, VadError> {
    let mut mask = Vec::with_capacity(samples.len() / FRAME_SAMPLES);
    let mut frame: Frame = [0.0; FRAME_SAMPLES];
    for chunk in samples.chunks_exact(FRAME_SAMPLES) {
        frame.copy_from_slice(chunk);
        mask.push(vad.push(&frame)?.speech);
    }
    Ok(mask)
}

/// Classifies one WAV file. `vad` should be fresh (or only used for files before).
pub fn classify_file(
    path: &Path,
    stage: &mut ContextStage,
    vad: &mut FrameVad,
    preroll_ms: u64,
) -> Result<FileContext, crate::Error> {
    let samples = crate::audio::read_all(WavSource::open(path, false)?)?;
    let mask = speech_mask(&samples, vad)?;
    let started = Instant::now();
    let labels = stage.classify_with_preroll(&samples, &mask, preroll_ms)?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(FileContext {
        file: path.display().to_string(),
        audio_ms: crate::audio::samples_to_ms(samples.len() as u64),
        labels,
        elapsed_ms,
        features: None,
    })
}

/// One line for people: `FILE: physical street 0.62 (Traffic noise… 0.61, …) | …`.
pub fn to_text(r: &FileContext) -> String {
    format!("{}: {}", r.file, r.labels.summary())
}
