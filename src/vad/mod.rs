//! Voice activity detection: which 10 ms frames hold speech, and the segments
//! they make.
//!
//! Three opinions decide a frame, all three must agree:
//! 1. **webrtc-vad** (libfvad) in the configured mode. Cheap, but it marks a
//!    steady sine or white noise as 100% voiced, so it cannot gate alone.
//! 2. **An adaptive noise floor**: the frame must stand [`VadConfig::floor_margin_db`]
//!    above a floor that follows the quietest recent frames down at once and
//!    creeps up slowly, and above an absolute [`VadConfig::min_level_dbfs`].
//! 3. **Silero VAD** (`silero_vad_openvino_16k.onnx`, its network restated in
//!    [`silero::net`]). It runs on
//!    32 ms windows; a frame takes the probability of the latest window. With
//!    hysteresis: a frame counts as voiced from [`VadConfig::silero_low_threshold`],
//!    but a segment is only confirmed once some frame of it reaches
//!    [`VadConfig::silero_threshold`]. (Silero's LSTM ramps up slowly on a
//!    cold start and on band-limited telephone speech; a single high threshold
//!    cut the first syllables.) Silero only runs while the cheap opinions
//!    (webrtc-vad and the floor) have heard something in the last
//!    [`SILERO_GATE_MS`]: in silence and steady noise it is skipped, which is
//!    most of the day.
//!
//! [`Segmenter`] turns frame decisions into segments with pre-roll, hang-over
//! and a minimum speech length. Audio outside a segment is dropped at once:
//! only the pre-roll ring holds it, and it is overwritten.
//!
//! The `webrtc_vad::Vad` inside [`FrameVad`] is `!Send`: build the detector on
//! the thread that uses it.

pub mod silero;

use std::path::Path;

use crate::audio::{Frame, FRAME_MS, FRAME_SAMPLES};
use crate::config::VadConfig;
use crate::config::WebRtcMode;
pub use silero::{Silero, SileroError, SILERO_HOP, SILERO_IDLE_RESET_WINDOWS};

/// Errors of the VAD stage.
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    /// The Silero model could not be found, checked or run.
    #[error(transparent)]
    Silero(#[from] SileroError),
    /// libfvad refused a frame (never expected with 10 ms frames at 16 kHz).
    #[error("webrtc-vad rejected a frame")]
    WebRtc,
}

impl From<WebRtcMode> for webrtc_vad::VadMode {
    fn from(m: WebRtcMode) -> Self {
        match m {
            WebRtcMode::Quality => webrtc_vad::VadMode::Quality,
            WebRtcMode::LowBitrate => webrtc_vad::VadMode::LowBitrate,
            WebRtcMode::Aggressive => webrtc_vad::VadMode::Aggressive,
            WebRtcMode::VeryAggressive => webrtc_vad::VadMode::VeryAggressive,
        }
    }
}

/// Silero runs while webrtc-vad and the floor agreed on a frame this recently, ms.
pub const SILERO_GATE_MS: u64 = 300;

/// Level of a frame in dB relative to full scale (a full-scale sine is -3 dBFS).
pub fn frame_dbfs(frame: &Frame) -> f32 {
    let e: f32 = frame.iter().map(|s| s * s).sum::<f32>() / FRAME_SAMPLES as f32;
    10.0 * (e + 1e-12).log10()
}

/// Tracks the background level: drops to a quieter frame at once, rises slowly.
#[derive(Debug, Clone)]
pub struct NoiseFloor {
    floor_db: Option<f32>,
    rise_per_frame: f32,
}

impl NoiseFloor {
    /// A floor that rises by at most `rise_db_per_s` dB per second.
    pub fn new(rise_db_per_s: f32) -> Self {
        Self {
            floor_db: None,
            rise_per_frame: rise_db_per_s * FRAME_MS as f32 / 1000.0,
        }
    }

    /// Feeds a frame's level; returns the floor before this frame.
    pub fn update(&mut self, level_db: f32) -> f32 {
        let floor = *self.floor_db.get_or_insert(level_db);
        let next = if level_db < floor {
            level_db
        } else {
            floor + (level_db - floor).min(self.rise_per_frame)
        };
        self.floor_db = Some(next);
        floor
    }

