//! Records the command after a wake: frames in, one clip out when the
//! speaker stops (hang-over) or the length limit is reached. A short pause
//! asks for the command so far to be heard ahead ([`Step::Pause`]); when it
//! was heard as a complete command, a short quiet ends it (endpointing by
//! meaning, issue 31).

use crate::audio::{FRAME_MS, SAMPLE_RATE};
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
/// Voiced audio a recording needs before a pause is worth hearing ahead, ms:
/// the end of the wake phrase alone (the recording starts as the detector
/// fires) is not a command.
pub const SPECULATE_MIN_VOICE_MS: u64 = 250;

/// Hearings ahead that must reject the wake before nothing more of a
/// recording is heard ahead (issue 29). A false fire in running speech was
/// heard again at every pause until `command.max_ms`; one rejection heard on
/// little more than the phrase is weak evidence, two are not.
pub const AHEAD_REJECTIONS: u32 = 2;

/// What the command heard so far would be if the recording ended now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A whole command ("pause", "volume to forty"): a short quiet ends it.
    Complete,
    /// A command that may go on ("play ..."): a medium quiet ends it.
    Open,
    /// Not a command yet: the normal hang-over.
    Unsure,
    /// The wake did not stand: the normal hang-over; after
    /// [`AHEAD_REJECTIONS`] of these nothing more of the recording is heard
    /// ahead (a false fire in running speech would otherwise be heard again
    /// at every pause, issue 29).
    Rejected,
}

