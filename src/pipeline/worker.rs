//! The command worker and the context worker: one recording at a time,
//! Whisper and the intent parser on one thread, context beside it on
//! another. Also the combined `state` event stream.

use crossbeam_channel::{Receiver, Sender};

use super::front::ToWorker;
use crate::command::{self, classify, Commander, ContextJudge, Job};
use crate::context::{ContextLabels, ContextStage};
use crate::events::{Event, ListenState};
use crate::Error;

/// From the command worker to the output.
#[derive(Debug)]
pub(crate) enum ToSink {
    /// An event.
    Event(Event),
    /// The audio of the command whose events follow (raw audio opted in).
    Clip(Vec<f32>),
    /// All the events of a command were sent: act on it.
    JobDone,
}

/// The command worker: forwards the front end's events, runs each recording
/// through Whisper and the intent parser, and reports the combined state.
pub(crate) fn command_worker(
    mut commander: Option<Commander>,
    mut context: Option<ContextLink>,
    rx: Receiver<ToWorker>,
    tx: Sender<ToSink>,
    tokens: Sender<()>,
) -> Result<(), Error> {
    let mut states = StateTracker::default();
    let mut out = Vec::with_capacity(8);
    let send = |m: ToSink| tx.send(m).is_ok();
    for m in rx {
        let ok = match m {
            ToWorker::Event(ev) => send(ToSink::Event(ev)),
            ToWorker::State(t_ms, s) => states
                .front(t_ms, s)
                .is_none_or(|ev| send(ToSink::Event(ev))),
            ToWorker::Job(job) => {
                let (t_ms, after) = (job.t_ms, job.after);
                let mut ok = states
                    .busy(t_ms, true)
                    .is_none_or(|ev| send(ToSink::Event(ev)));
                if let Some(c) = commander.as_mut() {
                    let judge = context.as_mut().map(|l| l as &mut dyn ContextJudge);
                    command::handle(c, judge, job, &mut out);
                    let _ = tokens.send(());
                    if let Some(clip) = c.take_clip() {
                        ok &= send(ToSink::Clip(clip));
                    }
                }
                for ev in out.drain(..) {
                    ok &= send(ToSink::Event(ev));
                }
                ok &= send(ToSink::JobDone);
                states.front = Some(after);
                ok && states
                    .busy(t_ms, false)
                    .is_none_or(|ev| send(ToSink::Event(ev)))
            }
        };
        if !ok {
            // The output has stopped (it reports why).
            return Ok(());
        }
    }
    Ok(())
}

/// The command worker's line to the context worker: recordings out, labels
/// back. The context of a wake is judged there while Whisper parses the
/// command.
pub(crate) struct ContextLink {
    /// Recordings to classify.
    pub tx: Sender<Job>,
    /// Their labels, in order.
    pub rx: Receiver<Result<Option<ContextLabels>, Error>>,
}

impl ContextJudge for ContextLink {
    fn start(&mut self, job: Job) -> bool {
        self.tx.send(job).is_ok()
    }

    fn finish(&mut self) -> Result<Option<ContextLabels>, Error> {
        self.rx
            .recv()
            .map_err(|_| Error::Panicked("context worker"))?
    }
}

/// The context worker: classifies each recording it is handed.
pub(crate) fn context_worker(
    mut stage: ContextStage,
    rx: Receiver<Job>,
    tx: Sender<Result<Option<ContextLabels>, Error>>,
) {
    for job in rx {
        if tx.send(classify(&mut stage, &job)).is_err() {
            return;
        }
    }
}

/// Combines the front end's state with the command worker's into the one
/// `state` event stream: `processing` while Whisper works, else the front
/// end's. Reports only changes.
#[derive(Debug, Default)]
struct StateTracker {
    front: Option<ListenState>,
    busy: bool,
    shown: Option<ListenState>,
}

impl StateTracker {
    fn front(&mut self, t_ms: u64, s: ListenState) -> Option<Event> {
        self.front = Some(s);
        self.show(t_ms)
    }

    fn busy(&mut self, t_ms: u64, busy: bool) -> Option<Event> {
        self.busy = busy;
        self.show(t_ms)
    }

    fn show(&mut self, t_ms: u64) -> Option<Event> {
        let now = if self.busy {
            ListenState::Processing
        } else {
            self.front?
        };
        (self.shown != Some(now)).then(|| {
            self.shown = Some(now);
            Event::State { t_ms, state: now }
        })
    }
}
