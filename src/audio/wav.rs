//! WAV file source (hound): any rate up to 384 kHz, any channel count,
//! 8/16/24/32-bit integer or 32-bit float PCM, downmixed to mono.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use hound::{SampleFormat, WavReader};

use super::{check_format, AudioError, AudioSource, Read, SourceInfo};

/// Bytes of sample data decoded per read.
const BYTE_CHUNK: usize = 32 * 1024;

/// Reads a WAV file as mono `f32`, optionally paced at real time.
///
/// hound parses and checks the header; the sample data is then decoded here
/// in bulk (much faster than a per-sample iterator) from a preallocated buffer.
pub struct WavSource {
    info: SourceInfo,
    data: BufReader<File>,
    format: SampleFormat,
    /// Bytes per sample.
    width: usize,
    bytes: Vec<u8>,
    /// Samples (all channels) the header announced.
    expected: u64,
    /// Samples (all channels) read so far.
    got: u64,
    /// Pace reading at real time (for demos and soak tests).
    realtime: Option<Instant>,
}

impl WavSource {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path, realtime: bool) -> Result<Self, AudioError> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| AudioError::Open {
            path: name.clone(),
            source,
        })?;
        if meta.is_dir() {
            return Err(AudioError::Open {
                path: name,
                source: std::io::Error::other("it is a directory, not a file"),
            });
        }
        if meta.len() == 0 {
            return Err(AudioError::EmptyFile { path: name });
        }
        let file = File::open(path).map_err(|source| AudioError::Open {
            path: name.clone(),
            source,
        })?;
        if let Some(rate) = raw_header_rate(path) {
            // hound may reject such a header for a less helpful reason.
            check_format(&name, rate, 1)?;
        }
        let reader = WavReader::new(BufReader::new(file)).map_err(|e| header_error(&name, e))?;
        let spec = reader.spec();
        check_format(&name, spec.sample_rate, spec.channels)?;
        match (spec.sample_format, spec.bits_per_sample) {
            (SampleFormat::Int, 8 | 16 | 24 | 32) | (SampleFormat::Float, 32) => {}
            (f, b) => {
                return Err(AudioError::UnsupportedEncoding {
                    path: name,
                    detail: format!("{b}-bit {f:?}"),
                })
            }
        }
        let expected = reader.len() as u64;
        if expected == 0 {
            return Err(AudioError::NoSamples { path: name });
        }
        let width = spec.bits_per_sample as usize / 8;
        let frame = width * spec.channels as usize;
        Ok(Self {
            info: SourceInfo {
                kind: "file",
                name,
                rate: spec.sample_rate,
                channels: spec.channels,
            },
            // hound leaves the reader at the start of the sample data.
            data: reader.into_inner(),
            format: spec.sample_format,
            width,
            bytes: vec![0; (BYTE_CHUNK / frame).max(1) * frame],
            expected,
            got: 0,
            realtime: realtime.then(Instant::now),
        })
    }

    fn truncated(&self) -> AudioError {
        AudioError::Truncated {
            path: self.info.name.clone(),
            expected: self.expected,
            got: self.got,
        }
    }

    /// Reads whole device frames into `self.bytes`; returns bytes read.
    fn fill(&mut self, want: usize) -> Result<usize, AudioError> {
        use std::io::Read as _;
        let mut n = 0;
        while n < want {
            match self.data.read(&mut self.bytes[n..want]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(AudioError::Io {
                        what: self.info.name.clone(),
                        source,
                    })
                }
            }
        }
        Ok(n)
    }

    fn read_into(&mut self, buf: &mut [f32]) -> Result<usize, AudioError> {
        let ch = self.info.channels as usize;
        let frame_bytes = self.width * ch;
        let frames_left = ((self.expected - self.got) / ch as u64) as usize;
        let n = buf
            .len()
            .min(frames_left)
            .min(self.bytes.len() / frame_bytes);
        let want = n * frame_bytes;
        let got_bytes = self.fill(want)?;
        let whole = got_bytes / frame_bytes;
        let inv_ch = 1.0 / ch as f32;
        let w = self.width;
        for (i, out) in buf.iter_mut().take(whole).enumerate() {
            let base = i * frame_bytes;
            let mut acc = 0.0f32;
            for c in 0..ch {
                let b = &self.bytes[base + c * w..base + (c + 1) * w];
                acc += match (self.format, w) {
                    (SampleFormat::Float, _) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    // 8-bit WAV is unsigned, centred on 128.
                    (SampleFormat::Int, 1) => (b[0] as f32 - 128.0) / 128.0,
                    (SampleFormat::Int, 2) => i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0,
                    (SampleFormat::Int, 3) => {
                        (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
                    }
                    (SampleFormat::Int, _) => {
                        i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0
                    }
                };
            }
            *out = acc * inv_ch;
        }
        self.got += (whole * ch) as u64;
        if whole < n {
            self.got += ((got_bytes % frame_bytes) / w) as u64;
            return Err(self.truncated());
        }
        Ok(n)
    }
}

fn header_error(name: &str, e: hound::Error) -> AudioError {
    match e {
        hound::Error::Unsupported => AudioError::UnsupportedEncoding {
            path: name.to_string(),
            detail: "compressed or unknown format tag".into(),
        },
        hound::Error::FormatError(msg) if msg.contains("bits per sample") => {
            AudioError::UnsupportedEncoding {
                path: name.to_string(),
                detail: msg.to_string(),
            }
        }
        hound::Error::FormatError(msg) => AudioError::NotWav {
            path: name.to_string(),
            detail: msg.to_string(),
        },
        // The file opened, so a read error inside the header means it is cut short.
        hound::Error::IoError(io) => AudioError::NotWav {
            path: name.to_string(),
            detail: format!("the header is cut short or damaged: {io}"),
        },
        other => AudioError::NotWav {
            path: name.to_string(),
            detail: other.to_string(),
        },
    }
}