    /// The current floor, if any frame was seen.
    pub fn level(&self) -> Option<f32> {
        self.floor_db
    }
}

/// What the detector thinks of one frame, with the evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameDecision {
    /// webrtc-vad and the noise floor agree (Silero not asked).
    pub onset: bool,
    /// All opinions agree on voice (Silero at least at its low threshold).
    pub speech: bool,
    /// Voiced, and Silero at or above its (high) confirmation threshold.
    pub strong: bool,
    /// webrtc-vad's opinion.
    pub webrtc: bool,
    /// Frame level, dBFS.
    pub level_db: f32,
    /// Noise floor before this frame, dBFS.
    pub floor_db: f32,
    /// Latest Silero probability (0 before the first 32 ms window).
    pub silero: f32,
}

/// Per-frame speech decision: webrtc-vad, noise floor and Silero together.
pub struct FrameVad {
    webrtc: webrtc_vad::Vad,
    floor: NoiseFloor,
    silero: Silero,
    pcm: [i16; FRAME_SAMPLES],
    cfg: VadConfig,
    /// Frames since webrtc-vad and the floor last agreed.
    since_onset: u64,
}

impl FrameVad {
    /// Builds the detector; loads Silero from `silero_model`.
    pub fn new(cfg: &VadConfig, silero_model: &Path) -> Result<Self, VadError> {
        let webrtc = webrtc_vad::Vad::new_with_rate_and_mode(
            webrtc_vad::SampleRate::Rate16kHz,
            cfg.webrtc_mode.into(),
        );
        Ok(Self {
            webrtc,
            floor: NoiseFloor::new(cfg.floor_rise_db_per_s),
            silero: Silero::load(silero_model)?,
            pcm: [0; FRAME_SAMPLES],
            cfg: cfg.clone(),
            since_onset: u64::MAX,
        })
    }

    /// Decides one frame.
    pub fn push(&mut self, frame: &Frame) -> Result<FrameDecision, VadError> {
        for (d, s) in self.pcm.iter_mut().zip(frame) {
            *d = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        }
        let webrtc = self
            .webrtc
            .is_voice_segment(&self.pcm)
            .map_err(|()| VadError::WebRtc)?;
        let level_db = frame_dbfs(frame);
        let floor_db = self.floor.update(level_db);
        let loud =
            level_db >= self.cfg.min_level_dbfs && level_db >= floor_db + self.cfg.floor_margin_db;
        let onset = webrtc && loud;
        self.since_onset = if onset {
            0
        } else {
            self.since_onset.saturating_add(1)
        };
        let active = self.since_onset <= SILERO_GATE_MS / FRAME_MS;
        let silero = self.silero.push_gated(frame, active)?;
        let speech = webrtc && loud && silero >= self.cfg.silero_low_threshold;
        Ok(FrameDecision {
            onset,
            speech,
            strong: speech && silero >= self.cfg.silero_threshold,
            webrtc,
            level_db,
            floor_db,
            silero,
        })
    }
}

/// How far back (ms) a segment's start may move to the beginning of the
/// webrtc-and-floor voiced run that leads into it. Silero needs up to ~250 ms
/// to react to an onset after silence; webrtc-vad and the level react at once.
pub const MAX_BACKDATE_MS: u64 = 300;

/// The flags the [`Segmenter`] needs from a [`FrameDecision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Voicing {
    /// webrtc-vad and level agree.
    pub onset: bool,
    /// Voiced (Silero low threshold too).
    pub speech: bool,
    /// Voiced and Silero confirms.
    pub strong: bool,
}

impl From<&FrameDecision> for Voicing {
    fn from(d: &FrameDecision) -> Self {
        Self {
            onset: d.onset,
            speech: d.speech,
            strong: d.strong,
        }
    }
}

/// Longest stretch of unconfirmed speech whose audio is held, ms.
pub const CANDIDATE_HOLD_MS: u64 = 1500;

