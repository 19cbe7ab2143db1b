//! The listening pipeline. This module alone owns threads and channels.
//!
//! Today: source → resampler → VAD → events.
//! - **mic**: cpal's audio thread runs the capture callback, which `try_send`s
//!   fixed blocks into a bounded channel created here before the stream
//!   starts; the front end (resampler + VAD) runs on the calling thread and
//!   reads from that channel.
//! - **file / stdin**: the front end reads the source directly on the calling
//!   thread (nothing can be lost: a file waits for its reader).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::audio::mic::{CaptureQueue, HostChoice, MicSource, CAPTURE_BLOCK};
use crate::audio::stdin::RawPcmSource;
use crate::audio::wav::WavSource;
use crate::audio::{samples_to_ms, AudioSource, FrameStream, Item, Notice};
use crate::config::Config;
use crate::events::Event;
use crate::models;
use crate::vad::{Boundary, VoiceDetector};
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
pub fn listen(
    input: &Input,
    config: &Config,
    stop: &Arc<AtomicBool>,
    emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let detector = VoiceDetector::new(&config.vad, &silero.path)?;
    match input {
        Input::Mic { host, device } => {
            // Room for `queue_ms` of audio at up to 48 kHz before drops start.
            let blocks = (config.audio.queue_ms as usize * 48)
                .div_ceil(CAPTURE_BLOCK)
                .max(4);
            let (tx, rx) = crossbeam_channel::bounded(blocks);
            let source = MicSource::open(
                *host,
                device.as_deref(),
                CaptureQueue { tx, rx },
                Arc::clone(stop),
            )?;
            run(source, detector, stop, emit)
        }
        Input::File { path, realtime } => {
            run(WavSource::open(path, *realtime)?, detector, stop, emit)
        }
        Input::Stdin { rate, channels } => {
            let stdin = std::io::stdin().lock();
            let source = RawPcmSource::new(StdinReader(stdin), "-", *rate, *channels)?;
            run(source, detector, stop, emit)
        }
    }
}

/// Reads stdin through its own buffer.
struct StdinReader<R>(R);

impl<R: BufRead> std::io::Read for StdinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// Runs the front end over any source: the same code for mic, file and stdin.
pub fn run<S: AudioSource>(
    source: S,
    mut detector: VoiceDetector,
    stop: &AtomicBool,
    mut emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let info = source.info().clone();
    let mut stream = FrameStream::new(source)?;
    let mut out = |ev: Event| emit(&ev).map_err(Error::Output);
    out(Event::AudioStart {
        t_ms: 0,
        source: info.kind.to_string(),
        name: info.name.clone(),
        input_rate: info.rate,
        input_channels: info.channels,
    })?;
    let mut summary = Summary::default();
    let mut pending: Vec<Event> = Vec::with_capacity(8);
    let mut failure: Option<Error> = None;
    let mut stopped_by_user = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            stopped_by_user = true;
            break;
        }
        let more = stream.pump(|item| {
            if failure.is_some() {
                return;
            }
            match item {
                Item::Frame { t_ms, frame } => match detector.push(t_ms, frame, |_, _| {}) {
                    Ok(Some(b)) => pending.push(boundary_event(b)),
                    Ok(None) => {}
                    Err(e) => failure = Some(e.into()),
                },
                Item::Notice { t_ms, notice } => {
                    pending.push(notice_event(t_ms, notice, &info.rate, &mut summary))
                }
            }
        })?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        for ev in pending.drain(..) {
            if matches!(ev, Event::VoiceStarted { .. }) {
                summary.segments += 1;
            }
            out(ev)?;
        }
        if !more {
            break;
        }
    }
    if let Some(b) = detector.finish() {
        out(boundary_event(b))?;
    }
    summary.audio_ms = stream.t_ms();
    let stopped = stopped_by_user || stop.load(Ordering::Relaxed);
    out(Event::AudioStop {
        t_ms: summary.audio_ms,
        reason: if stopped { "shutdown" } else { "end_of_input" }.into(),
        total_dropped_ms: summary.dropped_ms,
    })?;
    Ok(summary)
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

/// Runs a source to the end and collects its events (for tests, eval and tools).
pub fn collect_events<S: AudioSource>(source: S, config: &Config) -> Result<Vec<Event>, Error> {
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let detector = VoiceDetector::new(&config.vad, &silero.path)?;
    let mut events = Vec::new();
    run(source, detector, &AtomicBool::new(false), |e| {
        events.push(e.clone());
        Ok(())
    })?;
    Ok(events)
}
