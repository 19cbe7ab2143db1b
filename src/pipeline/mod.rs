//! The listening pipeline: the only module with threads and channels.
//!
//! source → resampler → VAD → wake word (first stage) → command recording →
//! Whisper (second stage, the command) with context beside it → player and
//! privacy store → events.
//! - **capture** (microphone): cpal's audio thread runs the capture callback,
//!   which `try_send`s fixed blocks into a bounded channel created here
//!   before the stream starts; drops are counted and reported.
//! - **front end** (`heyplayer-front`, [`front`]): opens the source (so
//!   `!Send` audio handles and the VAD live on the thread that uses them),
//!   resamples, runs the VAD and the wake word's first stage, and hands each
//!   command recording on.
//! - **command worker** (`heyplayer-command`, [`worker`]): the sequence after
//!   a wake ([`crate::command::handle`]): Whisper, the second wake stage, the
//!   intent parser; the **context worker** (`heyplayer-context`) judges
//!   context beside it.
//! - **output** (the calling thread, [`sink`]): the privacy store, the player
//!   and the events; the **sweeper** (`heyplayer-sweeper`), with its own
//!   connection, deletes expired data every
//!   [`heyplayer_privacy::store::SWEEP_EVERY`] and reports back.
//!
//! [`load`] loads every model once and says which it loaded; [`single`] runs
//! the same front end and sequence on the calling thread (tests, `eval`).

pub mod front;
pub mod load;
pub mod single;
pub mod sink;
pub mod threaded;
pub mod worker;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::audio::mic::{CaptureQueue, HostChoice, MicSource, CAPTURE_BLOCK};
use crate::audio::stdin::RawPcmSource;
use crate::audio::wav::WavSource;
use crate::config::Config;
use crate::events::Event;
use crate::playback::Player;
use crate::Error;

pub use load::{asr_worker, context_stage, wake_models, Loaded};
pub use single::{collect_all_events, collect_all_events_with, collect_events, run, Assistant};
pub use sink::CONTEXT_SCHEMA;
pub use threaded::{run_threaded, Threads, MAX_PENDING_COMMANDS};

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
                let (err_tx, err_rx) = crossbeam_channel::bounded(MIC_ERRORS);
                Ok(MicSource::open(
                    *host,
                    device.as_deref(),
                    CaptureQueue {
                        tx,
                        rx,
                        err_tx,
                        err_rx,
                    },
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

/// Stream errors the microphone's error callback may queue before the
/// listener reads them.
const MIC_ERRORS: usize = 16;

/// Reads stdin through its own buffer.
struct StdinReader<R>(R);

impl<R: BufRead> std::io::Read for StdinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}