/// A segment boundary found by the [`Segmenter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Speech started at `t_ms` (the first voiced frame).
    Started {
        /// Audio clock, ms.
        t_ms: u64,
    },
    /// Speech ended at `t_ms` (the end of the last voiced frame).
    Stopped {
        /// Audio clock, ms.
        t_ms: u64,
        /// Length of the segment, ms.
        duration_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SegState {
    Silence,
    /// Speech heard but not yet long enough (or not yet confirmed by Silero).
    Candidate {
        start: u64,
        voiced: u32,
        strong: bool,
        last_end: u64,
    },
    Speech {
        start: u64,
        last_end: u64,
    },
}

/// Turns per-frame decisions into speech segments.
///
/// Audio handling: while silent, the last `preroll` frames are kept in a ring
/// (and overwritten); candidate speech is held until it is long enough. When a
/// segment starts, the ring and the held frames go to the audio callback, and
/// so does every frame until the segment stops. Nothing else leaves.
pub struct Segmenter {
    state: SegState,
    min_speech_frames: u32,
    hangover_ms: u64,
    /// Pre-roll + held candidate frames: a ring of fixed capacity.
    ring: Vec<(u64, Frame)>,
    ring_start: usize,
    ring_len: usize,
    preroll_frames: usize,
    /// Start of the current run of onset frames, if one is going on.
    run_start: Option<u64>,
}

impl Segmenter {
    /// A segmenter with the given timing, all in ms.
    pub fn new(cfg: &VadConfig) -> Self {
        let min_speech_frames = (cfg.min_speech_ms / FRAME_MS).max(1) as u32;
        let preroll_frames = (cfg.preroll_ms / FRAME_MS) as usize;
        // Candidate frames are held until the segment is confirmed; beyond
        // `CANDIDATE_HOLD_MS` the oldest held frames are dropped (the start
        // time is kept).
        let hold = (cfg.min_speech_ms + cfg.hangover_ms).max(CANDIDATE_HOLD_MS) / FRAME_MS + 1;
        let cap = preroll_frames + hold as usize + 1;
        Self {
            state: SegState::Silence,
            min_speech_frames,
            hangover_ms: cfg.hangover_ms,
            ring: vec![(0, [0.0; FRAME_SAMPLES]); cap],
            ring_start: 0,
            ring_len: 0,
            preroll_frames,
            run_start: None,
        }
    }

    /// Whether a segment is open.
    pub fn in_speech(&self) -> bool {
        matches!(self.state, SegState::Speech { .. })
    }

    fn ring_push(&mut self, t_ms: u64, frame: &Frame) {
        let cap = self.ring.len();
        if self.ring_len == cap {
            self.ring_start = (self.ring_start + 1) % cap;
            self.ring_len -= 1;
        }
        let idx = (self.ring_start + self.ring_len) % cap;
        self.ring[idx].0 = t_ms;
        self.ring[idx].1.copy_from_slice(frame);
        self.ring_len += 1;
    }

    /// Keeps only the last `keep` frames of the ring.
    fn ring_trim(&mut self, keep: usize) {
        if self.ring_len > keep {
            let drop = self.ring_len - keep;
            self.ring_start = (self.ring_start + drop) % self.ring.len();
            self.ring_len = keep;
        }
    }

    fn ring_flush(&mut self, on_audio: &mut impl FnMut(u64, &Frame)) {
        let cap = self.ring.len();
        for k in 0..self.ring_len {
            let (t, ref f) = self.ring[(self.ring_start + k) % cap];
            on_audio(t, f);
        }
        self.ring_start = 0;
        self.ring_len = 0;
    }

    /// Feeds one frame starting at `t_ms` with its decision. Frames inside a
    /// segment (pre-roll included) go to `on_audio`; the rest are dropped.
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &Frame,
        v: Voicing,
        mut on_audio: impl FnMut(u64, &Frame),
    ) -> Option<Boundary> {
        let end = t_ms + FRAME_MS;
        let (speech, strong) = (v.speech, v.strong);
        let run_start = if v.onset || speech {
            *self.run_start.get_or_insert(t_ms)
        } else {
            self.run_start = None;
            t_ms
        };
        match self.state {
            SegState::Silence => {
                self.ring_push(t_ms, frame);
                if speech {
                    let start = run_start.max(t_ms.saturating_sub(MAX_BACKDATE_MS));
                    self.state = SegState::Candidate {
                        start,
                        voiced: 1,
                        strong,
                        last_end: end,
                    };
                    return self.confirm(&mut on_audio);
                }
                self.ring_trim(self.preroll_frames);
                None
            }
            SegState::Candidate {
                start,
                voiced,
                strong: was_strong,
                last_end,
            } => {
                self.ring_push(t_ms, frame);
                if speech {
                    self.state = SegState::Candidate {
                        start,
                        voiced: voiced + 1,
                        strong: was_strong || strong,
                        last_end: end,
                    };
                    self.confirm(&mut on_audio)
                } else {
                    if end - last_end > self.hangover_ms {
                        // Too short: it was not speech after all; drop it.
                        self.state = SegState::Silence;
                        self.ring_trim(self.preroll_frames);
                    }
                    None
                }
            }
            SegState::Speech { start, last_end } => {
                on_audio(t_ms, frame);
                if speech {
                    self.state = SegState::Speech {
                        start,
                        last_end: end,
                    };
                    None
                } else if end - last_end >= self.hangover_ms {
                    self.state = SegState::Silence;
                    Some(Boundary::Stopped {
                        t_ms: last_end,
                        duration_ms: last_end - start,
                    })
                } else {
                    None
                }
            }
        }
    }

    fn confirm(&mut self, on_audio: &mut impl FnMut(u64, &Frame)) -> Option<Boundary> {
        if let SegState::Candidate {
            start,
            voiced,
            strong,
            last_end,
        } = self.state
        {
            if strong && voiced >= self.min_speech_frames {
                self.state = SegState::Speech { start, last_end };
                self.ring_flush(on_audio);
                return Some(Boundary::Started { t_ms: start });
            }
        }
        None
    }

    /// Ends the stream: closes an open segment.
    pub fn finish(&mut self) -> Option<Boundary> {
        let out = match self.state {
            SegState::Speech { start, last_end } => Some(Boundary::Stopped {
                t_ms: last_end,
                duration_ms: last_end - start,
            }),
            _ => None,
        };
        self.state = SegState::Silence;
        self.ring_len = 0;
        out
    }
}

