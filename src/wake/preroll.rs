//! The pre-roll: the last seconds of audio, in memory only, handed on with a
//! wake so that Whisper hears the phrase too.

use crate::audio::{Frame, FRAME_SAMPLES};

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

#[cfg(test)]
mod tests {
    use super::*;

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
