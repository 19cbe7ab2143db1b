//! The listening pipeline. This module alone owns threads and channels.
//!
//! Today: source → resampler → VAD → events.
//! - **mic**: cpal's audio thread runs the capture callback, which `try_send`s
//!   fixed blocks into a bounded channel created here before the stream
//!   starts; the front end (resampler + VAD) runs on the calling thread and
//!   reads from that channel.
//! - **file / stdin**: the front end reads the source directly on the calling
//!   thread (nothing can be lost: a file waits for its reader).
//! - **privacy store** (`listen` only): the listening thread writes what the
//!   retention rules allow of each wake event ([`Keeper`]); a sweeper thread,
//!   with its own connection, deletes expired data every
//!   [`heyplayer_privacy::store::SWEEP_EVERY`] and reports back
//!   over a channel.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use heyplayer_privacy::store::{Clip, Counts, ModelInUse, SWEEP_EVERY};
use heyplayer_privacy::{PrivacyError, Store, SystemClock};

use crate::asr::{AsrModel, AsrWorker, CommandEnd, CommandRecorder, Transcript};
use crate::audio::mic::{CaptureQueue, HostChoice, MicSource, CAPTURE_BLOCK};
use crate::audio::stdin::RawPcmSource;
use crate::audio::wav::WavSource;
use crate::audio::{samples_to_ms, AudioSource, FrameStream, Item, Notice};
use crate::audio::{Frame, FRAME_MS, SAMPLE_RATE};
use crate::config::Config;
use crate::context::{ContextError, ContextLabels, ContextModel, ContextStage};
use crate::events::{Event, ListenState};
use crate::keep::CaptureLog;
use crate::models;
use crate::playback::{act, Outcome, Player};
use crate::vad::{Boundary, VoiceDetector};
use crate::wake::{match_phrase, PreRoll, WakeDetector, WakeModels};
use crate::Error;

/// Where the audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A microphone through cpal.
    Mic {
        /// cpal host.
        host: HostChoice,
        /// Device name or id; `None` for the default.
        device: Option<String>,
    },
    /// A WAV file.
    File {
        /// The file.
        path: PathBuf,
        /// Pace reading at real time.
        realtime: bool,
    },
    /// Raw s16le PCM on stdin.
    Stdin {
        /// Sample rate in Hz.
        rate: u32,
        /// Channel count.
        channels: u16,
    },
}

/// Totals of one listening run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Audio handled, ms (audio clock at the end).
    pub audio_ms: u64,
    /// Speech segments found.
    pub segments: u64,
    /// Audio dropped, ms.
    pub dropped_ms: u64,
}

/// Listens to `input` until it ends or `stop` is set, handing every event to `emit`.
///
/// With `assistant` false only the VAD runs (no wake word, no Whisper).
/// Runs on threads ([`run_threaded`]); `emit`, the privacy store and the
/// player stay on the calling thread.
pub fn listen(
    input: &Input,
    config: &Config,
    assistant: bool,
    player: Option<&mut dyn Player>,
    stop: &Arc<AtomicBool>,
    emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let threads = Threads {
        config,
        assistant,
        player,
        stop,
    };
    match input {
        Input::Mic { host, device } => {
            // Room for `queue_ms` of audio at up to 48 kHz before drops start.
            let blocks = (config.audio.queue_ms as usize * 48)
                .div_ceil(CAPTURE_BLOCK)
                .max(4);
            let stop = Arc::clone(stop);
            let open = move || {
                let (tx, rx) = crossbeam_channel::bounded(blocks);
                Ok(MicSource::open(
                    *host,
                    device.as_deref(),
                    CaptureQueue { tx, rx },
                    stop,
                )?)
            };
            run_threaded(open, true, threads, emit)
        }
        Input::File { path, realtime } => run_threaded(
            || Ok(WavSource::open(path, *realtime)?),
            *realtime,
            threads,
            emit,
        ),
        Input::Stdin { rate, channels } => {
            let open = || {
                let stdin = std::io::stdin().lock();
                Ok(RawPcmSource::new(
                    StdinReader(stdin),
                    "-",
                    *rate,
                    *channels,
                )?)
            };
            run_threaded(open, false, threads, emit)
        }
    }
}

/// What [`run_threaded`] borrows from its caller.
pub struct Threads<'a, 'p> {
    /// Settings.
    pub config: &'a Config,
    /// Run the wake word and Whisper (else the VAD only).
    pub assistant: bool,
    /// The player commands drive, if any.
    pub player: Option<&'p mut dyn Player>,
    /// Set to stop listening.
    pub stop: &'a AtomicBool,
}

