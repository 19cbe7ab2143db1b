//! The command worker and the context worker: one recording at a time,
//! Whisper and the intent parser on one thread, context beside it on
//! another. Also the combined `state` event stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::front::ToWorker;
use crate::command::{self, classify, Commander, ContextJudge, Job, Reading, Speculate};
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
    ahead: AheadReplies,
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
            ToWorker::Ahead(id, job) => {
                // Skipped when speech resumed before its turn; given up
                // between steps when it resumes during it.
                let live = &ahead.live;
                if let (Some(c), true) = (commander.as_mut(), live.load(Ordering::Acquire) == id) {
                    let void = || live.load(Ordering::Acquire) != id;
                    // Always a reply, so a front end waiting for it never
                    // hangs: a void or failed hearing is `Unsure` (the
                    // recording's end hears it afresh). The front end drains
                    // these; a full line only loses a reading it no longer
                    // waits for.
                    let r = c.speculate(id, &job, &void).unwrap_or(Reading::Unsure);
                    let _ = ahead.tx.try_send((id, r));
                }
                true
            }
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

/// The hearing ahead that is live (0: none), shared by the front end and the
/// command worker.
pub(crate) type Live = Arc<AtomicU64>;

/// Readings from the worker to the front end, and the live number.
pub(crate) struct AheadReplies {
    pub tx: Sender<(u64, Reading)>,
    pub live: Live,
}

/// How many readings may wait for the front end.
pub(crate) const AHEAD_REPLIES: usize = 8;

/// The front end's side of hearing ahead on threads: recordings up to a
/// pause go straight to the command worker; readings come back.
pub(crate) struct AheadLink {
    /// To the command worker.
    pub tx: Sender<ToWorker>,
    /// Readings back.
    pub rx: Receiver<(u64, Reading)>,
    /// The live hearing.
    pub live: Live,
    /// The source cannot wait (a microphone): never block for a reading.
    pub lossy: bool,
}

impl Speculate for AheadLink {
    fn start(&mut self, id: u64, job: Job) {
        while self.rx.try_recv().is_ok() {}
        self.live.store(id, Ordering::Release);
        let _ = self.tx.send(ToWorker::Ahead(id, job));
    }

    fn void(&mut self, id: u64) {
        let _ = self
            .live
            .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire);
    }

    fn reading(&mut self, id: u64, wait: bool) -> Option<Reading> {
        loop {
            let got = if wait && !self.lossy {
                self.rx.recv().ok()
            } else {
                self.rx.try_recv().ok()
            };
            match got {
                Some((i, r)) if i == id => return Some(r),
                Some(_) => continue,
                None => return None,
            }
        }
    }
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
