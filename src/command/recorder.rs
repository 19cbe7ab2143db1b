//! Records the command after a wake: frames in, one clip out when the
//! speaker stops (hang-over) or the length limit is reached.

use crate::audio::SAMPLE_RATE;
use crate::config::CommandConfig;

/// How a command recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandEnd {
    /// Speech, then `hangover_ms` of silence (or the length limit).
    Spoken {
        /// Audio clock at the end of the last speech, ms.
        speech_end_ms: u64,
        /// Cut at the length limit.
        cut: bool,
    },
    /// No speech at all within [`NO_COMMAND_TIMEOUT_MS`].
    Silent,
}

/// After a wake, give up if nobody speaks within this time, ms.
pub const NO_COMMAND_TIMEOUT_MS: u64 = 4000;

/// Records the command after a wake: frames in, one clip out when the speaker
/// stops (hang-over) or the length limit is reached. Its buffer is sized once.
pub struct CommandRecorder {
    cfg: CommandConfig,
    clip: Vec<f32>,
    active: bool,
    heard: bool,
    silence_ms: u64,
    elapsed_ms: u64,
    speech_end_ms: u64,
}

impl CommandRecorder {
    /// A recorder for commands of at most `cfg.max_ms` (plus `lead_samples` of lead-in).
    pub fn new(cfg: CommandConfig, lead_samples: usize) -> Self {
        let cap = lead_samples + (cfg.max_ms as usize) * SAMPLE_RATE as usize / 1000;
        Self {
            cfg,
            clip: Vec::with_capacity(cap),
            active: false,
            heard: false,
            silence_ms: 0,
            elapsed_ms: 0,
            speech_end_ms: 0,
        }
    }

    /// Starts a recording; `lead` is handed the clip buffer to put the audio
    /// from before the wake into (e.g. the pre-roll).
    pub fn start(&mut self, lead: impl FnOnce(&mut Vec<f32>)) {
        self.clip.clear();
        lead(&mut self.clip);
        self.active = true;
        self.heard = false;
        self.silence_ms = 0;
        self.elapsed_ms = 0;
    }

    /// Abandons a recording.
    pub fn cancel(&mut self) {
        self.active = false;
        self.clip.clear();
    }

    /// Ends a recording under way now (the input ended): what was heard so
    /// far is a command cut short, else there was none.
    pub fn end_now(&mut self, t_ms: u64) -> Option<CommandEnd> {
        if !self.active {
            return None;
        }
        self.active = false;
        Some(if self.heard {
            CommandEnd::Spoken {
                speech_end_ms: self.speech_end_ms.min(t_ms),
                cut: true,
            }
        } else {
            CommandEnd::Silent
        })
    }

    /// Whether a recording is under way.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Feeds the frame that starts at `t_ms`, with whether the VAD is in speech.
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &crate::audio::Frame,
        in_speech: bool,
    ) -> Option<CommandEnd> {
        if !self.active {
            return None;
        }
        if self.clip.len() + frame.len() <= self.clip.capacity() {
            self.clip.extend_from_slice(frame);
        }
        let frame_ms = crate::audio::FRAME_MS;
        self.elapsed_ms += frame_ms;
        if in_speech {
            self.heard = true;
            self.silence_ms = 0;
            self.speech_end_ms = t_ms + frame_ms;
        } else {
            self.silence_ms += frame_ms;
        }
        let end = if self.heard && self.silence_ms >= self.cfg.hangover_ms {
            Some(CommandEnd::Spoken {
                speech_end_ms: self.speech_end_ms,
                cut: false,
            })
        } else if self.elapsed_ms >= self.cfg.max_ms {
            Some(if self.heard {
                CommandEnd::Spoken {
                    speech_end_ms: t_ms + frame_ms,
                    cut: true,
                }
            } else {
                CommandEnd::Silent
            })
        } else if !self.heard && self.elapsed_ms >= NO_COMMAND_TIMEOUT_MS {
            Some(CommandEnd::Silent)
        } else {
            None
        };
        if end.is_some() {
            self.active = false;
        }
        end
    }

    /// The recorded clip (valid after `push` returned an end).
    pub fn clip(&self) -> &[f32] {
        &self.clip
    }
}

#[cfg(test)]
mod recorder_tests {
    use super::*;
    use CommandConfig;

    #[test]
    fn ends_after_hangover_or_limit_or_silence() {
        let cfg = CommandConfig {
            hangover_ms: 100,
            max_ms: 1000,
        };
        let f = [0.1f32; crate::audio::FRAME_SAMPLES];
        let mut r = CommandRecorder::new(cfg, 320);
        r.start(|_| {});
        let mut t = 0;
        for _ in 0..20 {
            assert_eq!(r.push(t, &f, true), None);
            t += 10;
        }
        let mut end = None;
        for _ in 0..20 {
            end = end.or(r.push(t, &f, false));
            t += 10;
        }
        assert_eq!(
            end,
            Some(CommandEnd::Spoken {
                speech_end_ms: 200,
                cut: false
            })
        );
        assert_eq!(r.clip().len(), 30 * crate::audio::FRAME_SAMPLES);
        assert!(!r.active());

        r.start(|c| c.extend_from_slice(&[0.0; 320]));
        let mut end = None;
        for k in 0..200 {
            end = end.or(r.push(k * 10, &f, true));
        }
        assert!(matches!(end, Some(CommandEnd::Spoken { cut: true, .. })));
        assert_eq!(r.clip().len(), 320 + 100 * crate::audio::FRAME_SAMPLES);

        r.start(|_| {});
        let mut end = None;
        for k in 0..200 {
            end = end.or(r.push(k * 10, &f, false));
        }
        assert_eq!(end, Some(CommandEnd::Silent));
    }
}
