//! The resampler end to end: frequency and length preserved, chunking irrelevant.

use heyplayer::audio::{FrameResampler, FRAME_SAMPLES};
use realfft::RealFftPlanner;

use crate::common::sine;

fn resample(input: &[f32], rate: u32, chunk: usize) -> Vec<f32> {
    let mut r = FrameResampler::new(rate).unwrap();
    let mut out = Vec::new();
    for c in input.chunks(chunk) {
        r.push(c, |f| out.extend_from_slice(f)).unwrap();
    }
    r.finish(|f| out.extend_from_slice(f)).unwrap();
    out
}

/// Frequency (Hz) of the strongest FFT bin of 16 kHz audio, with parabolic
/// interpolation between bins.
fn peak_hz(x: &[f32]) -> f32 {
    let n = x.len();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n);
    // Hann window against leakage.
    let mut buf: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, s)| s * (0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos()))
        .collect();
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).unwrap();
    let mags: Vec<f32> = spec.iter().map(|c| c.norm()).collect();
    let k = (1..mags.len() - 1)
        .max_by(|&a, &b| mags[a].total_cmp(&mags[b]))
        .unwrap();
    let (a, b, c) = (mags[k - 1].ln(), mags[k].ln(), mags[k + 1].ln());
    let delta = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f32 + delta) * 16_000.0 / n as f32
}

#[test]
fn sines_keep_their_frequency_and_length() {
    for rate in [44_100u32, 48_000] {
        for freq in [440.0f32, 1000.0, 3150.0, 6000.0] {
            let n = rate as usize * 2;
            let out = resample(&sine(n, rate, freq, 0.5), rate, 1024);
            let want_len = (n as u64 * 16_000).div_ceil(rate as u64) as usize;
            assert_eq!(out.len(), want_len.div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES);
            // Measure away from the edges.
            let mid = &out[4000..28_000];
            let got = peak_hz(mid);
            assert!(
                (got - freq).abs() < 2.0,
                "{rate} Hz input, {freq} Hz sine: peak at {got} Hz"
            );
            // Amplitude is kept (pass band), within 0.5 dB.
            let rms = (mid.iter().map(|s| s * s).sum::<f32>() / mid.len() as f32).sqrt();
            let want_rms = 0.5 / 2f32.sqrt();
            assert!(
                (20.0 * (rms / want_rms).log10()).abs() < 0.5,
                "{rate}/{freq}: rms {rms}"
            );
        }
    }
}

#[test]
fn content_above_8k_is_removed() {
    // A 12 kHz tone at 48 kHz cannot exist at 16 kHz: it must not alias in.
    let out = resample(&sine(96_000, 48_000, 12_000.0, 0.5), 48_000, 960);
    let mid = &out[4000..28_000];
    let rms = (mid.iter().map(|s| s * s).sum::<f32>() / mid.len() as f32).sqrt();
    assert!(20.0 * (rms / 0.3536).log10() < -50.0, "alias at rms {rms}");
}

#[test]
fn chunked_input_gives_the_whole_input_output() {
    for rate in [44_100u32, 48_000, 8_000] {
        let x: Vec<f32> = sine(rate as usize * 3, rate, 523.0, 0.4)
            .iter()
            .zip(crate::common::white(rate as usize * 3, 0.1, 5))
            .map(|(a, b)| a + b)
            .collect();
        let whole = resample(&x, rate, x.len());
        for chunk in [1usize, 7, 160, 441, 1000, 4801] {
            let got = resample(&x, rate, chunk);
            assert_eq!(got.len(), whole.len(), "{rate} Hz in chunks of {chunk}");
            let worst = whole
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-5,
                "{rate} Hz in chunks of {chunk}: max diff {worst}"
            );
        }
    }
}
