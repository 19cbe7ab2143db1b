//! Audio input: interchangeable sources (microphone, WAV file, raw stdin) that
//! all end up as the same 16 kHz mono [`Frame`]s.
//!
//! A source implements [`AudioSource`]: it hands out mono `f32` samples at its
//! own rate, plus notices (drops, device loss). [`FrameStream`] puts a source
//! and a [`FrameResampler`] together and yields 16 kHz frames on the audio
//! sample clock.

pub mod mic;
pub mod resample;
pub mod stdin;
pub mod wav;

use std::fmt;

pub use resample::{FrameResampler, ResampleError, MAX_INPUT_RATE};

/// The rate every stage after the source works at.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples in one frame: 10 ms at 16 kHz. Every stage consumes whole frames.
pub const FRAME_SAMPLES: usize = 160;
/// Milliseconds in one frame.
pub const FRAME_MS: u64 = 10;

/// One 10 ms frame of 16 kHz mono audio, samples in [-1, 1].
pub type Frame = [f32; FRAME_SAMPLES];

/// Size of the buffer a [`FrameStream`] reads from its source, in samples.
pub const READ_CHUNK: usize = 4096;

/// What a source is and what it delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Kind of source: `mic`, `file` or `stdin`.
    pub kind: &'static str,
    /// Human-readable name: device name, file path or `-`.
    pub name: String,
    /// The source's own sample rate in Hz.
    pub rate: u32,
    /// The source's own channel count (samples are downmixed to mono).
    pub channels: u16,
}

/// What one [`AudioSource::read`] call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// `n` mono samples were written to the front of the buffer.
    Samples(usize),
    /// Something the listener should be told about; no samples this time.
    Notice(Notice),
    /// The source has ended (end of file, stdin closed, or shutdown requested).
    End,
}

/// Things a source reports besides audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The capture callback could not hand over `samples` samples (at the source rate)
    /// because the queue was full. They are lost; the audio clock skips over them.
    Dropped {
        /// Samples lost at the source rate.
        samples: u64,
    },
    /// The input device failed or disappeared.
    DeviceLost {
        /// The device's name.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The input device was opened again after a loss.
    DeviceReopened {
        /// The device's name.
        device: String,
        /// Attempts it took.
        attempts: u32,
    },
}

/// Errors of audio sources.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The input file does not exist or cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The input file has no bytes at all.
    #[error("{path} is empty (0 bytes): give a WAV file with audio in it")]
    EmptyFile {
        /// The path given.
        path: String,
    },
    /// The file is a WAV header with no samples after it.
    #[error(
        "{path} holds no audio (a WAV header with 0 samples): give a WAV file with audio in it"
    )]
    NoSamples {
        /// The path given.
        path: String,
    },
    /// The file is not a WAV file, or its header is damaged.
    #[error("{path} is not a readable WAV file ({detail}): give a RIFF/WAVE file, or convert it with `sox INPUT -r 16000 -c 1 -b 16 out.wav`")]
    NotWav {
        /// The path given.
        path: String,
        /// What the parser said.
        detail: String,
    },
    /// The WAV file is valid but encoded in a way heyplayer does not read.
    #[error("{path} uses an unsupported encoding ({detail}): heyplayer reads PCM WAV with 8/16/24/32-bit integer or 32-bit float samples; convert it with `sox INPUT -b 16 out.wav`")]
    UnsupportedEncoding {
        /// The path given.
        path: String,
        /// What is unsupported.
        detail: String,
    },
    /// The WAV file ends before its header says it should.
    #[error("{path} is truncated: its header promises {expected} samples but the file ends after {got}; the file was cut short (re-record or re-export it)")]
    Truncated {
        /// The path given.
        path: String,
        /// Samples the header announced (all channels).
        expected: u64,
        /// Samples actually present.
        got: u64,
    },
    /// A sample rate of 0 or above the maximum.
    #[error(
        "{what}: unsupported sample rate {rate} Hz; heyplayer accepts 1 Hz to {MAX_INPUT_RATE} Hz"
    )]
    BadRate {
        /// Where the rate came from.
        what: String,
        /// The rate.
        rate: u32,
    },
    /// A channel count of 0 (or absurdly many).
    #[error("{what}: unsupported channel count {channels}; heyplayer accepts 1 to 64 channels")]
    BadChannels {
        /// Where the count came from.
        what: String,
        /// The count.
        channels: u16,
    },
    /// stdin closed before any audio or in the middle of a sample frame.
    #[error("stdin closed early: {detail}")]
    StdinClosedEarly {
        /// What was received.
        detail: String,
    },
    /// Reading failed for another reason.
    #[error("reading {what} failed: {source}")]
    Io {
        /// What was read.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No input device, or the named one does not exist.
    #[error("{0}")]
    NoDevice(String),
    /// The device exists but could not be opened or started.
    #[error("cannot open input device {device}: {reason}")]
    Device {
        /// The device's name.
        device: String,
        /// What cpal said.
        reason: String,
    },
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// Checks a rate and channel count announced by a source.
pub fn check_format(what: &str, rate: u32, channels: u16) -> Result<(), AudioError> {
    if rate == 0 || rate > MAX_INPUT_RATE {
        return Err(AudioError::BadRate {
            what: what.to_string(),
            rate,
        });
    }
    if channels == 0 || channels > 64 {
        return Err(AudioError::BadChannels {
            what: what.to_string(),
            channels,
        });
    }
    Ok(())
}

/// A source of audio: microphone, file or stdin, all alike to the stages after it.
pub trait AudioSource {
    /// What this source is.
    fn info(&self) -> &SourceInfo;
    /// Writes up to `buf.len()` mono samples at the source rate into `buf`.
    /// Blocks until samples, a notice or the end is available.
    fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError>;
}

impl<S: AudioSource + ?Sized> AudioSource for Box<S> {
    fn info(&self) -> &SourceInfo {
        (**self).info()
    }
    fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError> {
        (**self).read(buf)
    }
}

/// What a [`FrameStream`] hands to its consumer.
#[derive(Debug)]
pub enum Item<'a> {
    /// A 16 kHz frame that starts at `t_ms` on the audio clock.
    Frame {
        /// Start of the frame in ms from the start of the stream.
        t_ms: u64,
        /// The samples.
        frame: &'a Frame,
    },
    /// A notice from the source, at `t_ms` on the audio clock.
    Notice {
        /// When it happened on the audio clock.
        t_ms: u64,
        /// What happened.
        notice: Notice,
    },
}

