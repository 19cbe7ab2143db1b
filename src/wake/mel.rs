//! openWakeWord's mel front end (`melspectrogram.onnx`), computed with an FFT.
//!
//! The ONNX model computes its STFT as two 1-D convolutions (257 cosine and
//! 257 sine filters of 512 taps, stride 160): 2.1 M multiply-adds for the 8
//! frames of an 80 ms step, the costliest part of the step after the
//! embedding. The filters are a windowed DFT, so a 512-point real FFT of the
//! windowed frame gives the same spectrum for a fraction of the work. The
//! window and the mel filter bank are read from the model file itself; the
//! rest of the graph is restated here:
//!
//! `power = re^2 + im^2`, `mel = power . melW` (257 x 32),
//! `db = 10 * ln(max(mel, 1e-10)) / ln 10`, then `max(db, max(db) - 80)` with
//! the maximum over the 8 frames of the call (top_db = 80 per call, as the
//! model does it).
//!
//! The results equal the model's up to float rounding (tested against tract
//! running the model, and through the detector's scores).

use std::path::Path;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{WakeError, MEL_BINS, MEL_INPUT, MEL_PER_STEP};

/// FFT size (the convolutions' kernel).
pub const N_FFT: usize = 512;
/// Samples between frames (the convolutions' stride).
pub const HOP: usize = 160;
const N_BINS: usize = N_FFT / 2 + 1;
/// Floor of the mel power before the log (the model's first Clip).
const POWER_FLOOR: f32 = 1e-10;
/// Dynamic range kept below the loudest value of a call, dB.
const TOP_DB: f32 = 80.0;
/// The model's divisor turning `10 ln x` into `10 log10 x` (its constant
/// 2.3025851 is this f32).
const LN_10: f32 = std::f32::consts::LN_10;

const REAL: &str = "0.stft.conv_real.weight";
const IMAG: &str = "0.stft.conv_imag.weight";
const MEL_W: &str = "1.melW";

/// The window and filter bank, loaded once and shared.
pub struct MelBank {
    window: Box<[f32]>,
    /// `[N_BINS][MEL_BINS]`, row-major.
    mel_w: Box<[f32]>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for MelBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelBank").finish_non_exhaustive()
    }
}

/// A detector's working buffers (allocated once).
pub struct MelScratch {
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl MelBank {
    /// Reads the window and the filter bank from openWakeWord's
    /// `melspectrogram.onnx`, and checks that its convolutions are the
    /// windowed DFT this module computes.
    pub fn load(path: &Path) -> Result<Self, WakeError> {
        let bad = |detail: String| WakeError::Load {
            path: path.display().to_string(),
            detail,
        };
        let file = crate::nn::modelfile::OnnxFile::open(path).map_err(|e| bad(e.into()))?;
        let graph = file.graph();
        let values = |name: &str, dims: &[usize]| -> Result<Vec<f32>, WakeError> {
            let t = file
                .tensor(name)
                .map_err(|e| bad(format!("{e}: not openWakeWord's mel model")))?;
            crate::nn::modelfile::floats(name, &t, dims).map_err(|e| bad(e.into()))
        };
        let real = values(REAL, &[N_BINS, 1, N_FFT])?;
        let imag = values(IMAG, &[N_BINS, 1, N_FFT])?;
        let mel_w = values(MEL_W, &[N_BINS, MEL_BINS])?;
        for node in graph.node.iter().filter(|n| n.op_type == "Conv") {
            let strides = node.attribute.iter().find(|a| a.name == "strides");
            if strides.map(|a| a.ints.as_slice()) != Some(&[HOP as i64][..]) {
                return Err(bad(format!("{} does not have stride {HOP}", node.name)));
            }
        }
        // Filter k is window[n] * (cos, -sin)(2 pi k n / N_FFT): check it.
        let window = real[..N_FFT].to_vec();
        let worst = crate::nn::modelfile::dft_mismatch(&real, &imag, N_FFT);
        if worst > 1e-5 {
            return Err(bad(format!(
                "its STFT filters are not a windowed DFT (off by {worst:e})"
            )));
        }
        Ok(Self {
            window: window.into(),
            mel_w: mel_w.into(),
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT),
        })
    }

