//! After a wake: the front end's half ([`front`]: first stage, pre-roll and
//! the [`recorder`]), the second wake stage ([`verify`]) and the command
//! worker's half ([`Commander`]: Whisper hears the recording, the wake is
//! verified, context is judged beside it and the command understood).
//! Synchronous; the pipeline runs these on its threads.

pub mod front;
pub mod recorder;
pub mod verify;

use crate::asr::{AsrWorker, Transcript};
use crate::config::Config;
use crate::context::{ContextError, ContextLabels, ContextStage};
use crate::events::{Event, ListenState};
use crate::Error;
use recorder::CommandEnd;
pub use recorder::Reading;
use verify::{match_phrase, phrase_heard, verify_wake_clip, wake_lead, WakeCheck};

/// A finished command recording, handed from the front end to the command
/// worker (one per wake; the clip is copied once, never per frame).
#[derive(Debug, Clone)]
pub struct Job {
    /// Audio clock at the end of the recording, ms.
    pub t_ms: u64,
    /// Why the recording ended.
    pub end: CommandEnd,
    /// Pre-roll, wake phrase and command, 16 kHz mono.
    pub clip: Vec<f32>,
    /// The VAD's decision for each 10 ms frame of `clip`.
    pub speech: Vec<bool>,
    /// How much of `clip` is pre-roll, ms.
    pub preroll_ms: u64,
    /// When the first stage fired, ms.
    pub wake_t_ms: u64,
    /// Its score.
    pub wake_score: f32,
    /// The front end's state once the recording ended.
    pub after: ListenState,
    /// The hearing ahead ([`Speculate`]) that stands for this recording: it
    /// was started at the last pause, and nobody spoke after it.
    pub ahead: Option<u64>,
}

/// Hears a command while it is still being recorded (issue 31). At a pause
/// the recording so far goes to Whisper; if the speaker goes on, that hearing
/// is void; if not, it stands for the whole recording, so the command is
/// ready as the recording ends, and when it was heard as complete a short
/// quiet ends the recording ([`Reading`]).
pub trait Speculate {
    /// Starts hearing `job`, the recording up to the pause, as number `id`.
    fn start(&mut self, id: u64, job: Job);
    /// Speech resumed: hearing `id` is void.
    fn void(&mut self, id: u64);
    /// What `id` was heard as, if known; waits for it when `wait` and the
    /// pipeline can afford to (never on a lossy source).
    fn reading(&mut self, id: u64, wait: bool) -> Option<Reading>;
}

/// Most hearings ahead kept at once: the last pause's, and one whose
/// recording has ended but is not yet handled.
const MAX_AHEAD: usize = 2;

/// A recording heard ahead of its end: its events, ready to go out when the
/// recording ends without more speech.
#[derive(Debug)]
struct Ahead {
    id: u64,
    /// Audio clock at the pause, ms (the events' `t_ms`).
    t_ms: u64,
    /// Wall-clock time the hearing took, ms.
    took_ms: u64,
    events: Vec<Event>,
    /// The wake stood.
    stood: bool,
    reading: Reading,
}

/// The command worker's half: Whisper (its own state over the shared model),
/// wake verification and the intent parser.
pub struct Commander {
    /// Wall-clock time of the last Whisper run, ms (for latency figures).
    pub last_asr_ms: u64,
    /// How long after the end of its recording the last command was ready,
    /// ms, had the audio come in real time (0 when it was heard ahead and
    /// done before; for latency figures).
    pub last_wait_ms: u64,
    /// Recordings heard ahead, oldest first (at most [`MAX_AHEAD`]).
    ahead: Vec<Ahead>,
    /// No first-stage model: every speech onset was a candidate.
    onset: bool,
    verify: bool,
    check: WakeCheck,
    asr: AsrWorker,
    /// Keep a copy of each command's audio for the store (raw audio opted in).
    keep_clip: bool,
    /// The last command's audio, until the store takes it.
    kept_clip: Option<Vec<f32>>,
}

