//! Prosodic features of the user's speech, for arousal: pitch level and range
//! (normalised autocorrelation), loudness, and voiced ratio.
//!
//! Nothing here describes who speaks: the features are summaries of one
//! clip (no per-speaker model, no embedding); the pitch level is reported but
//! not used for arousal (see [`prosodic_arousal`]), and never to guess gender
//! or age.

use serde::Serialize;

use crate::audio::FRAME_SAMPLES;

/// Analysis window for pitch, samples (32 ms).
pub const PITCH_WINDOW: usize = 512;
/// Lowest pitch searched, Hz.
pub const PITCH_MIN_HZ: f32 = 70.0;
/// Highest pitch searched, Hz.
pub const PITCH_MAX_HZ: f32 = 400.0;
/// Normalised autocorrelation at or above which a window counts as voiced.
pub const VOICING_THRESHOLD: f32 = 0.55;
/// A peak within this share of the highest autocorrelation wins if its lag is shorter.
pub const OCTAVE_TOLERANCE: f32 = 0.9;
/// Windows quieter than this (dBFS) are not analysed for pitch.
pub const PITCH_MIN_LEVEL_DBFS: f32 = -55.0;

const SR: f32 = crate::audio::SAMPLE_RATE as f32;
const MIN_LAG: usize = (SR / PITCH_MAX_HZ) as usize;
const MAX_LAG: usize = (SR / PITCH_MIN_HZ) as usize + 1;

/// Prosody of the speech frames of one clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Prosody {
    /// Speech frames analysed.
    pub frames: usize,
    /// Share of them with a clear pitch.
    pub voiced_ratio: f32,
    /// Median pitch of the voiced frames, Hz (0 when none).
    pub pitch_median_hz: f32,
    /// Pitch range: 90th minus 10th percentile, semitones.
    pub pitch_range_st: f32,
    /// Mean level of the speech frames, dBFS.
    pub level_dbfs: f32,
    /// Level of the speech above the clip's non-speech level, dB (0 when
    /// there is no non-speech to compare with).
    pub level_above_background_db: f32,
}

/// Computes [`Prosody`], with buffers kept between clips.
#[derive(Debug, Default)]
pub struct ProsodyAnalyser {
    pitches: Vec<f32>,
    levels: Vec<f32>,
    background: Vec<f32>,
}

fn dbfs(x: &[f32]) -> f32 {
    let e: f32 = x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32;
    10.0 * (e + 1e-12).log10()
}

/// Dot product in eight independent lanes (which the compiler vectorises;
/// a single running sum cannot be reordered).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The normalised autocorrelation of `window` (longer than `MAX_LAG + 1`)
/// at the lags `MIN_LAG..=MAX_LAG` (0 elsewhere).
fn autocorrelation(window: &[f32]) -> [f32; MAX_LAG + 2] {
    let n = window.len();
    let mut r = [0.0f32; MAX_LAG + 2];
    // The energies of the two overlapping spans, updated as the lag grows
    // (in f64, so that the running subtraction does not drift); only the
    // cross product is summed per lag.
    let sq = |i: usize| f64::from(window[i]) * f64::from(window[i]);
    let mut xx: f64 = (0..n - MIN_LAG).map(sq).sum();
    let mut yy: f64 = (MIN_LAG..n).map(sq).sum();
    for lag in MIN_LAG..=MAX_LAG {
        let xy = dot(&window[..n - lag], &window[lag..]);
        r[lag] = xy / ((xx * yy).sqrt() as f32).max(1e-12);
        xx -= sq(n - lag - 1);
        yy -= sq(lag);
    }
    r
}

/// Pitch of one window by normalised autocorrelation, with its clarity.
pub fn pitch(window: &[f32]) -> Option<(f32, f32)> {
    let n = window.len();
    if n <= MAX_LAG + 1 {
        return None;
    }
    let r = autocorrelation(window);
    let max = r.iter().cloned().fold(0.0f32, f32::max);
    // The shortest lag that is a local peak close to the highest one: a
    // periodic signal peaks again at every multiple of its period, and those
    // later peaks must not halve the pitch.
    let best = (MIN_LAG + 1..MAX_LAG)
        .find(|&l| r[l] >= r[l - 1] && r[l] >= r[l + 1] && r[l] >= OCTAVE_TOLERANCE * max)
        .map(|l| (l, r[l]))
        .unwrap_or((0, 0.0));
    if best.1 < VOICING_THRESHOLD || best.0 <= MIN_LAG || best.0 >= MAX_LAG {
        return None;
    }
    Some((SR / best.0 as f32, best.1))
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f32 * p).round() as usize;
    sorted[i]
}

