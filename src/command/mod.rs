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
}

/// The command worker's half: Whisper (its own state over the shared model),
/// wake verification and the intent parser.
pub struct Commander {
    /// Wall-clock time of the last Whisper run, ms (for latency figures).
    pub last_asr_ms: u64,
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

    /// Forgets the last command's audio.
    pub fn reset(&mut self) {
        self.kept_clip = None;
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
            let (v, plain) = verify_wake_clip(&mut self.asr, &job.clip, &t, &self.check)?;
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
    let Some(heard) = c.hear(&job, out)? else {
        return Ok(());
    };
    let asked = context.and_then(|j| j.start(job).then_some(j));
    let understood = c.understand(heard, out);
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
