//! The pipeline on the calling thread ([`run`]): the same front end and the
//! same sequence after a wake as [`super::run_threaded`], with no store and
//! no player, for tests, `eval` and benchmarks.

use std::sync::atomic::{AtomicBool, Ordering};

use super::front::{FrontEnd, ToWorker};
use super::load::Loaded;
use super::Summary;
use crate::audio::AudioSource;
use crate::command::front::WakeFront;
use crate::command::{self, Beside, Commander, ContextJudge, Job, Speculate};
use crate::config::Config;
use crate::context::ContextStage;
use crate::events::Event;
use crate::vad::VoiceDetector;
use crate::Error;

/// Everything after the VAD: the wake word ([`WakeFront`]) and then Whisper
/// and the intent parser ([`Commander`]), on one thread. Audio reaches Whisper
/// only after the first stage fired. `listen` runs the same two halves on two
/// threads ([`super::run_threaded`]).
pub struct Assistant {
    front: WakeFront,
    commander: Commander,
    context: Option<ContextStage>,
}

impl Assistant {
    /// Loads the wake models (for "hey player"), Whisper and the context
    /// stage, once.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let Loaded {
            wake, asr, context, ..
        } = Loaded::load(config, true)?;
        let asr = asr.ok_or(Error::Panicked("model loader"))?;
        Ok(Self {
            front: WakeFront::new(config, wake),
            commander: Commander::new(config, asr),
            context,
        })
    }

    /// One recording, on this thread: the same events as the threaded
    /// pipeline ([`command::handle`]; the context is judged beside the
    /// command, and its `context` event follows the command's).
    pub fn handle(&mut self, job: Job, out: &mut Vec<Event>) {
        let mut beside = self
            .context
            .as_mut()
            .map(|stage| Beside { stage, job: None });
        let judge = beside.as_mut().map(|b| b as &mut dyn ContextJudge);
        command::handle(&mut self.commander, judge, job, out)
    }

    /// Wall-clock time of the last Whisper run, ms (for latency figures).
    pub fn last_asr_ms(&self) -> u64 {
        self.commander.last_asr_ms
    }

    /// How long after the end of its recording the last command was ready,
    /// had the audio come in real time, ms (for latency figures).
    pub fn last_wait_ms(&self) -> u64 {
        self.commander.last_wait_ms
    }

    /// Forgets everything heard (buffers, recording), keeping the models.
    pub fn reset(&mut self) {
        self.front.reset();
        self.commander.reset();
    }
}

/// Runs the front end over any source on the calling thread: the same code
/// for mic, file and stdin, with no store and no player (for tests, `eval`
/// and benchmarks). With an [`Assistant`], wake words and commands are
/// handled too. No `state` events: those come from [`super::run_threaded`].
pub fn run<S: AudioSource>(
    source: S,
    detector: VoiceDetector,
    mut assistant: Option<&mut Assistant>,
    stop: &AtomicBool,
    mut emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let mut fe = FrontEnd::new(source, detector)?;
    let mut msgs = Vec::with_capacity(16);
    let mut events = Vec::with_capacity(8);
    loop {
        let stopped = stop.load(Ordering::Relaxed);
        let more = !stopped && {
            let (front, ahead) = match assistant.as_mut() {
                Some(a) => (
                    Some(&mut a.front),
                    Some(&mut a.commander as &mut dyn Speculate),
                ),
                None => (None, None),
            };
            fe.pump(front, ahead, &mut msgs)?
        };
        if !more {
            fe.finish(
                assistant.as_mut().map(|a| &mut a.front),
                stop.load(Ordering::Relaxed),
                &mut msgs,
            );
        }
        for m in msgs.drain(..) {
            match m {
                ToWorker::Event(ev) => emit(&ev).map_err(Error::Output)?,
                ToWorker::State(..) | ToWorker::Ahead(..) => {}
                ToWorker::Job(job) => {
                    if let Some(a) = assistant.as_mut() {
                        a.handle(job, &mut events);
                    }
                    for ev in events.drain(..) {
                        emit(&ev).map_err(Error::Output)?;
                    }
                }
            }
        }
        if !more {
            return Ok(fe.summary());
        }
    }
}

/// Runs a source to the end through the VAD only and collects its events.
pub fn collect_events<S: AudioSource>(source: S, config: &Config) -> Result<Vec<Event>, Error> {
    collect(source, config, None)
}

/// Runs a source to the end through everything (wake word, Whisper, intents)
/// and collects its events. `assistant` is reset first, so one can serve many files.
pub fn collect_all_events<S: AudioSource>(
    source: S,
    config: &Config,
    mut assistant: Assistant,
) -> Result<Vec<Event>, Error> {
    collect_all_events_with(source, config, &mut assistant)
}

/// [`collect_all_events`] with a borrowed assistant (reset first).
pub fn collect_all_events_with<S: AudioSource>(
    source: S,
    config: &Config,
    assistant: &mut Assistant,
) -> Result<Vec<Event>, Error> {
    assistant.reset();
    collect(source, config, Some(assistant))
}

fn collect<S: AudioSource>(
    source: S,
    config: &Config,
    assistant: Option<&mut Assistant>,
) -> Result<Vec<Event>, Error> {
    let silero = Loaded::load(config, false)?.silero;
    let detector = VoiceDetector::new(&config.vad, &silero)?;
    let mut events = Vec::new();
    run(source, detector, assistant, &AtomicBool::new(false), |e| {
        events.push(e.clone());
        Ok(())
    })?;
    Ok(events)
}