    /// Buffers for [`Self::compute`].
    pub fn scratch(&self) -> MelScratch {
        MelScratch {
            frame: self.fft.make_input_vec(),
            spectrum: self.fft.make_output_vec(),
            fft: self.fft.make_scratch_vec(),
            power: vec![0.0; N_BINS],
        }
    }

    /// The model's output for `samples` (int16 range): [`MEL_PER_STEP`]
    /// frames of [`MEL_BINS`] values in dB, row-major, into `out`.
    pub fn compute(
        &self,
        samples: &[f32],
        s: &mut MelScratch,
        out: &mut [f32; MEL_PER_STEP * MEL_BINS],
    ) -> Result<(), WakeError> {
        if samples.len() != MEL_INPUT {
            return Err(WakeError::Run(format!(
                "the mel front end takes {MEL_INPUT} samples, not {}",
                samples.len()
            )));
        }
        for (f, row) in out.chunks_exact_mut(MEL_BINS).enumerate() {
            let x = &samples[f * HOP..f * HOP + N_FFT];
            for ((d, x), w) in s.frame.iter_mut().zip(x).zip(self.window.iter()) {
                *d = x * w;
            }
            self.fft
                .process_with_scratch(&mut s.frame, &mut s.spectrum, &mut s.fft)
                .map_err(|e| WakeError::Run(format!("FFT: {e}")))?;
            for (p, c) in s.power.iter_mut().zip(&s.spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
            row.fill(0.0);
            for (p, w) in s.power.iter().zip(self.mel_w.chunks_exact(MEL_BINS)) {
                for (r, w) in row.iter_mut().zip(w) {
                    *r += p * w;
                }
            }
            for r in row.iter_mut() {
                *r = r.max(POWER_FLOOR).ln() * 10.0 / LN_10;
            }
        }
        let floor = out.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v)) - TOP_DB;
        for v in out.iter_mut() {
            *v = v.max(floor);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::*;

    /// The FFT front end gives the model's values (tract running
    /// melspectrogram.onnx) on speech, loud clipped speech, noise and
    /// silence, within 0.01 dB.
    #[test]
    fn fft_mel_matches_the_onnx_model() {
        let Some([mel_path, _, _]) = super::super::tests::model_paths() else {
            return;
        };
        let bank = MelBank::load(&mel_path).unwrap();
        let plan = super::super::load(&mel_path, &[1, MEL_INPUT]).unwrap();
        let mut scratch = bank.scratch();
        let audio: Vec<f32> = super::super::tests::test_audio()
            .iter()
            .flatten()
            .map(|s| s * 32767.0)
            .chain(std::iter::repeat_n(0.0, 2 * MEL_INPUT))
            .collect();
        let mut out = [0.0f32; MEL_PER_STEP * MEL_BINS];
        let (mut worst, mut calls) = (0.0f32, 0);
        for x in audio.windows(MEL_INPUT).step_by(super::super::WAKE_STEP) {
            bank.compute(x, &mut scratch, &mut out).unwrap();
            let input = Tensor::from_shape(&[1, MEL_INPUT], x).unwrap();
            let want = plan.run(tvec!(input.into_tvalue())).unwrap();
            let want = want[0].to_plain_array_view::<f32>().unwrap();
            assert_eq!(want.len(), out.len());
            for (a, b) in out.iter().zip(want.iter()) {
                worst = worst.max((a - b).abs());
            }
            calls += 1;
        }
        eprintln!("{calls} calls, worst |diff| {worst:e} dB");
        assert!(calls > 400, "{calls} calls");
        assert!(worst <= 0.01, "worst |diff| {worst} dB");
    }

    #[test]
    fn a_wrong_length_is_an_error() {
        let Some([mel_path, _, _]) = super::super::tests::model_paths() else {
            return;
        };
        let bank = MelBank::load(&mel_path).unwrap();
        let mut out = [0.0f32; MEL_PER_STEP * MEL_BINS];
        assert!(bank
            .compute(&[0.0; 100], &mut bank.scratch(), &mut out)
            .is_err());
    }

    #[test]
    fn another_model_is_refused() {
        let Some([_, emb, _]) = super::super::tests::model_paths() else {
            return;
        };
        let err = MelBank::load(&emb).unwrap_err().to_string();
        assert!(err.contains("not openWakeWord's mel model"), "{err}");
    }
}