/// A source plus a resampler: yields 16 kHz frames stamped on the audio clock.
pub struct FrameStream<S> {
    source: S,
    resampler: FrameResampler,
    buf: Vec<f32>,
    /// 16 kHz samples handed out so far, including skipped (dropped) ones.
    clock: u64,
    ended: bool,
}

impl<S: AudioSource> FrameStream<S> {
    /// Wraps `source`; fails on a rate the resampler cannot take.
    pub fn new(source: S) -> Result<Self, AudioError> {
        let info = source.info();
        check_format(&info.name, info.rate, info.channels)?;
        let resampler = FrameResampler::new(info.rate)?;
        Ok(Self {
            source,
            resampler,
            buf: vec![0.0; READ_CHUNK],
            clock: 0,
            ended: false,
        })
    }

    /// The wrapped source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The audio clock: ms of 16 kHz audio handed out so far.
    pub fn t_ms(&self) -> u64 {
        samples_to_ms(self.clock)
    }

    /// Reads once from the source and hands every resulting item to `sink`.
    /// Returns `false` once the source has ended and the tail was flushed.
    pub fn pump(&mut self, mut sink: impl FnMut(Item<'_>)) -> Result<bool, AudioError> {
        if self.ended {
            return Ok(false);
        }
        let clock = &mut self.clock;
        let mut emit = |f: &Frame| {
            let t_ms = samples_to_ms(*clock);
            *clock += FRAME_SAMPLES as u64;
            sink(Item::Frame { t_ms, frame: f });
        };
        match self.source.read(&mut self.buf)? {
            Read::Samples(n) => {
                self.resampler.push(&self.buf[..n], &mut emit)?;
                Ok(true)
            }
            Read::End => {
                self.resampler.finish(&mut emit)?;
                self.ended = true;
                Ok(false)
            }
            Read::Notice(notice) => {
                if let Notice::Dropped { samples } = notice {
                    // The audio clock keeps time across the gap.
                    let skipped = samples * SAMPLE_RATE as u64 / self.resampler.input_rate() as u64;
                    *clock += skipped;
                }
                let t_ms = samples_to_ms(*clock);
                sink(Item::Notice { t_ms, notice });
                Ok(true)
            }
        }
    }
}

/// Reads a whole source as 16 kHz mono samples (for `transcribe`, `context`,
/// eval and tests).
pub fn read_all<S: AudioSource>(source: S) -> Result<Vec<f32>, AudioError> {
    let mut stream = FrameStream::new(source)?;
    let mut samples = Vec::new();
    while stream.pump(|item| {
        if let Item::Frame { frame, .. } = item {
            samples.extend_from_slice(&frame[..]);
        }
    })? {}
    Ok(samples)
}

/// Converts a count of 16 kHz samples to milliseconds.
pub fn samples_to_ms(samples: u64) -> u64 {
    samples * 1000 / SAMPLE_RATE as u64
}

impl fmt::Display for SourceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} Hz, {} ch)",
            self.kind, self.name, self.rate, self.channels
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that replays a vector in fixed-size pieces.
    struct VecSource {
        info: SourceInfo,
        data: Vec<f32>,
        pos: usize,
        piece: usize,
    }

    impl AudioSource for VecSource {
        fn info(&self) -> &SourceInfo {
            &self.info
        }
        fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError> {
            if self.pos >= self.data.len() {
                return Ok(Read::End);
            }
            let n = self.piece.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(Read::Samples(n))
        }
    }

    #[test]
    fn frames_are_stamped_on_the_audio_clock() {
        let src = VecSource {
            info: SourceInfo {
                kind: "test",
                name: "v".into(),
                rate: 16_000,
                channels: 1,
            },
            data: vec![0.0; 16_000],
            pos: 0,
            piece: 333,
        };
        let mut fs = FrameStream::new(src).unwrap();
        let mut stamps = Vec::new();
        while fs
            .pump(|it| {
                if let Item::Frame { t_ms, .. } = it {
                    stamps.push(t_ms)
                }
            })
            .unwrap()
        {}
        assert_eq!(stamps.len(), 100);
        assert_eq!(stamps[0], 0);
        assert_eq!(stamps[99], 990);
        assert_eq!(fs.t_ms(), 1000);
    }

    #[test]
    fn bad_formats_are_refused() {
        assert!(check_format("x", 0, 1).is_err());
        assert!(check_format("x", 400_000, 1).is_err());
        assert!(check_format("x", 16_000, 0).is_err());
        assert!(check_format("x", 16_000, 2).is_ok());
    }
}