impl ProsodyAnalyser {
    /// An analyser with room for `frames` 10 ms frames.
    pub fn with_capacity(frames: usize) -> Self {
        Self {
            pitches: Vec::with_capacity(frames),
            levels: Vec::with_capacity(frames),
            background: Vec::with_capacity(frames),
        }
    }

    /// Analyses the speech frames of `clip`: `speech[i]` says whether the
    /// 10 ms frame `i` (samples `160 i .. 160 (i + 1)`) is speech. Pitch is
    /// measured every other speech frame, on the 32 ms from its start.
    pub fn analyse(&mut self, clip: &[f32], speech: &[bool]) -> Prosody {
        self.pitches.clear();
        self.levels.clear();
        self.background.clear();
        let n_frames = clip.len() / FRAME_SAMPLES;
        let mut analysed = 0usize;
        for i in 0..n_frames {
            let frame = &clip[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES];
            let level = dbfs(frame);
            if !speech.get(i).copied().unwrap_or(false) {
                self.background.push(level);
                continue;
            }
            self.levels.push(level);
            let start = i * FRAME_SAMPLES;
            if i % 2 == 1 || start + PITCH_WINDOW > clip.len() {
                continue;
            }
            let window = &clip[start..start + PITCH_WINDOW];
            if dbfs(window) < PITCH_MIN_LEVEL_DBFS {
                analysed += 1;
                continue;
            }
            analysed += 1;
            if let Some((hz, _)) = pitch(window) {
                self.pitches.push(hz);
            }
        }
        self.pitches.sort_by(f32::total_cmp);
        let level_dbfs = if self.levels.is_empty() {
            -120.0
        } else {
            // Mean of the energies, in dB.
            let e: f32 = self
                .levels
                .iter()
                .map(|l| 10f32.powf(l / 10.0))
                .sum::<f32>()
                / self.levels.len() as f32;
            10.0 * (e + 1e-12).log10()
        };
        let level_above_background_db = if self.background.is_empty() || self.levels.is_empty() {
            0.0
        } else {
            self.background.sort_by(f32::total_cmp);
            // The median non-speech level stands for the background.
            level_dbfs - percentile(&self.background, 0.5)
        };
        let (p10, p50, p90) = (
            percentile(&self.pitches, 0.1),
            percentile(&self.pitches, 0.5),
            percentile(&self.pitches, 0.9),
        );
        Prosody {
            frames: self.levels.len(),
            voiced_ratio: if analysed == 0 {
                0.0
            } else {
                self.pitches.len() as f32 / analysed as f32
            },
            pitch_median_hz: p50,
            pitch_range_st: if p10 > 0.0 {
                12.0 * (p90 / p10).log2()
            } else {
                0.0
            },
            level_dbfs,
            level_above_background_db,
        }
    }
}