impl Commander {
    /// Over a Whisper worker of its own.
    pub fn new(config: &Config, asr: AsrWorker) -> Self {
        let w = &config.wake;
        let onset = !w.uses_model();
        Self {
            last_asr_ms: 0,
            last_wait_ms: 0,
            ahead: Vec::with_capacity(MAX_AHEAD + 1),
            onset,
            // A custom phrase has no first-stage model: Whisper must check it.
            verify: w.verify || onset,
            check: WakeCheck::new(w),
            asr,
            keep_clip: config.retention.raw_audio.on_disk(),
            kept_clip: None,
        }
    }

    /// The audio of the last command, if raw audio is kept (taken once).
    pub fn take_clip(&mut self) -> Option<Vec<f32>> {
        self.kept_clip.take()
    }

    /// Its Whisper worker, for plain transcription (the Wyoming server's
    /// `transcribe`).
    pub fn asr(&mut self) -> &mut AsrWorker {
        &mut self.asr
    }

    /// Forgets the last command's audio and what was heard ahead.
    pub fn reset(&mut self) {
        self.kept_clip = None;
        self.ahead.clear();
    }

    /// Hears `job`, a recording up to a pause, ahead of its end, as number
    /// `id` (see [`Speculate`]); `void` says when that hearing was made void
    /// (it is then given up between steps). Returns what it was heard as,
    /// `None` when it was void or failed (the recording's end then hears it
    /// afresh and reports the failure).
    pub fn speculate(&mut self, id: u64, job: &Job, void: &dyn Fn() -> bool) -> Option<Reading> {
        let started = std::time::Instant::now();
        let mut events = Vec::with_capacity(4);
        let heard = self.hear(job, &mut events);
        // Only the recording's end keeps audio.
        self.kept_clip = None;
        let stood = match heard {
            Ok(Some(heard)) => {
                if void() {
                    return None;
                }
                self.understand(heard, &mut events).ok()?;
                true
            }
            Ok(None) => false,
            Err(_) => return None,
        };
        let reading = if stood {
            reading_of(&events)
        } else {
            Reading::Rejected
        };
        if self.ahead.len() == MAX_AHEAD {
            self.ahead.remove(0);
        }
        self.ahead.push(Ahead {
            id,
            t_ms: job.t_ms,
            took_ms: started.elapsed().as_millis() as u64,
            events,
            stood,
            reading,
        });
        Some(reading)
    }

    /// The hearing ahead that stands for `job`, taken (older ones are dropped).
    fn take_ahead(&mut self, job: &Job) -> Option<Ahead> {
        let id = job.ahead?;
        let i = self.ahead.iter().position(|a| a.id == id)?;
        let a = self.ahead.remove(i);
        self.ahead.retain(|b| b.id > id);
        Some(a)
    }

