//! The feature vector the learned head reads: exactly what the zero-shot
//! stage computes, in a fixed order. `heyplayer context --features` prints it,
//! so `heyplayer_tools.context.train_head` trains on what Rust computes.
//!
//! Order ([`len`] values):
//! - 5 physical, 3 social and 4 emotion mapped scores (the mapping's label
//!   scores after the absence rule, see models/context/mapping.toml; emotion 0
//!   without speech);
//! - 4 flags and fractions: speech fraction, pre-roll speech fraction,
//!   whole-clip fallback (0/1), enough speech for emotion (0/1);
//! - 6 prosody values, scaled to about [0, 1]: voiced ratio, median pitch / 500 Hz,
//!   pitch range / 24 st, (level + 60 dB) / 60, level above background / 40 dB,
//!   zero-shot arousal (0.5 without speech);
//! - 521 YAMNet class scores on the background (non-speech part, or the whole
//!   clip in the fallback), as `ln(max(p, FLOOR))`;
//! - 521 YAMNet class scores on the speech part, the same way (`ln FLOOR`
//!   without speech);
//! - the 1,024 values of YAMNet's mean embedding on the background (the
//!   pooled layer its classifier reads, averaged over the same patches as the
//!   background scores). A sound-event embedding of the surroundings, kept
//!   only for this vector: none is computed for the user's speech part, and
//!   YAMNet is no speaker model (see models/context/MODEL_CARD.md).
//!
//! With CED-tiny as the backbone read 527 classes and its 192-value pooled
//! embedding for YAMNet's 521 and 1,024.

use super::prosody::Prosody;
#[cfg(test)]
use super::yamnet::{EMBEDDING, NUM_CLASSES};

/// Mapped label scores at the start of the vector.
pub const MAPPED: usize = 5 + 3 + 4;
/// Flags and fractions.
pub const FLAGS: usize = 4;
/// Prosody values.
pub const PROSODY: usize = 6;
/// Length of the vector for a backbone of `classes` classes and an
/// embedding of `embedding` values (YAMNet: 2,088; CED-tiny: 1,268).
pub const fn len(classes: usize, embedding: usize) -> usize {
    MAPPED + FLAGS + PROSODY + 2 * classes + embedding
}
/// Floor of a class score before the logarithm.
pub const FLOOR: f32 = 1e-4;

/// The parts of one clip's vector.
pub struct Parts<'a> {
    /// Physical mapped scores.
    pub physical: &'a [f32],
    /// Social mapped scores.
    pub social: &'a [f32],
    /// Emotion mapped scores (`None` without speech).
    pub emotion: Option<&'a [f32]>,
    /// Share of the clip marked speech.
    pub speech_fraction: f32,
    /// Share of the pre-roll marked speech.
    pub preroll_speech_fraction: f32,
    /// Physical and social judged on the whole clip.
    pub fallback: bool,
    /// Prosody and zero-shot arousal (`None` without speech).
    pub prosody: Option<(&'a Prosody, f32)>,
    /// Background class scores.
    pub background: &'a [f32],
    /// Speech class scores (`None` without speech).
    pub speech: Option<&'a [f32]>,
    /// Background embedding.
    pub background_embedding: &'a [f32],
}

/// Writes the vector into `out` (cleared first; capacity [`len`] is enough).
pub fn build(p: &Parts<'_>, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(p.physical);
    out.extend_from_slice(p.social);
    match p.emotion {
        Some(e) => out.extend_from_slice(e),
        None => out.extend_from_slice(&[0.0; 4]),
    }
    out.push(p.speech_fraction);
    out.push(p.preroll_speech_fraction);
    out.push(if p.fallback { 1.0 } else { 0.0 });
    out.push(if p.speech.is_some() { 1.0 } else { 0.0 });
    match p.prosody {
        Some((pr, arousal)) => out.extend_from_slice(&[
            pr.voiced_ratio,
            pr.pitch_median_hz / 500.0,
            pr.pitch_range_st / 24.0,
            (pr.level_dbfs + 60.0) / 60.0,
            pr.level_above_background_db / 40.0,
            arousal,
        ]),
        None => out.extend_from_slice(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.5]),
    }
    out.extend(p.background.iter().map(|&x| x.max(FLOOR).ln()));
    match p.speech {
        Some(s) => out.extend(s.iter().map(|&x| x.max(FLOOR).ln())),
        None => out.extend(std::iter::repeat_n(FLOOR.ln(), p.background.len())),
    }
    out.extend_from_slice(p.background_embedding);
    debug_assert_eq!(
        out.len(),
        len(p.background.len(), p.background_embedding.len())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURES: usize = len(NUM_CLASSES, EMBEDDING);

    #[test]
    fn the_vector_has_the_documented_layout() {
        let mut bg = [0.0f32; NUM_CLASSES];
        bg[3] = 0.5;
        let mut emb = [0.0f32; EMBEDDING];
        emb[EMBEDDING - 1] = 0.75;
        let parts = Parts {
            physical: &[0.1, 0.2, 0.3, 0.4, 0.5],
            social: &[0.6, 0.7, 0.8],
            emotion: None,
            speech_fraction: 0.25,
            preroll_speech_fraction: 0.5,
            fallback: true,
            prosody: None,
            background: &bg,
            speech: None,
            background_embedding: &emb,
        };
        let mut v = Vec::new();
        build(&parts, &mut v);
        assert_eq!(v.len(), FEATURES);
        assert_eq!(&v[..8], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
        assert_eq!(&v[8..12], &[0.0; 4]);
        assert_eq!(&v[12..16], &[0.25, 0.5, 1.0, 0.0]);
        assert_eq!(v[21], 0.5);
        let b = MAPPED + FLAGS + PROSODY;
        assert!((v[b + 3] - 0.5f32.ln()).abs() < 1e-6);
        assert!((v[b] - FLOOR.ln()).abs() < 1e-6);
        assert!((v[b + 2 * NUM_CLASSES - 1] - FLOOR.ln()).abs() < 1e-6);
        assert_eq!(&v[b + 2 * NUM_CLASSES..], &emb[..]);
        assert_eq!(v[FEATURES - 1], 0.75);
    }
}
