//! Microphone capture with cpal.
//!
//! The capture callback runs on cpal's audio thread. It downmixes and converts
//! each device frame to a mono `f32` in place in a fixed [`Block`], and when the
//! block is full it `try_send`s it (a copy of a plain array) into a bounded
//! crossbeam channel that exists before the stream starts. It never allocates,
//! logs or blocks; a full queue means the block is dropped and counted in an
//! atomic, and [`MicSource`] reports the count as a [`Notice::Dropped`].
//!
//! Device loss (unplugged, stream error, or no audio at all for
//! [`STALL_TIMEOUT`]) gives a [`Notice::DeviceLost`]; the source then tries to
//! reopen the device with exponential back-off and reports
//! [`Notice::DeviceReopened`] when it succeeds. It never gives up while the
//! listener runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::{check_format, AudioError, AudioSource, Notice, Read, SourceInfo};

/// Mono samples (at the device rate) in one block sent from the callback.
pub const CAPTURE_BLOCK: usize = 480;
/// No audio for this long from a running stream counts as a lost device.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(5);
/// First wait before reopening a lost device; doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest wait between two reopen attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// How often a blocked read wakes up to check for errors and shutdown.
const POLL: Duration = Duration::from_millis(100);

/// A fixed block of mono samples from the capture callback.
#[derive(Clone, Copy)]
pub struct Block {
    /// The samples, all valid.
    pub samples: [f32; CAPTURE_BLOCK],
}

/// The channels between the capture callback and the listener, made by the
/// pipeline (`pipeline/mod.rs`): audio blocks, and the stream's errors.
pub struct CaptureQueue {
    /// The callback's end.
    pub tx: Sender<Block>,
    /// The listener's end.
    pub rx: Receiver<Block>,
    /// The error callback's end (a few messages; extra ones are dropped).
    pub err_tx: Sender<String>,
    /// The listener's end of the errors.
    pub err_rx: Receiver<String>,
}

/// Which cpal host to use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HostChoice {
    /// ALSA (always available on Linux).
    Alsa,
    /// PulseAudio (needs the `pulseaudio` cargo feature).
    Pulseaudio,
}

impl HostChoice {
    fn host(self) -> Result<cpal::Host, AudioError> {
        match self {
            HostChoice::Alsa => Ok(cpal::default_host()),
            HostChoice::Pulseaudio => pulse_host(),
        }
    }
}

#[cfg(feature = "pulseaudio")]
fn pulse_host() -> Result<cpal::Host, AudioError> {
    cpal::host_from_id(cpal::HostId::PulseAudio)
        .map_err(|e| AudioError::NoDevice(format!("the PulseAudio host is not available: {e}")))
}

#[cfg(not(feature = "pulseaudio"))]
fn pulse_host() -> Result<cpal::Host, AudioError> {
    Err(AudioError::NoDevice(
        "this heyplayer was built without PulseAudio support; rebuild with `cargo build --features pulseaudio`, or use the ALSA host (`--host alsa`)".into(),
    ))
}

/// One input device as listed by `heyplayer devices`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceListing {
    /// cpal's id, usable with `--device`.
    pub id: String,
    /// Human-readable name, also usable with `--device`.
    pub name: String,
    /// Whether it is the host's default input.
    pub default: bool,
    /// The device's default input format, e.g. `48000 Hz, 2 ch, f32`.
    pub format: Option<String>,
}

/// Lists input devices of `host`.
pub fn list_devices(host: HostChoice) -> Result<Vec<DeviceListing>, AudioError> {
    let host = host.host()?;
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let devices = host
        .input_devices()
        .map_err(|e| AudioError::NoDevice(format!("cannot list input devices: {e}")))?;
    let mut out = Vec::new();
    for d in devices {
        let id = d.id().ok();
        let name = d
            .description()
            .map(|x| x.name().to_string())
            .unwrap_or_default();
        let format = d.default_input_config().ok().map(|c| {
            format!(
                "{} Hz, {} ch, {}",
                c.sample_rate(),
                c.channels(),
                c.sample_format()
            )
        });
        out.push(DeviceListing {
            default: id.is_some() && id == default_id,
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            name,
            format,
        });
    }
    Ok(out)
}