    /// Transcribes a recording and checks the wake phrase (the second stage).
    /// Returns what is left to understand when the wake stands; events so far
    /// (`wake_rejected`, or `wake` for an onset trigger) go to `out`.
    pub fn hear(&mut self, job: &Job, out: &mut Vec<Event>) -> Result<Option<Heard>, Error> {
        let onset = self.onset;
        let t_ms = job.t_ms;
        if onset && job.end == CommandEnd::Silent {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let mut t = self.asr.transcribe(&job.clip)?;
        self.last_asr_ms = started.elapsed().as_millis() as u64;
        // Why the second stage said no, and what it heard without the prompt.
        let mut rejected: (Option<String>, Option<String>) = (None, None);
        let matched = if onset {
            match_phrase(&t.text, &self.check.phrase)
        } else if self.verify {
            let (v, plain) = verify_wake_clip(&mut self.asr, &t, &self.check, job.wake_score)?;
            self.last_asr_ms = started.elapsed().as_millis() as u64;
            rejected.0 = v.why();
            match (v.command(), plain) {
                (Some(rest), Some(plain)) => {
                    t = plain;
                    Some(rest)
                }
                (m, plain) => {
                    rejected.1 = plain.map(|p| p.text);
                    m
                }
            }
        } else {
            phrase_heard(&mut self.asr, &t, &self.check)?
        };
        let command_text = match matched.clone() {
            Some(rest) => rest,
            None if self.verify => {
                // Onset triggers are not wakes at all unless the phrase is heard.
                if !onset {
                    let (why, heard_plain) = rejected;
                    out.push(Event::WakeRejected {
                        t_ms,
                        heard: Some(t.text),
                        heard_plain,
                        why: why.unwrap_or_default(),
                    });
                }
                return Ok(None);
            }
            None => crate::intent::normalise(&t.text),
        };
        if onset {
            out.push(Event::Wake {
                t_ms: job.wake_t_ms,
                phrase: self.check.phrase.clone(),
                score: job.wake_score,
            });
        }
        if self.keep_clip {
            self.kept_clip = Some(job.clip.clone());
        }
        Ok(Some(Heard {
            t_ms,
            transcript: t,
            command_text,
            matched: matched.is_some(),
            started,
        }))
    }

    /// Parses what was heard after the wake phrase (guided decoding when the
    /// transcript is not a command). Events go to `out`.
    pub fn understand(&mut self, heard: Heard, out: &mut Vec<Event>) -> Result<(), Error> {
        let Heard {
            t_ms,
            transcript: t,
            command_text,
            matched,
            started,
        } = heard;
        if command_text.is_empty() {
            out.push(Event::NotUnderstood {
                t_ms,
                text: String::new(),
                reason: "no command after the wake word".into(),
            });
            return Ok(());
        }
        out.push(Event::Transcript {
            t_ms,
            text: command_text.clone(),
        });
        let lead = if matched {
            wake_lead(&self.check.phrase)
        } else {
            String::new()
        };
        let u = self.asr.understand(&t, &command_text, &lead)?;
        self.last_asr_ms = started.elapsed().as_millis() as u64;
        let guided = u.guided_text().map(str::to_string);
        let ev = match u.command {
            Some(command) => Event::Command {
                t_ms,
                command,
                guided,
            },
            None => Event::NotUnderstood {
                t_ms,
                text: command_text,
                reason: u.reason.unwrap_or_else(|| "not a command".into()),
            },
        };
        out.push(ev);
        Ok(())
    }
}

impl Speculate for Commander {
    fn start(&mut self, id: u64, job: Job) {
        self.speculate(id, &job, &|| false);
    }

    fn void(&mut self, id: u64) {
        self.ahead.retain(|a| a.id != id);
    }

    fn reading(&mut self, id: u64, _wait: bool) -> Option<Reading> {
        self.ahead.iter().find(|a| a.id == id).map(|a| a.reading)
    }
}

/// What a hearing's events make of the command: complete, open ("play ...")
/// or not one yet.
fn reading_of(events: &[Event]) -> Reading {
    events
        .iter()
        .find_map(|e| match e {
            Event::Command { command, .. } => Some(match command.action {
                crate::intent::Action::Play => Reading::Open,
                _ => Reading::Complete,
            }),
            _ => None,
        })
        .unwrap_or(Reading::Unsure)
}

/// A recording whose wake phrase stood, waiting to be understood.
#[derive(Debug)]
pub struct Heard {
    t_ms: u64,
    transcript: Transcript,
    command_text: String,
    matched: bool,
    started: std::time::Instant,
}

/// Judges the context of a recording beside the command: on the same thread
/// ([`Beside`]) or on the pipeline's context worker.
pub trait ContextJudge {
    /// Starts judging `job` (a wake that stood); false if it cannot.
    fn start(&mut self, job: Job) -> bool;
    /// The labels of the job started last; `None` when it is too short to judge.
    fn finish(&mut self) -> Result<Option<ContextLabels>, Error>;
}

/// A [`ContextJudge`] on the calling thread: judges when asked to finish.
pub struct Beside<'a> {
    /// The stage.
    pub stage: &'a mut ContextStage,
    /// The job started last.
    pub job: Option<Job>,
}

impl ContextJudge for Beside<'_> {
    fn start(&mut self, job: Job) -> bool {
        self.job = Some(job);
        true
    }

    fn finish(&mut self) -> Result<Option<ContextLabels>, Error> {
        match self.job.take() {
            Some(job) => classify(self.stage, &job),
            None => Ok(None),
        }
    }
}