/// Commands that may wait for the command worker at once; with a lossy
/// source (a microphone, a file read in real time) a wake beyond these is
/// dropped and reported rather than holding up capture.
pub const MAX_PENDING_COMMANDS: usize = 2;
/// Messages from the front end to the command worker (events are a few per
/// second; the command recordings are bounded by [`MAX_PENDING_COMMANDS`]).
const WORKER_QUEUE: usize = 256;
/// Messages from the command worker to the output.
const SINK_QUEUE: usize = 256;
/// How often the output thread looks for sweeper reports when idle.
const SINK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The listening pipeline on threads:
/// - **capture**: cpal's callback thread (microphone), which `try_send`s into
///   the bounded queue `open` creates;
/// - **front end** (`heyplayer-front`): opens the source (so `!Send` audio
///   handles and the VAD live on the thread that uses them), resamples, runs
///   the VAD and the wake word, and hands each command recording on;
/// - **command worker** (`heyplayer-command`): Whisper, verification and the
///   intent parser, one recording at a time; it forwards the front end's
///   events in order, so the output is the same as [`run`]'s, plus `state`
///   events;
/// - **output** (the calling thread): the privacy store, the player and `emit`.
///
/// `lossy`: the source cannot wait (a microphone, real-time reading), so a
/// recording that finds [`MAX_PENDING_COMMANDS`] already waiting is dropped
/// and reported as `work_dropped`; otherwise the front end waits.
pub fn run_threaded<S, F>(
    open: F,
    lossy: bool,
    t: Threads<'_, '_>,
    mut emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error>
where
    S: AudioSource,
    F: FnOnce() -> Result<S, Error> + Send,
{
    let Threads {
        config,
        assistant,
        player,
        stop,
    } = t;
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let (front, commander, context) = if assistant {
        (
            Some(WakeFront::new(config)?),
            Some(Commander::new(config)?),
            context_stage(config)?,
        )
    } else {
        (None, None, None)
    };
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<String, Error>>(1);
    let (wtx, wrx) = crossbeam_channel::bounded::<ToWorker>(WORKER_QUEUE);
    let (stx, srx) = crossbeam_channel::bounded::<ToSink>(SINK_QUEUE);
    // One token per command that may be in the worker's hands.
    let (token_tx, token_rx) = crossbeam_channel::bounded::<()>(MAX_PENDING_COMMANDS);
    for _ in 0..MAX_PENDING_COMMANDS {
        let _ = token_tx.send(());
    }
    let abort = AtomicBool::new(false);
    let vad = &config.vad;
    std::thread::scope(|s| {
        let abort = &abort;
        let front_thread = std::thread::Builder::new()
            .name("heyplayer-front".into())
            .spawn_scoped(s, move || -> Result<Summary, Error> {
                let opened = open().and_then(|source| {
                    let detector = VoiceDetector::new(vad, &silero.path)?;
                    Ok((source, detector))
                });
                let (source, detector) = match opened {
                    Ok(x) => x,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(Summary::default());
                    }
                };
                let info = source.info();
                let _ = ready_tx.send(Ok(format!("{} {}", info.kind, info.name)));
                let mut fe = FrontEnd::new(source, detector)?;
                let mut front = front;
                let mut msgs = Vec::with_capacity(16);
                let mut dropped = 0u64;
                let stopping = || stop.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
                loop {
                    let more = if stopping() {
                        false
                    } else {
                        fe.pump(front.as_mut(), &mut msgs)?
                    };
                    if !more {
                        fe.finish(front.as_mut(), stopping(), &mut msgs);
                    }
                    for m in msgs.drain(..) {
                        let m = match m {
                            ToWorker::Job(job) => {
                                let token = if lossy {
                                    token_rx.try_recv().ok()
                                } else {
                                    token_rx.recv().ok()
                                };
                                if token.is_some() {
                                    ToWorker::Job(job)
                                } else {
                                    dropped += 1;
                                    ToWorker::Event(Event::WorkDropped {
                                        t_ms: job.t_ms,
                                        stage: "command".into(),
                                        what: format!(
                                            "the command heard at {:.2} s (Whisper was busy)",
                                            job.wake_t_ms as f64 / 1000.0
                                        ),
                                        total: dropped,
                                    })
                                }
                            }
                            m => m,
                        };
                        if wtx.send(m).is_err() {
                            // The worker stopped; it reports why.
                            return Ok(fe.summary());
                        }
                    }
                    if !more {
                        return Ok(fe.summary());
                    }
                }
            })
            .map_err(Error::Thread)?;
        let link = match context {
            Some(stage) => {
                let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(1);
                let (res_tx, res_rx) = crossbeam_channel::bounded(1);
                std::thread::Builder::new()
                    .name("heyplayer-context".into())
                    .spawn_scoped(s, move || context_worker(stage, job_rx, res_tx))
                    .map_err(Error::Thread)?;
                Some((job_tx, res_rx))
            }
            None => None,
        };
        let worker_thread = std::thread::Builder::new()
            .name("heyplayer-command".into())
            .spawn_scoped(s, move || {
                command_worker(commander, link, wrx, stx, token_tx)
            })
            .map_err(Error::Thread)?;
        let joined = |front_thread: std::thread::ScopedJoinHandle<'_, Result<Summary, Error>>,
                      worker_thread: std::thread::ScopedJoinHandle<'_, Result<(), Error>>|
         -> Result<Summary, Error> {
            let summary = front_thread
                .join()
                .map_err(|_| Error::Panicked("front end"))?;
            worker_thread
                .join()
                .map_err(|_| Error::Panicked("command worker"))??;
            summary
        };
        // A bad input fails before the store is touched.
        let input = match ready_rx.recv() {
            Ok(Ok(input)) => input,
            Ok(Err(e)) => {
                drop(srx);
                let _ = joined(front_thread, worker_thread);
                return Err(e);
            }
            Err(_) => {
                drop(srx);
                joined(front_thread, worker_thread)?;
                return Err(Error::Panicked("front end"));
            }
        };
        // The outlet first: a bad --context-socket fails before the store
        // records that listening started.
        let out_cfg = &config.context_out;
        let opened = match (&out_cfg.socket, &out_cfg.file) {
            (None, None) => Ok(None),
            (sock, file) => {
                heyplayer_privacy::outlet::Outlet::open(sock.as_deref(), file.as_deref())
                    .map(Some)
                    .map_err(Error::from)
            }
        }
        .and_then(|outlet| {
            Keeper::open(config, &input, assistant).map(|(k, swept)| (outlet, k, swept))
        });
        let (outlet, keeper, swept) = match opened {
            Ok(k) => k,
            Err(e) => {
                abort.store(true, Ordering::Relaxed);
                drop(srx);
                let _ = joined(front_thread, worker_thread);
                return Err(e);
            }
        };
        let mut sink = Sink {
            keeper: Some(keeper),
            player,
            outlet,
            clip: None,
            act: None,
            t_ms: 0,
        };
        let mut out = |ev: &Event| emit(ev);
        let drained = (|| -> Result<(), Error> {
            if !swept.is_empty() {
                out(&expired_event(0, swept)).map_err(Error::Output)?;
            }
            loop {
                match srx.recv_timeout(SINK_POLL) {
                    Ok(m) => sink.take(m, &mut out)?,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => sink.poll(&mut out)?,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
        })();
        if drained.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        drop(srx);
        let result = drained.and_then(|()| joined(front_thread, worker_thread));
        let reason = match &result {
            Ok(_) if stop.load(Ordering::Relaxed) => "shutdown".to_string(),
            Ok(_) => "end_of_input".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let t_end = result.as_ref().map_or(0, |s| s.audio_ms);
        if let Some(keeper) = sink.keeper.take() {
            if let Err(e) = keeper.close(&reason) {
                out(&Event::StoreError {
                    t_ms: t_end,
                    error: format!("cannot record the end of listening: {e}"),
                })
                .map_err(Error::Output)?;
            }
        }
        result
    })
}

/// From the front end to the command worker, in audio order.
#[derive(Debug)]
enum ToWorker {
    /// An event to pass on.
    Event(Event),
    /// The front end's state changed (`idle`, `listening` or `awake`).
    State(u64, ListenState),
    /// A command recording.
    Job(Job),
}

/// From the command worker to the output.
#[derive(Debug)]
enum ToSink {
    /// An event.
    Event(Event),
    /// The audio of the command whose events follow (raw audio opted in).
    Clip(Vec<f32>),
    /// All the events of a command were sent: act on it.
    JobDone,
}

/// The command worker: forwards the front end's events, runs each recording
/// through Whisper and the intent parser, and reports the combined state.
fn command_worker(
    mut commander: Option<Commander>,
    context: Option<ContextLink>,
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
                    let handled = handle_on_threads(c, context.as_ref(), job, &mut out);
                    let _ = tokens.send(());
                    handled?;
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

/// The command worker's line to the context worker: recordings out, labels back.
type ContextLink = (Sender<Job>, Receiver<Result<Option<ContextLabels>, Error>>);

/// One recording on the command worker, with the context worker beside it:
/// once Whisper has heard the wake phrase (context never looks at a rejected
/// wake), the recording goes to the context worker, which classifies it
/// while Whisper parses the command; its `context` event follows the command.
fn handle_on_threads(
    c: &mut Commander,
    context: Option<&ContextLink>,
    job: Job,
    out: &mut Vec<Event>,
) -> Result<(), Error> {
    let t_ms = job.t_ms;
    let Some(heard) = c.hear(&job, out)? else {
        return Ok(());
    };
    let asked = context.filter(|(tx, _)| tx.send(job).is_ok());
    c.understand(heard, out)?;
    if let Some((_, rx)) = asked {
        let labels = rx.recv().map_err(|_| Error::Panicked("context worker"))??;
        out.extend(labels.map(|labels| Event::Context {
            t_ms,
            labels: Box::new(labels),
        }));
    }
    Ok(())
}

/// The context worker: classifies each recording it is handed.
fn context_worker(
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

/// The context of a recording; `None` when it is too short to judge.
fn classify(stage: &mut ContextStage, job: &Job) -> Result<Option<ContextLabels>, Error> {
    match stage.classify_with_preroll(&job.clip, &job.speech, job.preroll_ms) {
        Ok(labels) => Ok(Some(labels)),
        Err(ContextError::TooShort { .. }) => Ok(None),
        Err(e) => Err(e.into()),
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

/// The output end: the privacy store, the player and the context outlet,
/// for the events in order.
struct Sink<'a> {
    keeper: Option<Keeper>,
    player: Option<&'a mut dyn Player>,
    outlet: Option<heyplayer_privacy::outlet::Outlet>,
    /// The audio of the command being delivered (raw audio opted in).
    clip: Option<Vec<f32>>,
    /// A command to act on once all its events are out, with its time.
    act: Option<(u64, crate::intent::Command)>,
    /// Audio clock of the latest event.
    t_ms: u64,
}

impl<'a> Sink<'a> {
    fn take(
        &mut self,
        m: ToSink,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        match m {
            ToSink::Event(ev) => self.deliver(ev, out),
            ToSink::Clip(c) => {
                self.clip = Some(c);
                Ok(())
            }
            ToSink::JobDone => self.job_done(out),
        }
    }

    /// Records, shows, publishes and (for a command) schedules one event.
    fn deliver(
        &mut self,
        ev: Event,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.t_ms = self.t_ms.max(ev.t_ms());
        let kept = self.keeper.as_mut().and_then(|k| k.on_event(&ev));
        let store_error = match (&ev, self.keeper.as_mut()) {
            (Event::State { state, t_ms }, Some(k)) => k.set_state(*state, *t_ms),
            _ => None,
        };
        if let (Event::Command { t_ms, command, .. }, Some(_)) = (&ev, &self.player) {
            self.act = Some((*t_ms, command.clone()));
        }
        let published = match (&ev, self.outlet.as_mut()) {
            (Event::Context { t_ms, labels }, Some(o)) => {
                let line = serde_json::json!({"schema": CONTEXT_SCHEMA, "type": "context", "t_ms": t_ms, "context": labels});
                o.publish(&line.to_string())
                    .err()
                    .map(|e| Event::StoreError {
                        t_ms: *t_ms,
                        error: format!("cannot publish the context: {e}"),
                    })
            }
            _ => None,
        };
        // A wake still waiting for its command is recorded before the stop.
        let stop = matches!(ev, Event::AudioStop { .. });
        if !stop {
            out(&ev).map_err(Error::Output)?;
        }
        for e in [kept, store_error, published].into_iter().flatten() {
            out(&e).map_err(Error::Output)?;
        }
        if stop {
            out(&ev).map_err(Error::Output)?;
        }
        Ok(())
    }

    /// All the events of a command are out: act on it, record the capture
    /// with its outcome, and show both.
    fn job_done(
        &mut self,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let clip = &mut self.clip;
        let kept = self
            .keeper
            .as_mut()
            .and_then(|k| k.end_of_command(self.t_ms, || clip.take()));
        self.clip = None;
        if let (Some((t_ms, command)), Some(p)) = (self.act.take(), self.player.as_mut()) {
            let o = act(&mut **p, &command);
            if let (
                Some(k),
                Some(Event::Kept {
                    record: Some(id), ..
                }),
            ) = (self.keeper.as_mut(), &kept)
            {
                if let Some(err) = k.set_outcome(*id, &o, t_ms) {
                    out(&err).map_err(Error::Output)?;
                }
            }
            out(&Event::ActionResult {
                t_ms,
                action: command.action,
                ok: o.ok,
                player: o.player,
                detail: o.detail,
            })
            .map_err(Error::Output)?;
        }
        if let Some(kept) = kept {
            out(&kept).map_err(Error::Output)?;
        }
        Ok(())
    }

    /// Shows what the sweeper deleted since the last look.
    fn poll(&mut self, out: &mut impl FnMut(&Event) -> std::io::Result<()>) -> Result<(), Error> {
        if let Some(o) = self.outlet.as_mut() {
            o.accept();
        }
        if let Some(ev) = self.keeper.as_mut().and_then(|k| k.poll(self.t_ms)) {
            out(&ev).map_err(Error::Output)?;
        }
        Ok(())
    }
}

/// The version of the context lines published on `--context-socket`.
pub const CONTEXT_SCHEMA: u32 = 1;

fn expired_event(t_ms: u64, c: Counts) -> Event {
    Event::Expired {
        t_ms,
        deleted: c.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
    }
}

/// The privacy store as the listener uses it: the writer on the listening
/// thread, and a sweeper thread with its own connection.
pub struct Keeper {
    store: Store,
    log: CaptureLog,
    sweeps: Receiver<Result<Counts, PrivacyError>>,
    stop_sweeper: Option<Sender<()>>,
    sweeper: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Opens the store in `config.data_dir` with the configured rules (which
    /// sweeps once), audits the start of listening on `input` and starts the
    /// sweeper. Returns what the start-up sweep deleted.
    pub fn open(config: &Config, input: &str, assistant: bool) -> Result<(Keeper, Counts), Error> {
        let clock = Arc::new(SystemClock);
        let mut store = Store::open(&config.data_dir, config.retention, clock.clone())?;
        let swept = store.opening_sweep().clone();
        let digest = {
            use sha2::Digest;
            heyplayer_privacy::audit::hex(&sha2::Sha256::digest(format!("{config:?}").as_bytes()))
        };
        store.note_config(&digest)?;
        let mut names = vec!["silero-vad".to_string()];
        if assistant {
            if config.wake.phrase == crate::config::DEFAULT_WAKE_PHRASE {
                names.extend(
                    ["oww-melspectrogram", "oww-embedding", "hey-player"].map(String::from),
                );
            }
            names.push(config.asr_model.clone());
            if config.context_enabled {
                names.push(crate::context::yamnet::MODEL_NAME.to_string());
            }
        }
        let models = names
            .iter()
            .filter_map(|n| models::entry(n).ok())
            .map(|e| ModelInUse {
                file: config.models_dir.join(&e.file).display().to_string(),
                name: e.name,
                sha256: e.sha256,
            })
            .collect();
        store.listening_started(input, models)?;
        let mut sweeper_store =
            Store::open_existing(&config.data_dir, clock)?.ok_or_else(|| {
                PrivacyError::Corrupt("the store vanished after it was opened".into())
            })?;
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let (tx, sweeps) = crossbeam_channel::bounded(16);
        let sweeper = std::thread::Builder::new()
            .name("heyplayer-sweeper".into())
            .spawn(move || loop {
                match stop_rx.recv_timeout(SWEEP_EVERY) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        let r = sweeper_store.sweep();
                        if matches!(&r, Ok(c) if c.is_empty()) {
                            continue;
                        }
                        // Reported by the listening thread; a full queue
                        // means it is not reading, and the next sweep reports.
                        let _ = tx.try_send(r);
                    }
                    _ => return,
                }
            })
            .map_err(|e| PrivacyError::Io {
                path: config.data_dir.clone(),
                source: e,
            })?;
        Ok((
            Keeper {
                store,
                log: CaptureLog::new(
                    config.wake.verify || config.wake.phrase != crate::config::DEFAULT_WAKE_PHRASE,
                ),
                sweeps,
                stop_sweeper: Some(stop_tx),
                sweeper: Some(sweeper),
            },
            swept,
        ))
    }

    /// Feeds an emitted event; when it closes a wake event's capture (one
    /// with no command), records it and returns the `kept` event, or a
    /// `store_error` event if the store could not write it (listening goes on
    /// either way).
    fn on_event(&mut self, ev: &Event) -> Option<Event> {
        let c = self.log.push(ev)?;
        Some(self.record(c, ev.t_ms()))
    }

    /// A command's events are all in: records its capture, with the audio
    /// from `clip` if the rules keep it.
    fn end_of_command(
        &mut self,
        t_ms: u64,
        clip: impl FnOnce() -> Option<Vec<f32>>,
    ) -> Option<Event> {
        let c = self.log.end_of_command(|| {
            clip().map(|samples| Clip {
                sample_rate: SAMPLE_RATE,
                samples,
            })
        })?;
        Some(self.record(c, t_ms))
    }

    fn record(&mut self, c: heyplayer_privacy::NewCapture, t_ms: u64) -> Event {
        match self.store.record_capture(c) {
            Ok(r) => Event::Kept {
                t_ms,
                record: r.id,
                kept: r.kinds,
            },
            Err(e) => Event::StoreError {
                t_ms,
                error: format!("cannot record this wake event: {e}"),
            },
        }
    }

    /// Adds a command's outcome to its record; a `store_error` event if that fails.
    fn set_outcome(&mut self, id: i64, o: &Outcome, t_ms: u64) -> Option<Event> {
        let v = serde_json::to_value(o).unwrap_or_default();
        self.store
            .set_outcome(id, v)
            .err()
            .map(|e| Event::StoreError {
                t_ms,
                error: format!("cannot record the outcome of record {id}: {e}"),
            })
    }

    /// Notes the listener's state for `heyplayer status`; a `store_error`
    /// event if that fails.
    fn set_state(&mut self, state: ListenState, t_ms: u64) -> Option<Event> {
        self.store
            .set_state(state.as_str())
            .err()
            .map(|e| Event::StoreError {
                t_ms,
                error: format!("cannot note the listening state: {e}"),
            })
    }

    /// What the sweeper deleted since the last call, as an event.
    fn poll(&mut self, t_ms: u64) -> Option<Event> {
        let mut all = Counts::new();
        while let Ok(r) = self.sweeps.try_recv() {
            match r {
                Ok(c) => {
                    for (k, n) in c {
                        *all.entry(k).or_default() += n;
                    }
                }
                Err(e) => {
                    return Some(Event::StoreError {
                        t_ms,
                        error: format!("the expiry sweeper failed (it retries): {e}"),
                    })
                }
            }
        }
        (!all.is_empty()).then(|| expired_event(t_ms, all))
    }

    /// Stops the sweeper and audits the end of listening.
    pub fn close(mut self, reason: &str) -> Result<(), Error> {
        drop(self.stop_sweeper.take());
        if let Some(h) = self.sweeper.take() {
            let _ = h.join();
        }
        self.store.listening_stopped(reason)?;
        Ok(())
    }
}

/// Reads stdin through its own buffer.
struct StdinReader<R>(R);

impl<R: BufRead> std::io::Read for StdinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// What starts a command recording.
enum Trigger {
    /// Our trained detector ("hey player").
    Model(Box<WakeDetector>),
    /// Any other phrase: every speech onset, checked by Whisper.
    Onset,
}

/// The context stage, when context is on (YAMNet loaded once, sha256-checked).
pub fn context_stage(config: &Config) -> Result<Option<ContextStage>, Error> {
    if !config.context_enabled {
        return Ok(None);
    }
    Ok(Some(ContextStage::new(ContextModel::load(
        &config.models_dir,
    )?)))
}

/// Loads the "hey player" models (features and head), sha256-checked.
pub fn wake_models(config: &Config) -> Result<WakeModels, Error> {
    let mel = models::locate("oww-melspectrogram", &config.models_dir)?;
    let emb = models::locate("oww-embedding", &config.models_dir)?;
    let head = models::locate("hey-player", &config.models_dir)?;
    Ok(WakeModels::load(&mel.path, &emb.path, &head.path)?)
}

/// Everything after the VAD: the wake word ([`WakeFront`]) and then Whisper
/// and the intent parser ([`Commander`]), on one thread. Audio reaches Whisper
/// only after the first stage fired. `listen` runs the same two halves on two
/// threads ([`run_threaded`]).
pub struct Assistant {
    front: WakeFront,
    commander: Commander,
    context: Option<ContextStage>,
}

impl Assistant {
    /// Loads the wake models (for "hey player") and Whisper, once.
    pub fn new(config: &Config) -> Result<Self, Error> {
        Ok(Self {
            front: WakeFront::new(config)?,
            commander: Commander::new(config)?,
            context: context_stage(config)?,
        })
    }

    /// One recording, on this thread: the same events as the threaded
    /// pipeline (Whisper hears it; if the wake stands, context is judged and
    /// the command parsed; the `context` event follows the command).
    pub fn handle(&mut self, job: &Job, out: &mut Vec<Event>) -> Result<(), Error> {
        let Some(heard) = self.commander.hear(job, out)? else {
            return Ok(());
        };
        let labels = match self.context.as_mut() {
            Some(stage) => classify(stage, job)?,
            None => None,
        };
        self.commander.understand(heard, out)?;
        let t_ms = job.t_ms;
        out.extend(labels.map(|labels| Event::Context {
            t_ms,
            labels: Box::new(labels),
        }));
        Ok(())
    }

    /// Wall-clock time of the last Whisper run, ms (for latency figures).
    pub fn last_asr_ms(&self) -> u64 {
        self.commander.last_asr_ms
    }

    /// Forgets everything heard (buffers, recording), keeping the models.
    pub fn reset(&mut self) {
        self.front.reset();
        self.commander.kept_clip = None;
    }
}

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

/// The front end's half of the assistant: the first-stage wake detector, the
/// in-memory pre-roll and the command recorder. Cheap enough to keep up with
/// capture; hands each recording on as a [`Job`].
pub struct WakeFront {
    trigger: Trigger,
    wake_cfg: crate::wake::WakeConfig,
    phrase: String,
    preroll: PreRoll,
    /// The VAD's own decision for each frame in `preroll`, oldest first.
    preroll_speech: std::collections::VecDeque<bool>,
    recorder: CommandRecorder,
    /// The decision for each frame of the recording (pre-roll first).
    speech: Vec<bool>,
    /// Pre-roll frames at the start of the recording.
    lead_frames: usize,
    wake_t_ms: u64,
    wake_score: f32,
}

impl WakeFront {
    /// Loads the wake models (for "hey player"), once.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let w = &config.wake;
        let trigger = if w.phrase == crate::config::DEFAULT_WAKE_PHRASE {
            let m = wake_models(config)?;
            Trigger::Model(Box::new(WakeDetector::new(m, w.detector)))
        } else {
            Trigger::Onset
        };
        let lead = (w.preroll_ms as usize) * SAMPLE_RATE as usize / 1000;
        let preroll = PreRoll::new(w.preroll_ms);
        let frames = preroll.capacity_frames() + (config.command.max_ms / FRAME_MS) as usize;
        Ok(Self {
            trigger,
            wake_cfg: w.detector,
            phrase: w.phrase.clone(),
            preroll_speech: std::collections::VecDeque::with_capacity(preroll.capacity_frames()),
            preroll,
            recorder: CommandRecorder::new(config.command, lead),
            speech: Vec::with_capacity(frames + 1),
            lead_frames: 0,
            wake_t_ms: 0,
            wake_score: 0.0,
        })
    }

    /// Forgets everything heard, keeping the models.
    pub fn reset(&mut self) {
        if let Trigger::Model(d) = &mut self.trigger {
            **d = WakeDetector::new(d.models().clone(), self.wake_cfg);
        }
        self.preroll.clear();
        self.preroll_speech.clear();
        self.recorder.cancel();
    }

    /// The finished recording as a job.
    fn job(&self, t_ms: u64, end: CommandEnd) -> Job {
        let clip = self.recorder.clip().to_vec();
        let mut speech = self.speech.clone();
        speech.resize(clip.len() / crate::audio::FRAME_SAMPLES, false);
        Job {
            t_ms,
            end,
            clip,
            speech,
            preroll_ms: self.lead_frames as u64 * FRAME_MS,
            wake_t_ms: self.wake_t_ms,
            wake_score: self.wake_score,
            after: ListenState::Idle,
        }
    }

    /// The input ended at `t_ms`: a command being recorded is handed on as
    /// it is, not lost.
    pub fn flush(&mut self, t_ms: u64) -> Option<Job> {
        let end = self.recorder.end_now(t_ms)?;
        Some(self.job(t_ms, end))
    }

    /// Whether a command is being recorded (the listener is awake).
    pub fn awake(&self) -> bool {
        self.recorder.active()
    }

    /// Feeds the frame that starts at `t_ms`; `in_speech` (the segmenter's,
    /// with hang-over), `frame_speech` (this frame's own decision) and
    /// `onset` come from the VAD. A `wake` event goes to `out`; a finished
    /// recording is returned.
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &Frame,
        (in_speech, frame_speech): (bool, bool),
        onset: bool,
        out: &mut Vec<Event>,
    ) -> Result<Option<Job>, Error> {
        // The detector hears every frame; its models run only around speech
        // (it replays what it skipped when speech starts).
        let fired = match &mut self.trigger {
            Trigger::Model(d) => d
                .push_gated(frame, in_speech || frame_speech)?
                .map(|det| (det.t_ms, det.score)),
            Trigger::Onset => onset.then_some((t_ms + FRAME_MS, 1.0)),
        };
        if self.recorder.active() {
            if self.speech.len() < self.speech.capacity() {
                self.speech.push(frame_speech);
            }
            let end = self.recorder.push(t_ms, frame, in_speech);
            return Ok(end.map(|end| self.job(t_ms + FRAME_MS, end)));
        }
        self.preroll.push(frame);
        if self.preroll_speech.len() == self.preroll.capacity_frames() {
            self.preroll_speech.pop_front();
        }
        self.preroll_speech.push_back(frame_speech);
        if let Some((t, score)) = fired {
            self.wake_t_ms = t;
            self.wake_score = score;
            if matches!(self.trigger, Trigger::Model(_)) {
                out.push(Event::Wake {
                    t_ms: t,
                    phrase: self.phrase.clone(),
                    score,
                });
            }
            let pre = &mut self.preroll;
            self.recorder.start(|clip| pre.drain_into(clip));
            self.speech.clear();
            self.lead_frames = self.preroll_speech.len();
            self.speech.extend(self.preroll_speech.drain(..));
        }
        Ok(None)
    }
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
    /// Loads Whisper, once.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let w = &config.wake;
        let onset = w.phrase != crate::config::DEFAULT_WAKE_PHRASE;
        Ok(Self {
            last_asr_ms: 0,
            onset,
            // A custom phrase has no first-stage model: Whisper must check it.
            verify: w.verify || onset,
            check: WakeCheck::new(w),
            asr: asr_worker(config)?,
            keep_clip: config.retention.raw_audio.on_disk(),
            kept_clip: None,
        })
    }

    /// The audio of the last command, if raw audio is kept (taken once).
    pub fn take_clip(&mut self) -> Option<Vec<f32>> {
        self.kept_clip.take()
    }

    /// A recording ended: transcribe, verify, parse. Events go to `out`.
    pub fn handle(&mut self, job: &Job, out: &mut Vec<Event>) -> Result<(), Error> {
        match self.hear(job, out)? {
            Some(heard) => self.understand(heard, out),
            None => Ok(()),
        }
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
                        heard: t.text,
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

/// What the second stage checks: the phrase, how likely Whisper must find it,
/// and the near misses it must beat.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeCheck {
    /// The wake phrase, normalised ("hey player").
    pub phrase: String,
    /// See `wake.verify_min_forced_logprob`.
    pub min_forced: f32,
    /// The ways Whisper writes the phrase at the start of a transcript
    /// ("Hey player,", "Hey, player." ...), then each rival ("Hey layer,").
    leads: Vec<String>,
    /// How many of `leads` are the phrase's.
    own: usize,
    /// See `wake.verify_max_rival_lead`.
    pub max_rival_lead: f32,
}

impl WakeCheck {
    /// From the validated settings (the phrase's rivals resolved).
    pub fn new(w: &crate::config::WakeSettings) -> Self {
        Self::with(
            &w.phrase,
            w.verify_min_forced_logprob,
            &w.rivals(),
            w.verify_max_rival_lead,
        )
    }

    /// `phrase` normalised; `rivals` as Whisper would write them.
    pub fn with(phrase: &str, min_forced: f32, rivals: &[String], max_rival_lead: f32) -> Self {
        let cap = crate::asr::capitalise(phrase.trim());
        let mut own = vec![format!("{cap},"), format!("{cap}.")];
        if let Some((first, rest)) = cap.split_once(' ') {
            own.push(format!("{first}, {rest},"));
            own.push(format!("{first}, {rest}."));
        }
        let n = own.len();
        let mut leads = own;
        leads.extend(rivals.iter().map(|r| format!("{},", r.trim())));
        Self {
            phrase: phrase.to_string(),
            min_forced,
            leads,
            own: n,
            max_rival_lead,
        }
    }

    /// Whether any rival is weighed.
    pub fn has_rivals(&self) -> bool {
        self.leads.len() > self.own
    }
}

/// The second stage, after the first fired on a clip `asr` just transcribed
/// as `t`. The phrase is heard if the transcript starts with it
/// ([`match_phrase`]), or else if the phrase forced at the start of the
/// transcript has a mean token log-probability of at least
/// [`WakeCheck::min_forced`] (accents, "A player." for "hey player"). Either
/// way, it must then not be beaten by a rival ("Hey players", "Play her") by
/// more than [`WakeCheck::max_rival_lead`] in summed log-probability: the
/// fuzzy match and a loose forced score would otherwise let near misses in.
pub fn verify_wake(
    asr: &mut AsrWorker,
    t: &crate::asr::Transcript,
    check: &WakeCheck,
) -> Result<WakeVerdict, Error> {
    let Some(rest) = phrase_heard(asr, t, check)? else {
        return Ok(WakeVerdict::NotHeard);
    };
    if !check.has_rivals() {
        return Ok(WakeVerdict::Heard(rest));
    }
    let lp = asr.lead_logprobs(&check.leads)?;
    let (own, rivals) = lp.split_at(check.own);
    let own_best = own.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let Some((i, &rival_best)) = rivals.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
        return Ok(WakeVerdict::Heard(rest));
    };
    let lead = rival_best - own_best;
    Ok(if lead > check.max_rival_lead {
        WakeVerdict::Outranked {
            rival: check.leads[check.own + i].clone(),
            lead,
        }
    } else {
        WakeVerdict::Heard(rest)
    })
}

/// What the second stage made of one transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum WakeVerdict {
    /// The phrase stood: the command text after it.
    Heard(String),
    /// Neither the transcript's start nor the forced phrase was close enough.
    NotHeard,
    /// The phrase was heard, but the near miss `rival` was likelier, by
    /// `lead` in summed log-probability.
    Outranked {
        /// The rival's text, as in [`WakeCheck::leads`].
        rival: String,
        /// How much likelier than the phrase's best form.
        lead: f32,
    },
}

impl WakeVerdict {
    /// The command text when the phrase stood.
    pub fn command(self) -> Option<String> {
        match self {
            WakeVerdict::Heard(rest) => Some(rest),
            _ => None,
        }
    }

    /// Why the phrase was rejected, in words (`None` when it stood).
    pub fn why(&self) -> Option<String> {
        match self {
            WakeVerdict::Heard(_) => None,
            WakeVerdict::NotHeard => Some("phrase not heard".into()),
            WakeVerdict::Outranked { rival, lead } => Some(format!(
                "near miss {:?} likelier by {lead:.1}",
                rival.trim_end_matches([',', '.'])
            )),
        }
    }
}

/// [`verify_wake`] without the rivals: the command text after the phrase if
/// the transcript starts with it or the forced phrase is likely enough.
pub fn phrase_heard(
    asr: &mut AsrWorker,
    t: &crate::asr::Transcript,
    check: &WakeCheck,
) -> Result<Option<String>, Error> {
    if let Some(rest) = match_phrase(&t.text, &check.phrase) {
        return Ok(Some(rest));
    }
    let f = asr.force(&wake_lead(&check.phrase))?;
    Ok((f.lead_avg_logprob >= check.min_forced).then(|| crate::intent::normalise(&f.rest)))
}

/// The whole second stage on `clip`, which `asr` just transcribed (primed
/// with the prompt) as `t`: [`verify_wake`] on that transcript, and when it
/// fails, once more on a transcript made without the prompt. Primed with the
/// command vocabulary, Whisper often writes "hey player" as "Play." or "K.
/// Player."; on the held-out corpus the retry took verified FRR from 70.6% to
/// 66.9% with no false accept. Returns the command text when the phrase was
/// heard, and the plain transcript when the retry ran (the command then comes
/// from it). A rejection carries the verdict of the last transcript checked.
pub fn verify_wake_clip(
    asr: &mut AsrWorker,
    clip: &[f32],
    t: &crate::asr::Transcript,
    check: &WakeCheck,
) -> Result<(WakeVerdict, Option<crate::asr::Transcript>), Error> {
    let first = verify_wake(asr, t, check)?;
    if matches!(first, WakeVerdict::Heard(_)) || !asr.has_prompt() {
        return Ok((first, None));
    }
    let plain = asr.transcribe_plain(clip)?;
    let v = verify_wake(asr, &plain, check)?;
    Ok((v, Some(plain)))
}

/// The wake phrase as Whisper writes it before a command ("Hey player,"),
/// forced before the phrasings in guided decoding.
pub fn wake_lead(phrase: &str) -> String {
    match phrase.trim() {
        "" => String::new(),
        p => format!("{},", crate::asr::capitalise(p)),
    }
}

/// Runs the front end over any source on the calling thread: the same code
/// for mic, file and stdin, with no store and no player (for tests, `eval`
/// and benchmarks). With an [`Assistant`], wake words and commands are
/// handled too. No `state` events: those come from [`run_threaded`].
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
        let more = !stopped && fe.pump(assistant.as_mut().map(|a| &mut a.front), &mut msgs)?;
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
                ToWorker::State(..) => {}
                ToWorker::Job(job) => {
                    if let Some(a) = assistant.as_mut() {
                        a.handle(&job, &mut events)?;
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

/// The front end: frames from the source through the VAD and, with a
/// [`WakeFront`], the wake word; what it finds becomes [`ToWorker`] messages.
struct FrontEnd<S: AudioSource> {
    stream: FrameStream<S>,
    detector: VoiceDetector,
    summary: Summary,
    state: ListenState,
    failure: Option<Error>,
    rate: u32,
    /// `audio_start`, until the first pump sends it.
    start: Option<Event>,
    /// The wake stage's events of one frame.
    evs: Vec<Event>,
}

impl<S: AudioSource> FrontEnd<S> {
    /// Starts the stream; the first message is `audio_start`.
    fn new(source: S, detector: VoiceDetector) -> Result<Self, Error> {
        let info = source.info().clone();
        let stream = FrameStream::new(source)?;
        Ok(Self {
            stream,
            detector,
            summary: Summary::default(),
            state: ListenState::Idle,
            failure: None,
            rate: info.rate,
            start: Some(Event::AudioStart {
                t_ms: 0,
                source: info.kind.to_string(),
                name: info.name.clone(),
                input_rate: info.rate,
                input_channels: info.channels,
            }),
            evs: Vec::with_capacity(4),
        })
    }

    /// Reads what the source has; returns false at its end.
    fn pump(
        &mut self,
        mut front: Option<&mut WakeFront>,
        out: &mut Vec<ToWorker>,
    ) -> Result<bool, Error> {
        if let Some(ev) = self.start.take() {
            out.push(ToWorker::Event(ev));
        }
        let Self {
            stream,
            detector,
            summary,
            state,
            failure,
            rate,
            evs,
            ..
        } = self;
        let more = stream.pump(|item| {
            if failure.is_some() {
                return;
            }
            match item {
                Item::Frame { t_ms, frame } => {
                    let boundary = match detector.push(t_ms, frame, |_, _| {}) {
                        Ok(b) => b,
                        Err(e) => {
                            *failure = Some(e.into());
                            return;
                        }
                    };
                    let onset = matches!(boundary, Some(Boundary::Started { .. }));
                    if onset {
                        summary.segments += 1;
                    }
                    if let Some(b) = boundary {
                        out.push(ToWorker::Event(boundary_event(b)));
                    }
                    let speech = detector.in_speech();
                    let mut awake = false;
                    let mut job = None;
                    if let Some(f) = front.as_mut() {
                        let frame_speech = detector.frame_speech();
                        match f.push(t_ms, frame, (speech, frame_speech), onset, evs) {
                            Ok(j) => {
                                out.extend(evs.drain(..).map(ToWorker::Event));
                                job = j;
                            }
                            Err(e) => *failure = Some(e),
                        }
                        awake = f.awake();
                    }
                    let now = if awake {
                        ListenState::Awake
                    } else if speech {
                        ListenState::Listening
                    } else {
                        ListenState::Idle
                    };
                    if let Some(mut job) = job {
                        // Whisper's turn: `processing`, then this state.
                        *state = now;
                        job.after = now;
                        out.push(ToWorker::Job(job));
                    } else if now != *state {
                        *state = now;
                        out.push(ToWorker::State(t_ms + FRAME_MS, now));
                    }
                }
                Item::Notice { t_ms, notice } => {
                    out.push(ToWorker::Event(notice_event(t_ms, notice, &*rate, summary)))
                }
            }
        })?;
        match failure.take() {
            Some(e) => Err(e),
            None => Ok(more),
        }
    }

    /// The end of the stream: the last boundary, a command still being
    /// recorded, and `audio_stop`.
    fn finish(&mut self, front: Option<&mut WakeFront>, stopped: bool, out: &mut Vec<ToWorker>) {
        if let Some(ev) = self.start.take() {
            out.push(ToWorker::Event(ev));
        }
        if let Some(b) = self.detector.finish() {
            out.push(ToWorker::Event(boundary_event(b)));
        }
        self.summary.audio_ms = self.stream.t_ms();
        if let Some(job) = front.and_then(|f| f.flush(self.summary.audio_ms)) {
            self.state = job.after;
            out.push(ToWorker::Job(job));
        }
        if self.state != ListenState::Idle {
            self.state = ListenState::Idle;
            out.push(ToWorker::State(self.summary.audio_ms, ListenState::Idle));
        }
        out.push(ToWorker::Event(Event::AudioStop {
            t_ms: self.summary.audio_ms,
            reason: if stopped { "shutdown" } else { "end_of_input" }.into(),
            total_dropped_ms: self.summary.dropped_ms,
        }));
    }

    fn summary(&self) -> Summary {
        self.summary.clone()
    }
}

fn boundary_event(b: Boundary) -> Event {
    match b {
        Boundary::Started { t_ms } => Event::VoiceStarted { t_ms },
        Boundary::Stopped { t_ms, duration_ms } => Event::VoiceStopped { t_ms, duration_ms },
    }
}

fn notice_event(t_ms: u64, notice: Notice, rate: &u32, summary: &mut Summary) -> Event {
    match notice {
        Notice::Dropped { samples } => {
            let dropped_ms = samples_to_ms(samples * 16_000 / (*rate).max(1) as u64);
            summary.dropped_ms += dropped_ms;
            Event::FramesDropped {
                t_ms,
                dropped_ms,
                total_dropped_ms: summary.dropped_ms,
            }
        }
        Notice::DeviceLost { device, reason } => Event::DeviceLost {
            t_ms,
            device,
            reason,
        },
        Notice::DeviceReopened { device, attempts } => Event::DeviceReopened {
            t_ms,
            device,
            attempts,
        },
    }
}

/// Reads a whole source as 16 kHz mono samples (for `transcribe`, eval and tests).
pub fn read_all<S: AudioSource>(source: S) -> Result<Vec<f32>, Error> {
    let mut stream = FrameStream::new(source)?;
    let mut samples = Vec::new();
    while stream.pump(|item| {
        if let Item::Frame { frame, .. } = item {
            samples.extend_from_slice(&frame[..]);
        }
    })? {}
    Ok(samples)
}

/// What `heyplayer transcribe` reports for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileTranscript {
    /// The file.
    pub file: String,
    /// Whisper's result.
    #[serde(flatten)]
    pub transcript: Transcript,
    /// The command understood, if any (from the transcript, or from guided
    /// decoding when the transcript is not one).
    pub command: Option<crate::intent::Command>,
    /// The guided guess, when guided decoding ran.
    pub guess: Option<crate::asr::Guess>,
    /// Why there is no command.
    pub reason: Option<String>,
    /// Wall-clock time of Whisper's transcription, ms (not deterministic).
    pub elapsed_ms: u64,
    /// Wall-clock time of guided decoding, ms, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guided_ms: Option<u64>,
}

/// Transcribes a WAV file with a worker of `model`.
pub fn transcribe_file(
    path: &std::path::Path,
    worker: &mut AsrWorker,
) -> Result<FileTranscript, Error> {
    let samples = read_all(WavSource::open(path, false)?)?;
    let started = std::time::Instant::now();
    let transcript = worker.transcribe(&samples)?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    let u = worker.understand(&transcript, &transcript.text, "")?;
    let guided_ms = u
        .guess
        .is_some()
        .then(|| started.elapsed().as_millis() as u64);
    Ok(FileTranscript {
        file: path.display().to_string(),
        transcript,
        command: u.command,
        guess: u.guess,
        reason: u.reason,
        elapsed_ms,
        guided_ms,
    })
}

/// Loads the configured Whisper model (sha256-checked) and makes one worker.
pub fn asr_worker(config: &Config) -> Result<AsrWorker, Error> {
    let file = models::locate(&config.asr_model, &config.models_dir)?;
    let model = AsrModel::load(&file.path)?;
    Ok(model.worker(config.asr.clone())?)
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
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let detector = VoiceDetector::new(&config.vad, &silero.path)?;
    let mut events = Vec::new();
    run(source, detector, assistant, &AtomicBool::new(false), |e| {
        events.push(e.clone());
        Ok(())
    })?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_verdict_says_why_it_rejected() {
        let heard = WakeVerdict::Heard("play jazz".into());
        assert_eq!(heard.why(), None);
        assert_eq!(heard.command().as_deref(), Some("play jazz"));
        assert_eq!(
            WakeVerdict::NotHeard.why().as_deref(),
            Some("phrase not heard")
        );
        let v = WakeVerdict::Outranked {
            rival: "Hey players,".into(),
            lead: 2.34,
        };
        assert_eq!(
            v.why().as_deref(),
            Some("near miss \"Hey players\" likelier by 2.3")
        );
        assert_eq!(v.command(), None);
    }

    #[test]
    fn wake_check_weighs_the_phrase_as_whisper_writes_it_against_its_rivals() {
        let c = WakeCheck::with("hey player", -2.0, &["Hey layer".into()], 1.0);
        assert_eq!(
            c.leads,
            [
                "Hey player,",
                "Hey player.",
                "Hey, player,",
                "Hey, player.",
                "Hey layer,"
            ]
        );
        assert_eq!(c.own, 4);
        assert!(c.has_rivals());
        // A one-word phrase has no comma inside; no rivals, nothing to weigh.
        let c = WakeCheck::with("computer", -2.0, &[], 1.0);
        assert_eq!(c.leads, ["Computer,", "Computer."]);
        assert!(!c.has_rivals());
    }
}