/// What one frame did to a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A pause began after speech: hear the recording so far ahead.
    Pause,
    /// Speech went on after a [`Step::Pause`]: what was heard ahead is void.
    Resume,
    /// The recording ended.
    End(CommandEnd),
}

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
    /// Frames the VAD itself called speech in this recording, ms.
    voiced_ms: u64,
    /// Quiet since the last such frame, ms.
    quiet_ms: u64,
    /// The audio clock at the end of the last such frame, ms.
    voice_end_ms: u64,
    /// This pause was handed on to be heard ahead, and speech has not resumed.
    paused: bool,
    /// What the pause was heard as, once known.
    reading: Option<Reading>,
    /// Hearings ahead of this recording that rejected the wake.
    rejected: u32,
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
            voiced_ms: 0,
            quiet_ms: 0,
            voice_end_ms: 0,
            paused: false,
            reading: None,
            rejected: 0,
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
        self.voiced_ms = 0;
        self.quiet_ms = 0;
        self.paused = false;
        self.reading = None;
        self.rejected = 0;
    }

    /// What the last pause handed on ([`Step::Pause`]) was heard as; a
    /// rejection counts even when speech has resumed since.
    pub fn set_reading(&mut self, reading: Reading) {
        if reading == Reading::Rejected {
            self.rejected += 1;
        }
        if self.paused {
            self.reading = Some(reading);
        }
    }

    /// Whether a pause was handed on and its reading is not known yet.
    fn awaits_reading(&self) -> bool {
        self.active && self.paused && self.reading.is_none()
    }

    /// Whether the next frame's quiet could end the recording, if only its
    /// reading were known: the moment to wait for it.
    pub fn needs_reading(&self) -> bool {
        self.awaits_reading() && self.quiet_ms + FRAME_MS >= self.cfg.complete_hangover_ms
    }

    /// Whether the recording so far is a pause handed on and not resumed:
    /// what was heard ahead stands for the whole recording (the tests' view).
    #[cfg(test)]
    fn paused(&self) -> bool {
        self.paused
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

    /// Feeds the frame that starts at `t_ms`, with whether the VAD's segmenter
    /// is in speech (`in_speech`, with its hang-over) and the frame's own
    /// decision (`voiced`).
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &crate::audio::Frame,
        in_speech: bool,
        voiced: bool,
    ) -> Option<Step> {
        if !self.active {
            return None;
        }
        if self.clip.len() + frame.len() <= self.clip.capacity() {
            self.clip.extend_from_slice(frame);
        }
        self.elapsed_ms += FRAME_MS;
        if in_speech {
            self.heard = true;
            self.silence_ms = 0;
            self.speech_end_ms = t_ms + FRAME_MS;
        } else {
            self.silence_ms += FRAME_MS;
        }
        let mut step = None;
        if voiced {
            self.voiced_ms += FRAME_MS;
            self.quiet_ms = 0;
            self.voice_end_ms = t_ms + FRAME_MS;
            if self.paused {
                self.paused = false;
                self.reading = None;
                step = Some(Step::Resume);
            }
        } else if self.voiced_ms > 0 {
            let asked_before = self.quiet_ms >= self.cfg.speculate_after_ms;
            self.quiet_ms += FRAME_MS;
            if self.cfg.speculate_after_ms > 0
                && self.rejected < AHEAD_REJECTIONS
                && !asked_before
                && self.quiet_ms >= self.cfg.speculate_after_ms
                && self.voiced_ms >= SPECULATE_MIN_VOICE_MS
            {
                self.paused = true;
                self.reading = None;
                step = Some(Step::Pause);
            }
        }
        let early = self.paused
            && match self.reading {
                Some(Reading::Complete) => self.quiet_ms >= self.cfg.complete_hangover_ms,
                Some(Reading::Open) => self.quiet_ms >= self.cfg.open_hangover_ms,
                Some(Reading::Unsure | Reading::Rejected) | None => false,
            };
        let end = if self.heard && early {
            Some(CommandEnd::Spoken {
                speech_end_ms: self.voice_end_ms,
                cut: false,
            })
        } else if self.heard && self.silence_ms >= self.cfg.hangover_ms {
            Some(CommandEnd::Spoken {
                speech_end_ms: self.speech_end_ms,
                cut: false,
            })
        } else if self.elapsed_ms >= self.cfg.max_ms {
            Some(if self.heard {
                CommandEnd::Spoken {
                    speech_end_ms: t_ms + FRAME_MS,
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
        match end {
            Some(end) => {
                self.active = false;
                Some(Step::End(end))
            }
            None => step,
        }
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
            speculate_after_ms: 0,
            ..CommandConfig::default()
        };
        let f = [0.1f32; crate::audio::FRAME_SAMPLES];
        let mut r = CommandRecorder::new(cfg, 320);
        r.start(|_| {});
        let mut t = 0;
        for _ in 0..20 {
            assert_eq!(r.push(t, &f, true, true), None);
            t += 10;
        }
        let mut end = None;
        for _ in 0..20 {
            end = end.or(r.push(t, &f, false, false));
            t += 10;
        }
        assert_eq!(
            end,
            Some(Step::End(CommandEnd::Spoken {
                speech_end_ms: 200,
                cut: false
            }))
        );
        assert_eq!(r.clip().len(), 30 * crate::audio::FRAME_SAMPLES);
        assert!(!r.active());

        r.start(|c| c.extend_from_slice(&[0.0; 320]));
        let mut end = None;
        for k in 0..200 {
            end = end.or(r.push(k * 10, &f, true, true));
        }
        assert!(matches!(
            end,
            Some(Step::End(CommandEnd::Spoken { cut: true, .. }))
        ));
        assert_eq!(r.clip().len(), 320 + 100 * crate::audio::FRAME_SAMPLES);

        r.start(|_| {});
        let mut end = None;
        for k in 0..200 {
            end = end.or(r.push(k * 10, &f, false, false));
        }
        assert_eq!(end, Some(Step::End(CommandEnd::Silent)));
    }
}

#[cfg(test)]
mod issue_31 {
    use super::*;
    use crate::config::{
        DEFAULT_COMMAND_HANGOVER_MS, DEFAULT_COMPLETE_HANGOVER_MS, DEFAULT_OPEN_HANGOVER_MS,
        DEFAULT_SPECULATE_AFTER_MS,
    };

    const F: [f32; crate::audio::FRAME_SAMPLES] = [0.1; crate::audio::FRAME_SAMPLES];

    /// A recording with `voiced_ms` of speech at the start, then the
    /// segmenter still in speech (its own hang-over) over frames the VAD
    /// calls quiet. Returns the recorder and the next frame's time.
    fn after_speech(voiced_ms: u64) -> (CommandRecorder, u64) {
        let mut r = CommandRecorder::new(CommandConfig::default(), 0);
        r.start(|_| {});
        let mut t = 0;
        while t < voiced_ms {
            assert_eq!(r.push(t, &F, true, true), None);
            t += FRAME_MS;
        }
        (r, t)
    }

    /// Quiet frames (segmenter still in speech for its 300 ms) until a step.
    fn quiet_until_step(r: &mut CommandRecorder, t: &mut u64) -> Step {
        loop {
            let in_speech = *t < 2000;
            let step = r.push(*t, &F, in_speech, false);
            *t += FRAME_MS;
            if let Some(s) = step {
                return s;
            }
            assert!(*t < 10_000, "no step");
        }
    }

    #[test]
    fn issue_31_a_pause_hands_the_command_on_and_a_complete_one_ends_after_a_short_quiet() {
        let (mut r, mut t) = after_speech(1000);
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        assert_eq!(t, 1000 + DEFAULT_SPECULATE_AFTER_MS);
        assert!(r.awaits_reading());
        assert!(!r.needs_reading());
        r.set_reading(Reading::Complete);
        assert!(!r.awaits_reading());
        assert_eq!(
            quiet_until_step(&mut r, &mut t),
            Step::End(CommandEnd::Spoken {
                speech_end_ms: 1000,
                cut: false
            })
        );
        assert_eq!(t, 1000 + DEFAULT_COMPLETE_HANGOVER_MS);
    }

    #[test]
    fn issue_31_an_open_command_waits_longer_and_an_unsure_one_the_whole_hangover() {
        let (mut r, mut t) = after_speech(1000);
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        r.set_reading(Reading::Open);
        assert!(matches!(quiet_until_step(&mut r, &mut t), Step::End(_)));
        assert_eq!(t, 1000 + DEFAULT_OPEN_HANGOVER_MS);

        let (mut r, mut t) = after_speech(1000);
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        r.set_reading(Reading::Unsure);
        // The segmenter's hang-over ends at 2000 ms, then the command's.
        assert!(matches!(quiet_until_step(&mut r, &mut t), Step::End(_)));
        assert_eq!(t, 2000 + DEFAULT_COMMAND_HANGOVER_MS);
    }

    #[test]
    fn issue_31_the_reading_is_needed_just_before_a_complete_command_could_end() {
        let (mut r, mut t) = after_speech(1000);
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        while t + FRAME_MS < 1000 + DEFAULT_COMPLETE_HANGOVER_MS {
            assert!(!r.needs_reading(), "at {t}");
            assert_eq!(r.push(t, &F, true, false), None);
            t += FRAME_MS;
        }
        assert!(r.needs_reading());
        // Unknown, it does not end early: the front end waits or goes on.
        assert_eq!(r.push(t, &F, true, false), None);
    }

    #[test]
    fn issue_31_speech_after_a_pause_voids_it_and_the_next_pause_is_handed_on_again() {
        let (mut r, mut t) = after_speech(1000);
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        r.set_reading(Reading::Complete);
        assert_eq!(r.push(t, &F, true, true), Some(Step::Resume));
        t += FRAME_MS;
        assert!(!r.paused());
        // The reading of the void pause is forgotten: no early end from it.
        for _ in 0..5 {
            assert_eq!(r.push(t, &F, true, true), None);
            t += FRAME_MS;
        }
        let resumed_end = t;
        assert_eq!(quiet_until_step(&mut r, &mut t), Step::Pause);
        assert_eq!(t, resumed_end + DEFAULT_SPECULATE_AFTER_MS);
    }

    #[test]
    fn issue_31_the_end_of_the_wake_phrase_alone_is_not_handed_on() {
        let (mut r, mut t) = after_speech(SPECULATE_MIN_VOICE_MS - FRAME_MS);
        // No pause step: the normal hang-over ends it.
        assert!(matches!(quiet_until_step(&mut r, &mut t), Step::End(_)));
        assert!(!r.paused());
        let cfg = CommandConfig {
            speculate_after_ms: 0,
            ..CommandConfig::default()
        };
        let mut r = CommandRecorder::new(cfg, 0);
        r.start(|_| {});
        let mut t = 0;
        while t < 1000 {
            r.push(t, &F, true, true);
            t += FRAME_MS;
        }
        assert!(matches!(quiet_until_step(&mut r, &mut t), Step::End(_)));
    }
}

#[cfg(test)]
mod issue_29 {
    use super::*;

    const F: [f32; crate::audio::FRAME_SAMPLES] = [0.1; crate::audio::FRAME_SAMPLES];

    /// Running speech after a false fire, on a started recorder: `bursts` of
    /// 600 ms of speech, each followed by 200 ms the VAD calls quiet (the
    /// segmenter still in speech); `reading` answers each pause handed on,
    /// at once or, with `late`, that many frames into the next burst (speech
    /// resumed before it came back, as on the threaded pipeline). Returns
    /// the pauses handed on and how the recording ended.
    fn running_speech(
        r: &mut CommandRecorder,
        bursts: usize,
        late: Option<usize>,
        reading: impl Fn(usize) -> Option<Reading>,
    ) -> (usize, Step) {
        let (mut t, mut pauses) = (0, 0);
        let mut due: Option<Reading> = None;
        for _ in 0..bursts {
            for k in 0..80 {
                if late == Some(k) {
                    if let Some(got) = due.take() {
                        r.set_reading(got);
                    }
                }
                let voiced = k < 60;
                match r.push(t, &F, true, voiced) {
                    Some(Step::Pause) => {
                        match (reading(pauses), late) {
                            (Some(got), None) => r.set_reading(got),
                            (got, Some(_)) => due = got,
                            (None, None) => {}
                        }
                        pauses += 1;
                    }
                    Some(Step::End(e)) => return (pauses, Step::End(e)),
                    _ => {}
                }
                t += FRAME_MS;
            }
        }
        loop {
            if let Some(Step::End(e)) = r.push(t, &F, false, false) {
                return (pauses, Step::End(e));
            }
            t += FRAME_MS;
        }
    }

    fn started() -> CommandRecorder {
        let mut r = CommandRecorder::new(CommandConfig::default(), 0);
        r.start(|_| {});
        r
    }

    #[test]
    fn issue_29_a_rejected_wake_is_not_heard_ahead_again() {
        let n = AHEAD_REJECTIONS as usize;
        // Before: every pause in running speech was heard again.
        let (unsure, _) = running_speech(&mut started(), 6, None, |_| Some(Reading::Unsure));
        assert_eq!(unsure, 6);
        // Every hearing rejects the wake: no more after the budget.
        let (rejected, end) = running_speech(&mut started(), 6, None, |_| Some(Reading::Rejected));
        assert_eq!(rejected, n);
        // It ends as a recording heard as nothing does: the whole hang-over.
        assert!(matches!(
            end,
            Step::End(CommandEnd::Spoken { cut: false, .. })
        ));
        // A wake heard as standing between rejections does not count.
        let (mixed, _) = running_speech(&mut started(), 6, None, |k| {
            Some(if k % 2 == 1 {
                Reading::Unsure
            } else {
                Reading::Rejected
            })
        });
        assert_eq!(mixed, 2 * n - 1);
        // Rejections that come back late (the reading of the last burst's
        // pause, 100 ms into this one) still stop the next pauses.
        let mut r = started();
        let (pauses, _) = running_speech(&mut r, 8, Some(10), |_| Some(Reading::Rejected));
        assert_eq!(pauses, n, "each pause voided by speech, then rejected late");
        // A new recording hears ahead again.
        r.start(|_| {});
        let mut paused = false;
        for k in 0..80 {
            paused |= r.push(k * FRAME_MS, &F, true, k < 60) == Some(Step::Pause);
        }
        assert!(paused);
    }
}