/// The context of a recording; `None` when it is too short to judge.
pub fn classify(stage: &mut ContextStage, job: &Job) -> Result<Option<ContextLabels>, Error> {
    match stage.classify_with_preroll(&job.clip, &job.speech, job.preroll_ms) {
        Ok(labels) => Ok(Some(labels)),
        Err(ContextError::TooShort { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One recording, the one sequence after a wake wherever it runs: Whisper
/// hears it; if the wake stands (context never looks at a rejected wake),
/// context is judged beside the command while it is understood; the
/// `context` event follows the command's. Events go to `out`.
///
/// A failure while handling this one wake (Whisper, the context stage)
/// becomes a `command_failed` event with the reason, never the audio or the
/// words; the events before it stand, and listening goes on.
pub fn handle(
    c: &mut Commander,
    context: Option<&mut dyn ContextJudge>,
    job: Job,
    out: &mut Vec<Event>,
) {
    let t_ms = job.t_ms;
    if let Err(e) = sequence(c, context, job, out) {
        out.push(Event::CommandFailed {
            t_ms,
            stage: e.stage().into(),
            reason: e.to_string(),
        });
    }
}

fn sequence(
    c: &mut Commander,
    context: Option<&mut dyn ContextJudge>,
    job: Job,
    out: &mut Vec<Event>,
) -> Result<(), Error> {
    let t_ms = job.t_ms;
    if let Some(ahead) = c.take_ahead(&job) {
        return ahead_done(c, context, job, ahead, out);
    }
    let heard = c.hear(&job, out);
    c.last_wait_ms = c.last_asr_ms;
    let Some(heard) = heard? else {
        return Ok(());
    };
    let asked = context.and_then(|j| j.start(job).then_some(j));
    let understood = c.understand(heard, out);
    c.last_wait_ms = c.last_asr_ms;
    // A context started is always finished, so its answer never waits for
    // (and is never taken as) the next wake's.
    let labels = match asked {
        Some(j) => j.finish(),
        None => Ok(None),
    };
    understood?;
    out.extend(labels?.map(|labels| Event::Context {
        t_ms,
        labels: Box::new(labels),
    }));
    Ok(())
}

/// A recording heard ahead of its end: the events of that hearing, at the
/// recording's end; the context is judged on the whole recording.
fn ahead_done(
    c: &mut Commander,
    context: Option<&mut dyn ContextJudge>,
    job: Job,
    ahead: Ahead,
    out: &mut Vec<Event>,
) -> Result<(), Error> {
    let t_ms = job.t_ms;
    // Ready this long after the recording ended (real-time audio).
    c.last_wait_ms = (ahead.t_ms + ahead.took_ms).saturating_sub(t_ms);
    for mut ev in ahead.events {
        if ev.t_ms() == ahead.t_ms {
            *ev.t_ms_mut() = t_ms;
        }
        out.push(ev);
    }
    if !ahead.stood {
        return Ok(());
    }
    if c.keep_clip {
        c.kept_clip = Some(job.clip.clone());
    }
    let labels = match context {
        Some(j) => {
            if j.start(job) {
                j.finish()?
            } else {
                None
            }
        }
        None => None,
    };
    out.extend(labels.map(|labels| Event::Context {
        t_ms,
        labels: Box::new(labels),
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{Action, Command};

    fn command(action: Action) -> Event {
        Event::Command {
            t_ms: 0,
            command: Command {
                action,
                query: None,
                value: None,
            },
            guided: None,
        }
    }

    #[test]
    fn issue_31_a_reading_says_whether_the_command_may_go_on() {
        assert_eq!(reading_of(&[command(Action::Pause)]), Reading::Complete);
        assert_eq!(reading_of(&[command(Action::VolumeSet)]), Reading::Complete);
        assert_eq!(reading_of(&[command(Action::Play)]), Reading::Open);
        let not = Event::NotUnderstood {
            t_ms: 0,
            text: "play some".into(),
            reason: "not a command".into(),
        };
        assert_eq!(reading_of(&[not]), Reading::Unsure);
        assert_eq!(reading_of(&[]), Reading::Unsure);
    }
}