fn find_device(host: &cpal::Host, query: Option<&str>) -> Result<cpal::Device, AudioError> {
    let Some(q) = query else {
        return host.default_input_device().ok_or_else(|| {
            AudioError::NoDevice(
                "no input device found: plug in a microphone, or listen to a file with `heyplayer listen --input FILE.wav` (see `heyplayer devices`)".into(),
            )
        });
    };
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| AudioError::NoDevice(format!("cannot list input devices: {e}")))?
        .collect();
    let describe = |d: &cpal::Device| {
        (
            d.id().map(|i| i.to_string()).unwrap_or_default(),
            d.description()
                .map(|x| x.name().to_string())
                .unwrap_or_default(),
        )
    };
    // Exact id or name first, then a unique case-insensitive substring.
    if let Some(d) = devices.iter().find(|d| {
        let (id, name) = describe(d);
        id == q || name == q || id.split_once(':').map(|x| x.1) == Some(q)
    }) {
        return Ok(d.clone());
    }
    let ql = q.to_lowercase();
    let hits: Vec<&cpal::Device> = devices
        .iter()
        .filter(|d| {
            let (id, name) = describe(d);
            id.to_lowercase().contains(&ql) || name.to_lowercase().contains(&ql)
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(AudioError::NoDevice(format!(
            "no input device matches {q:?}; `heyplayer devices` lists them"
        ))),
        many => Err(AudioError::NoDevice(format!(
            "{} input devices match {q:?} ({}); give a longer name or the exact id",
            many.len(),
            many.iter()
                .map(|d| describe(d).0)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Microphone input through cpal.
pub struct MicSource {
    info: SourceInfo,
    host: HostChoice,
    query: Option<String>,
    tx: Sender<Block>,
    rx: Receiver<Block>,
    err_tx: Sender<String>,
    err_rx: Receiver<String>,
    dropped: Arc<AtomicU64>,
    dropped_reported: u64,
    stop: Arc<AtomicBool>,
    stream: Option<cpal::Stream>,
    lost: Option<Lost>,
    last_audio: Instant,
}

struct Lost {
    attempts: u32,
    next_try: Instant,
}

impl MicSource {
    /// Opens the default device, or the one matching `device`, and starts it.
    /// `queue` is the bounded channel the callback feeds; `stop` ends reading.
    pub fn open(
        host: HostChoice,
        device: Option<&str>,
        queue: CaptureQueue,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, AudioError> {
        let mut me = Self {
            info: SourceInfo {
                kind: "mic",
                name: device.unwrap_or("default").to_string(),
                rate: 0,
                channels: 0,
            },
            host,
            query: device.map(str::to_string),
            tx: queue.tx,
            rx: queue.rx,
            err_tx: queue.err_tx,
            err_rx: queue.err_rx,
            dropped: Arc::new(AtomicU64::new(0)),
            dropped_reported: 0,
            stop,
            stream: None,
            lost: None,
            last_audio: Instant::now(),
        };
        me.start()?;
        Ok(me)
    }

    /// Samples dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn start(&mut self) -> Result<(), AudioError> {
        let host = self.host.host()?;
        let device = find_device(&host, self.query.as_deref())?;
        let name = device
            .id()
            .map(|i| i.to_string())
            .unwrap_or_else(|_| "unknown".into());
        let supported = device
            .default_input_config()
            .map_err(|e| AudioError::Device {
                device: name.clone(),
                reason: e.to_string(),
            })?;
        let rate = supported.sample_rate();
        let channels = supported.channels();
        check_format(&name, rate, channels)?;
        if self.info.rate != 0 && (self.info.rate != rate || self.info.channels != channels) {
            return Err(AudioError::Device {
                device: name,
                reason: format!(
                    "the device came back as {rate} Hz / {channels} ch, not {} Hz / {} ch",
                    self.info.rate, self.info.channels
                ),
            });
        }
        let config: cpal::StreamConfig = supported.config();
        let fmt = supported.sample_format();
        let stream = match fmt {
            SampleFormat::F32 => self.build::<f32>(&device, &config),
            SampleFormat::I16 => self.build::<i16>(&device, &config),
            SampleFormat::I32 => self.build::<i32>(&device, &config),
            SampleFormat::U16 => self.build::<u16>(&device, &config),
            SampleFormat::I8 => self.build::<i8>(&device, &config),
            SampleFormat::U8 => self.build::<u8>(&device, &config),
            SampleFormat::F64 => self.build::<f64>(&device, &config),
            other => {
                return Err(AudioError::Device {
                    device: name,
                    reason: format!("unsupported sample format {other}"),
                })
            }
        }
        .map_err(|e| AudioError::Device {
            device: name.clone(),
            reason: e.to_string(),
        })?;
        stream.play().map_err(|e| AudioError::Device {
            device: name.clone(),
            reason: e.to_string(),
        })?;
        self.info.name = name;
        self.info.rate = rate;
        self.info.channels = channels;
        self.stream = Some(stream);
        self.last_audio = Instant::now();
        Ok(())
    }

    fn build<T>(
        &self,
        device: &cpal::Device,
        config: &cpal::StreamConfig,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let channels = config.channels as usize;
        let inv = 1.0 / channels as f32;
        let tx = self.tx.clone();
        let dropped = Arc::clone(&self.dropped);
        let err_tx = self.err_tx.clone();
        let mut block = Block {
            samples: [0.0; CAPTURE_BLOCK],
        };
        let mut fill = 0usize;
        device.build_input_stream::<T, _, _>(
            *config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                // Real-time path: no allocation, no lock, no log, no blocking.
                for frame in data.chunks_exact(channels) {
                    let mut acc = 0.0f32;
                    for &s in frame {
                        acc += <f32 as FromSample<T>>::from_sample_(s);
                    }
                    block.samples[fill] = acc * inv;
                    fill += 1;
                    if fill == CAPTURE_BLOCK {
                        fill = 0;
                        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                            tx.try_send(block)
                        {
                            dropped.fetch_add(CAPTURE_BLOCK as u64, Ordering::Relaxed);
                        }
                    }
                }
            },
            move |err: cpal::Error| {
                // Not the audio path; still never blocks.
                let _ = err_tx.try_send(err.to_string());
            },
            None,
        )
    }

    fn mark_lost(&mut self, reason: String) -> Read {
        self.stream = None;
        self.lost = Some(Lost {
            attempts: 0,
            next_try: Instant::now() + BACKOFF_START,
        });
        Read::Notice(Notice::DeviceLost {
            device: self.info.name.clone(),
            reason,
        })
    }

    fn backoff(attempts: u32) -> Duration {
        BACKOFF_START
            .saturating_mul(1u32 << attempts.min(6))
            .min(BACKOFF_MAX)
    }
}

impl AudioSource for MicSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                self.stream = None;
                return Ok(Read::End);
            }
            if let Some(lost) = self.lost.as_mut() {
                let now = Instant::now();
                if now < lost.next_try {
                    std::thread::sleep((lost.next_try - now).min(POLL));
                    continue;
                }
                lost.attempts += 1;
                let attempts = lost.attempts;
                match self.start() {
                    Ok(()) => {
                        self.lost = None;
                        // Errors from the old stream no longer apply.
                        while self.err_rx.try_recv().is_ok() {}
                        return Ok(Read::Notice(Notice::DeviceReopened {
                            device: self.info.name.clone(),
                            attempts,
                        }));
                    }
                    Err(_) => {
                        if let Some(l) = self.lost.as_mut() {
                            l.next_try = Instant::now() + Self::backoff(attempts);
                        }
                        continue;
                    }
                }
            }
            if let Ok(reason) = self.err_rx.try_recv() {
                return Ok(self.mark_lost(reason));
            }
            let dropped = self.dropped.load(Ordering::Relaxed);
            if dropped > self.dropped_reported {
                let samples = dropped - self.dropped_reported;
                self.dropped_reported = dropped;
                return Ok(Read::Notice(Notice::Dropped { samples }));
            }
            match self.rx.recv_timeout(POLL) {
                Ok(block) => {
                    self.last_audio = Instant::now();
                    let n = CAPTURE_BLOCK.min(buf.len());
                    buf[..n].copy_from_slice(&block.samples[..n]);
                    return Ok(Read::Samples(n));
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.last_audio.elapsed() > STALL_TIMEOUT {
                        let secs = STALL_TIMEOUT.as_secs();
                        return Ok(self.mark_lost(format!("no audio for {secs} s")));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Read::End),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(MicSource::backoff(0), BACKOFF_START);
        assert_eq!(MicSource::backoff(1), BACKOFF_START * 2);
        assert_eq!(MicSource::backoff(30), BACKOFF_MAX);
    }
}
