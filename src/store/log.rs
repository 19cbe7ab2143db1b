//! What heyplayer offers to keep of each wake event: a synchronous state
//! machine over the event stream that turns `wake` … `command` /
//! `not_understood` / `wake_rejected` into one [`NewCapture`] for the privacy
//! store. The store's retention rules decide what is actually written; this
//! module never touches disk.
//!
//! A rejected wake (the second stage did not hear the wake phrase) is audited
//! as a capture with nothing kept: what Whisper heard then was not meant for
//! heyplayer.

use heyplayer_privacy::store::Clip;
use heyplayer_privacy::NewCapture;
use serde_json::json;

use crate::events::Event;

/// Builds one capture per wake event from the events that follow it.
#[derive(Debug)]
pub struct CaptureLog {
    verify: bool,
    pending: Option<NewCapture>,
}

impl CaptureLog {
    /// `verify`: whether the second stage checks every wake (so a command
    /// that follows a wake was verified).
    pub fn new(verify: bool) -> Self {
        Self {
            verify,
            pending: None,
        }
    }

    /// Feeds one event. Returns a finished capture when the event ends one
    /// that had no command (a rejected wake, the end of the input, or a new
    /// wake while one was pending); a command's capture ends with
    /// [`CaptureLog::end_of_command`], once its context is known too.
    pub fn push(&mut self, ev: &Event) -> Option<NewCapture> {
        match ev {
            Event::Wake { phrase, score, .. } => {
                // A wake while one is pending cannot happen in the pipeline;
                // if it did, the older one is still recorded.
                let older = self.pending.take();
                self.pending = Some(NewCapture {
                    wake_score: *score,
                    verified: false,
                    phrase: phrase.clone(),
                    ..NewCapture::default()
                });
                older
            }
            Event::WakeRejected { .. } => self.pending.take(),
            // Handling the wake failed: audited with the reason, and
            // whatever was heard before the failure, by the rules.
            Event::CommandFailed { stage, reason, .. } => {
                let mut p = self.pending.take()?;
                p.command = Some(json!({"failed": {"stage": stage, "reason": reason}}));
                Some(p)
            }
            Event::Transcript { text, .. } => {
                if let Some(p) = &mut self.pending {
                    p.transcript = Some(text.clone());
                }
                None
            }
            Event::Command {
                command, guided, ..
            } => {
                if let Some(p) = &mut self.pending {
                    p.command = Some(json!({"command": command, "guided": guided}));
                }
                None
            }
            Event::NotUnderstood { reason, .. } => {
                if let Some(p) = &mut self.pending {
                    p.command = Some(json!({"not_understood": reason}));
                }
                None
            }
            Event::Context { labels, .. } => {
                if let Some(p) = &mut self.pending {
                    p.context = serde_json::to_value(labels).ok();
                }
                None
            }
            Event::AudioStop { .. } => self.pending.take(),
            _ => None,
        }
    }

    /// All the events of a command are in: the capture is finished, with the
    /// gated audio from `clip` (called only then; raw audio opted in).
    pub fn end_of_command(&mut self, clip: impl FnOnce() -> Option<Clip>) -> Option<NewCapture> {
        self.pending.as_ref()?.command.as_ref()?;
        let mut p = self.pending.take()?;
        p.verified = self.verify;
        p.audio = clip();
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{Action, Command};

    fn wake() -> Event {
        Event::Wake {
            t_ms: 1000,
            phrase: "hey player".into(),
            score: 0.9,
        }
    }

    #[test]
    fn a_command_makes_one_verified_capture_with_its_transcript() {
        let mut log = CaptureLog::new(true);
        assert!(log.push(&wake()).is_none());
        let t = Event::Transcript {
            t_ms: 2000,
            text: "pause".into(),
        };
        assert!(log.push(&t).is_none());
        let c = Event::Command {
            t_ms: 2000,
            command: Command {
                action: Action::Pause,
                query: None,
                value: None,
            },
            guided: None,
        };
        assert!(log.push(&c).is_none(), "the context may follow");
        let got = log.end_of_command(|| None).unwrap();
        assert!(got.verified);
        assert_eq!(got.transcript.as_deref(), Some("pause"));
        assert_eq!(got.command.unwrap()["command"]["action"], "pause");
        assert!(log.push(&c).is_none());
        assert!(
            log.end_of_command(|| None).is_none(),
            "one capture per wake"
        );
    }

    #[test]
    fn a_rejected_wake_keeps_no_content() {
        let mut log = CaptureLog::new(true);
        log.push(&wake());
        let r = Event::WakeRejected {
            t_ms: 2000,
            heard: Some("hey planner".into()),
            heard_plain: None,
            why: "phrase not heard".into(),
        };
        let got = log.push(&r).unwrap();
        assert!(log
            .end_of_command(|| panic!("no audio for a rejected wake"))
            .is_none());
        assert!(!got.verified);
        assert!(got.transcript.is_none() && got.command.is_none() && got.audio.is_none());
    }

    #[test]
    fn not_understood_and_end_of_input_close_the_capture() {
        let mut log = CaptureLog::new(false);
        log.push(&wake());
        let n = Event::NotUnderstood {
            t_ms: 2000,
            text: String::new(),
            reason: "no command after the wake word".into(),
        };
        assert!(log.push(&n).is_none());
        let got = log
            .end_of_command(|| {
                Some(Clip {
                    sample_rate: 16_000,
                    samples: vec![0.0; 10],
                })
            })
            .unwrap();
        assert!(!got.verified, "verification was off");
        assert_eq!(got.audio.unwrap().samples.len(), 10);
        log.push(&wake());
        let stop = Event::AudioStop {
            t_ms: 3000,
            reason: "shutdown".into(),
            total_dropped_ms: 0,
        };
        assert!(log.push(&stop).is_some());
    }
}
