//! The listening pipeline on threads ([`run_threaded`]).

use std::sync::atomic::{AtomicBool, Ordering};

use heyplayer_privacy::PrivacyError;

use super::front::{FrontEnd, ToWorker};
use super::load::Loaded;
use super::sink::{Sink, Sweeper};
use super::worker::{
    command_worker, context_worker, AheadLink, AheadReplies, ContextLink, ToSink, AHEAD_REPLIES,
};
use super::Summary;
use crate::audio::AudioSource;
use crate::command::front::WakeFront;
use crate::command::{Commander, Job, Speculate};
use crate::config::Config;
use crate::events::Event;
use crate::playback::Player;
use crate::store::{expired_event, Keeper};
use crate::vad::VoiceDetector;
use crate::Error;

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
///   events in order, so the output is the same as [`super::run`]'s, plus `state`
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
    let Loaded {
        silero,
        wake,
        asr,
        context,
        files,
    } = Loaded::load(config, assistant)?;
    let front = assistant.then(|| WakeFront::new(config, wake));
    let commander = asr.map(|asr| Commander::new(config, asr));
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
    // Commands heard ahead of their end: the front end starts them, the
    // command worker answers.
    let live = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (reading_tx, reading_rx) = crossbeam_channel::bounded(AHEAD_REPLIES);
    let link = AheadLink {
        tx: wtx.clone(),
        rx: reading_rx,
        live: live.clone(),
        lossy,
    };
    let replies = AheadReplies {
        tx: reading_tx,
        live,
    };
    std::thread::scope(|s| {
        let abort = &abort;
        let front_thread = std::thread::Builder::new()
            .name("heyplayer-front".into())
            .spawn_scoped(s, move || -> Result<Summary, Error> {
                let opened = open().and_then(|source| {
                    let detector = VoiceDetector::new(vad, &silero)?;
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
                let mut link = link;
                let mut msgs = Vec::with_capacity(16);
                let mut dropped = 0u64;
                let stopping = || stop.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
                loop {
                    let more = if stopping() {
                        false
                    } else {
                        let ahead = front.is_some().then_some(&mut link as &mut dyn Speculate);
                        fe.pump(front.as_mut(), ahead, &mut msgs)?
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
                Some(ContextLink {
                    tx: job_tx,
                    rx: res_rx,
                })
            }
            None => None,
        };
        let worker_thread = std::thread::Builder::new()
            .name("heyplayer-command".into())
            .spawn_scoped(s, move || {
                command_worker(commander, link, wrx, stx, token_tx, replies)
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
            let (keeper, swept) = Keeper::open(config, &input, &files)?;
            let sweeper =
                Sweeper::start(Keeper::sweeper_store(config)?).map_err(|e| PrivacyError::Io {
                    path: config.data_dir.clone(),
                    source: e,
                })?;
            Ok((outlet, keeper, swept, sweeper))
        });
        let (outlet, keeper, swept, (sweeper, sweeps)) = match opened {
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
            sweeps,
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
        sweeper.stop();
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