/// [`FrameVad`] and [`Segmenter`] together: frames in, segment boundaries out.
pub struct VoiceDetector {
    vad: FrameVad,
    seg: Segmenter,
    /// The last frame's own decision (no hang-over).
    frame_speech: bool,
}

impl VoiceDetector {
    /// Builds both parts from the config.
    pub fn new(cfg: &VadConfig, silero_model: &Path) -> Result<Self, VadError> {
        Ok(Self {
            vad: FrameVad::new(cfg, silero_model)?,
            seg: Segmenter::new(cfg),
            frame_speech: false,
        })
    }

    /// Feeds one frame; gated audio goes to `on_audio`.
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &Frame,
        on_audio: impl FnMut(u64, &Frame),
    ) -> Result<Option<Boundary>, VadError> {
        let d = self.vad.push(frame)?;
        self.frame_speech = d.speech;
        Ok(self.seg.push(t_ms, frame, (&d).into(), on_audio))
    }

    /// Whether the last frame pushed was speech by itself (no hang-over, no
    /// pre-roll): the speech mask context classification uses.
    pub fn frame_speech(&self) -> bool {
        self.frame_speech
    }

    /// Whether the segmenter is inside a speech segment (hang-over included).
    pub fn in_speech(&self) -> bool {
        self.seg.in_speech()
    }

    /// Decides one frame without segmenting (for diagnostics and tests).
    pub fn decide(&mut self, frame: &Frame) -> Result<FrameDecision, VadError> {
        self.vad.push(frame)
    }

    /// Ends the stream.
    pub fn finish(&mut self) -> Option<Boundary> {
        self.seg.finish()
    }

    /// The speech is known to have ended (a command heard as complete, issue
    /// 31): closes an open segment now instead of after the hang-over, so
    /// its `voice_stopped` comes before what the command did.
    pub fn end_segment(&mut self) -> Option<Boundary> {
        self.seg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> VadConfig {
        VadConfig {
            min_speech_ms: 50,
            hangover_ms: 30,
            preroll_ms: 20,
            ..VadConfig::default()
        }
    }

    fn run(pattern: &str) -> (Vec<Boundary>, Vec<u64>) {
        let mut s = Segmenter::new(&cfg());
        let mut out = Vec::new();
        let mut audio = Vec::new();
        let f = [0.0; FRAME_SAMPLES];
        for (i, c) in pattern.chars().enumerate() {
            let v = match c {
                '#' => Voicing {
                    onset: true,
                    speech: true,
                    strong: true,
                },
                '+' => Voicing {
                    onset: true,
                    speech: true,
                    strong: false,
                },
                'o' => Voicing {
                    onset: true,
                    speech: false,
                    strong: false,
                },
                _ => Voicing::default(),
            };
            if let Some(b) = s.push(i as u64 * 10, &f, v, |t, _| audio.push(t)) {
                out.push(b);
            }
        }
        out.extend(s.finish());
        (out, audio)
    }

    #[test]
    fn short_blips_are_not_speech() {
        let (b, audio) = run("....##....#.#.....");
        assert!(b.is_empty(), "{b:?}");
        assert!(audio.is_empty());
    }

    #[test]
    fn a_segment_has_preroll_and_hangover() {
        // speech from frame 5 to 14 (t 50..150 ms), with a 20 ms gap inside.
        let (b, audio) = run(".....#####..###..........");
        assert_eq!(
            b,
            vec![
                Boundary::Started { t_ms: 50 },
                Boundary::Stopped {
                    t_ms: 150,
                    duration_ms: 100
                }
            ]
        );
        // Pre-roll (2 frames), then every frame to the end of the hang-over.
        assert_eq!(audio.first(), Some(&30));
        assert_eq!(audio.last(), Some(&170));
        let want: Vec<u64> = (3..=17).map(|i| i * 10).collect();
        assert_eq!(audio, want);
    }

    #[test]
    fn weak_voice_needs_one_strong_frame() {
        // Weak voice alone never makes a segment...
        let (b, _) = run("..++++++++++++.........");
        assert!(b.is_empty(), "{b:?}");
        // ...but one strong frame confirms it, from its first weak frame.
        let (b, audio) = run("..+++++++#++++.........");
        assert_eq!(
            b,
            vec![
                Boundary::Started { t_ms: 20 },
                Boundary::Stopped {
                    t_ms: 140,
                    duration_ms: 120
                }
            ]
        );
        assert_eq!(audio.first(), Some(&0));
    }

    #[test]
    fn start_moves_back_to_the_onset_run() {
        // Onset frames (webrtc + level) before Silero reacts: the segment
        // starts where the run started.
        let (b, _) = run("..ooo######.........");
        assert_eq!(b[0], Boundary::Started { t_ms: 20 });
        // A broken run does not count.
        let (b, _) = run("oo.o######.........");
        assert_eq!(b[0], Boundary::Started { t_ms: 30 });
    }

    #[test]
    fn open_segment_is_closed_at_the_end() {
        let (b, _) = run("..########");
        assert_eq!(
            b,
            vec![
                Boundary::Started { t_ms: 20 },
                Boundary::Stopped {
                    t_ms: 100,
                    duration_ms: 80
                }
            ]
        );
    }

    #[test]
    fn noise_floor_falls_fast_and_rises_slowly() {
        let mut nf = NoiseFloor::new(10.0);
        nf.update(-20.0);
        assert_eq!(nf.level(), Some(-20.0));
        nf.update(-60.0);
        assert_eq!(nf.level(), Some(-60.0));
        for _ in 0..100 {
            nf.update(0.0);
        }
        // 100 frames = 1 s at 10 dB/s.
        let l = nf.level().unwrap();
        assert!((l - -50.0).abs() < 1e-3, "{l}");
    }

    #[test]
    fn dbfs_of_a_full_scale_sine_is_minus_3() {
        let mut f = [0.0f32; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            *s = (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin();
        }
        assert!((frame_dbfs(&f) + 3.01).abs() < 0.05);
    }
}