/// The sample rate field of a canonical RIFF/WAVE header (`fmt ` first), if any.
fn raw_header_rate(path: &Path) -> Option<u32> {
    use std::io::Read as _;
    let mut head = [0u8; 28];
    File::open(path).ok()?.read_exact(&mut head).ok()?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" || &head[12..16] != b"fmt " {
        return None;
    }
    Some(u32::from_le_bytes([head[24], head[25], head[26], head[27]]))
}

impl AudioSource for WavSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError> {
        if self.got >= self.expected {
            return Ok(Read::End);
        }
        // hound's iterator ends early (rather than failing) on some truncations.
        let n = self.read_into(buf)?;
        if n == 0 {
            return Err(self.truncated());
        }
        if let Some(start) = self.realtime {
            let frames_done = self.got / self.info.channels as u64;
            let due = Duration::from_secs_f64(frames_done as f64 / self.info.rate as f64);
            let elapsed = start.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
        }
        Ok(Read::Samples(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{WavSpec, WavWriter};

    /// 16 kHz mono 16-bit, heyplayer's own format.
    const MONO16: WavSpec = WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };

    fn write(path: &Path, spec: WavSpec, frames: usize) {
        let mut w = WavWriter::create(path, spec).unwrap();
        for i in 0..frames * spec.channels as usize {
            let v = ((i as f32) * 0.01).sin() * 0.5;
            match (spec.sample_format, spec.bits_per_sample) {
                (SampleFormat::Float, _) => w.write_sample(v).unwrap(),
                (SampleFormat::Int, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                (SampleFormat::Int, 16) => w.write_sample((v * 32767.0) as i16).unwrap(),
                (SampleFormat::Int, 24) => w.write_sample((v * 8_388_607.0) as i32).unwrap(),
                (SampleFormat::Int, _) => w.write_sample((v * 2_147_483_647.0) as i32).unwrap(),
            }
        }
        w.finalize().unwrap();
    }

    fn read_all(path: &Path) -> Result<Vec<f32>, AudioError> {
        let mut src = WavSource::open(path, false)?;
        let mut out = Vec::new();
        let mut buf = vec![0.0; 1000];
        loop {
            match src.read(&mut buf)? {
                Read::Samples(n) => out.extend_from_slice(&buf[..n]),
                Read::End => return Ok(out),
                Read::Notice(_) => {}
            }
        }
    }

    #[test]
    fn reads_every_supported_encoding_alike() {
        let dir = tempfile::tempdir().unwrap();
        for (fmt, bits) in [
            (SampleFormat::Int, 8),
            (SampleFormat::Int, 16),
            (SampleFormat::Int, 24),
            (SampleFormat::Int, 32),
            (SampleFormat::Float, 32),
        ] {
            for channels in [1u16, 2, 6] {
                let p = dir.path().join(format!("{bits}-{channels}.wav"));
                let spec = WavSpec {
                    channels,
                    sample_rate: 22_050,
                    bits_per_sample: bits,
                    sample_format: fmt,
                };
                // Same signal on every channel, so the downmix equals it.
                let mut w = WavWriter::create(&p, spec).unwrap();
                for i in 0..2205 {
                    let v = ((i as f32) * 0.01).sin() * 0.5;
                    for _ in 0..channels {
                        match (fmt, bits) {
                            (SampleFormat::Float, _) => w.write_sample(v).unwrap(),
                            (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                            (_, 16) => w.write_sample((v * 32767.0) as i16).unwrap(),
                            (_, 24) => w.write_sample((v * 8_388_607.0) as i32).unwrap(),
                            _ => w.write_sample((v * 2_147_483_647.0) as i32).unwrap(),
                        }
                    }
                }
                w.finalize().unwrap();
                let got = read_all(&p).unwrap();
                assert_eq!(got.len(), 2205);
                let tol = if bits == 8 { 0.02 } else { 1e-3 };
                for (i, b) in got.iter().enumerate() {
                    let a = ((i as f32) * 0.01).sin() * 0.5;
                    assert!((a - b).abs() < tol, "{bits}-bit {channels}ch: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.wav");
        write(&p, MONO16, 16_000);
        let len = std::fs::metadata(&p).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(len - 10_000).unwrap();
        let err = read_all(&p).unwrap_err();
        assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("truncated"));
    }

    #[test]
    fn empty_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.wav");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(
            WavSource::open(&p, false),
            Err(AudioError::EmptyFile { .. })
        ));
        let header_only = dir.path().join("header_only.wav");
        write(&header_only, MONO16, 0);
        let Err(err) = WavSource::open(&header_only, false) else {
            panic!("a WAV file with no samples opened");
        };
        assert!(matches!(err, AudioError::NoSamples { .. }), "{err}");
        assert!(err.to_string().contains("0 samples"), "{err}");
        let missing = dir.path().join("nope.wav");
        assert!(matches!(
            WavSource::open(&missing, false),
            Err(AudioError::Open { .. })
        ));
        let text = dir.path().join("text.wav");
        std::fs::write(&text, b"hello, this is not audio at all").unwrap();
        assert!(matches!(
            WavSource::open(&text, false),
            Err(AudioError::NotWav { .. })
        ));
    }
}