/// Arousal in [0, 1] from prosody alone: a logistic of a hand-set linear
/// score (priors, not fitted): a wider pitch range, louder speech (above the
/// background) and more voicing mean more arousal. Neutral read speech (range
/// ~4-6 st, 15-25 dB above the background, voiced ~0.5) lands near 0.5.
///
/// The pitch *level* is measured (in [`Prosody`]) but not used: without a
/// per-speaker baseline, which we do not keep (no voiceprints), it mostly
/// tells voices apart, not moods, and would make arousal a proxy for the
/// speaker's sex or age.
pub fn prosodic_arousal(p: &Prosody) -> f32 {
    if p.frames == 0 || p.pitch_median_hz <= 0.0 {
        return 0.5;
    }
    let range = (p.pitch_range_st - 5.0).clamp(-5.0, 10.0);
    // Clamped: clean recordings have a digital-silence "background".
    let loud = if p.level_above_background_db != 0.0 {
        (p.level_above_background_db - 20.0).clamp(-15.0, 15.0)
    } else {
        0.0
    };
    let voiced = p.voiced_ratio - 0.5;
    let z = 0.25 * range + 0.06 * loud + 1.5 * voiced;
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / SR;
                // A harmonic-rich voice-like tone.
                amp * ((2.0 * std::f32::consts::PI * hz * t).sin()
                    + 0.5 * (4.0 * std::f32::consts::PI * hz * t).sin()
                    + 0.25 * (6.0 * std::f32::consts::PI * hz * t).sin())
            })
            .collect()
    }

    #[test]
    fn pitch_of_tones() {
        for hz in [90.0, 150.0, 220.0, 330.0] {
            let (got, clarity) = pitch(&tone(hz, PITCH_WINDOW, 0.3)).unwrap();
            assert!((got - hz).abs() / hz < 0.03, "{hz}: {got}");
            assert!(clarity > 0.9);
        }
        // Noise has no pitch.
        let mut x = 12345u32;
        let noise: Vec<f32> = (0..PITCH_WINDOW)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert!(pitch(&noise).is_none());
    }

    /// The normalised autocorrelation as first written (three sums per lag).
    fn autocorrelation_naive(window: &[f32], lag: usize) -> f32 {
        let n = window.len();
        let (a, b) = (&window[..n - lag], &window[lag..]);
        let (mut xy, mut xx, mut yy) = (0.0f32, 0.0f32, 0.0f32);
        for (x, y) in a.iter().zip(b) {
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        xy / (xx * yy).sqrt().max(1e-12)
    }

    #[test]
    fn fast_pitch_matches_the_naive_autocorrelation() {
        // A voiced-like window (tone plus noise) at several pitches: the
        // running energies and eight-lane dot product pick the same lag.
        let mut x = 99u32;
        for hz in [75.0, 123.0, 180.0, 260.0, 390.0] {
            let w: Vec<f32> = tone(hz, PITCH_WINDOW, 0.2)
                .into_iter()
                .map(|s| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    s + 0.05 * ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
                })
                .collect();
            let r = autocorrelation(&w);
            for (lag, fast) in r.iter().enumerate().take(MAX_LAG + 1).skip(MIN_LAG) {
                let naive = autocorrelation_naive(&w, lag);
                assert!(
                    (fast - naive).abs() < 1e-4,
                    "{hz} Hz, lag {lag}: {fast} vs {naive}"
                );
            }
            let (got, _) = pitch(&w).unwrap();
            assert!((got - hz).abs() / hz < 0.03, "{hz}: {got}");
        }
    }

    #[test]
    fn prosody_of_a_gliding_tone_and_its_arousal() {
        // 1 s of speech-like tone gliding 120 -> 240 Hz after 0.5 s of quiet.
        let sr = SR as usize;
        let mut clip = vec![0.0f32; sr / 2];
        let mut phase = 0.0f32;
        for i in 0..sr {
            let hz = 120.0 * 2f32.powf(i as f32 / sr as f32);
            phase += 2.0 * std::f32::consts::PI * hz / SR;
            clip.push(0.3 * (phase.sin() + 0.5 * (2.0 * phase).sin()));
        }
        for (i, s) in clip.iter_mut().enumerate() {
            // A quiet background everywhere.
            *s += 0.001 * ((i * 7919 % 1000) as f32 / 1000.0 - 0.5);
        }
        let speech: Vec<bool> = (0..clip.len() / FRAME_SAMPLES).map(|i| i >= 50).collect();
        let mut a = ProsodyAnalyser::with_capacity(200);
        let p = a.analyse(&clip, &speech);
        assert_eq!(p.frames, 100);
        assert!(p.voiced_ratio > 0.8, "{p:?}");
        assert!((p.pitch_median_hz - 170.0).abs() < 15.0, "{p:?}");
        // 10th to 90th percentile of a one-octave glide: ~9.6 semitones.
        assert!((p.pitch_range_st - 9.6).abs() < 1.5, "{p:?}");
        assert!(p.level_above_background_db > 30.0, "{p:?}");
        let high = prosodic_arousal(&p);
        let flat = Prosody {
            pitch_range_st: 1.0,
            pitch_median_hz: 110.0,
            level_above_background_db: 12.0,
            voiced_ratio: 0.4,
            ..p
        };
        assert!(
            high > 0.6 && prosodic_arousal(&flat) < 0.4,
            "{high} {flat:?}"
        );
        // The pitch level alone does not move arousal.
        let higher = Prosody {
            pitch_median_hz: 220.0,
            ..flat
        };
        assert_eq!(prosodic_arousal(&higher), prosodic_arousal(&flat));
        // No speech: no opinion.
        let none = a.analyse(&clip, &[]);
        assert_eq!(none.frames, 0);
        assert_eq!(prosodic_arousal(&none), 0.5);
    }
}
