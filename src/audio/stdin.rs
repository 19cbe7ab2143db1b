//! Raw little-endian signed 16-bit PCM from stdin (or any reader), with the
//! rate and channel count given on the command line.

use std::io::{ErrorKind, Read as IoRead};

use super::{check_format, AudioError, AudioSource, Read, SourceInfo};

/// Bytes read from the underlying reader at a time.
const BYTE_CHUNK: usize = 8192;

/// Raw s16le interleaved PCM from a reader, downmixed to mono.
pub struct RawPcmSource<R> {
    info: SourceInfo,
    reader: R,
    bytes: Vec<u8>,
    /// Valid bytes at the front of `bytes` not yet converted.
    held: usize,
    total: u64,
    eof: bool,
}

impl<R: IoRead> RawPcmSource<R> {
    /// Wraps `reader`, which delivers s16le at `rate` Hz with `channels` channels.
    pub fn new(reader: R, name: &str, rate: u32, channels: u16) -> Result<Self, AudioError> {
        check_format(name, rate, channels)?;
        Ok(Self {
            info: SourceInfo {
                kind: "stdin",
                name: name.to_string(),
                rate,
                channels,
            },
            reader,
            bytes: vec![0; BYTE_CHUNK],
            held: 0,
            total: 0,
            eof: false,
        })
    }
}

impl<R: IoRead> AudioSource for RawPcmSource<R> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn read(&mut self, buf: &mut [f32]) -> Result<Read, AudioError> {
        let ch = self.info.channels as usize;
        let frame_bytes = 2 * ch;
        loop {
            let whole = self.held / frame_bytes;
            if whole > 0 || self.eof {
                if whole == 0 {
                    if self.total == 0 {
                        return Err(AudioError::StdinClosedEarly {
                            detail: "no audio arrived before end of input; pipe raw s16le PCM in, e.g. `sox in.wav -t raw -e signed -b 16 -r 16000 -c 1 - | heyplayer listen --input -`".into(),
                        });
                    }
                    if self.held > 0 {
                        return Err(AudioError::StdinClosedEarly {
                            detail: format!(
                                "input ended in the middle of a sample frame ({} stray bytes; a frame is {} bytes for {} channel(s) of s16le); check --channels and that the stream was not cut",
                                self.held, frame_bytes, ch
                            ),
                        });
                    }
                    return Ok(Read::End);
                }
                let n = whole.min(buf.len());
                let inv = 1.0 / (32768.0 * ch as f32);
                for (i, out) in buf.iter_mut().take(n).enumerate() {
                    let base = i * frame_bytes;
                    let mut acc = 0i32;
                    for c in 0..ch {
                        let k = base + 2 * c;
                        acc += i16::from_le_bytes([self.bytes[k], self.bytes[k + 1]]) as i32;
                    }
                    *out = acc as f32 * inv;
                }
                let used = n * frame_bytes;
                self.bytes.copy_within(used..self.held, 0);
                self.held -= used;
                return Ok(Read::Samples(n));
            }
            match self.reader.read(&mut self.bytes[self.held..]) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    self.held += k;
                    self.total += k as u64;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(AudioError::Io {
                        what: "stdin".into(),
                        source,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn drain<R: IoRead>(src: &mut RawPcmSource<R>) -> Result<Vec<f32>, AudioError> {
        let mut out = Vec::new();
        let mut buf = vec![0.0; 97];
        loop {
            match src.read(&mut buf)? {
                Read::Samples(n) => out.extend_from_slice(&buf[..n]),
                Read::End => return Ok(out),
                Read::Notice(_) => {}
            }
        }
    }

    #[test]
    fn stereo_is_downmixed() {
        let mut bytes = Vec::new();
        for i in 0..1000i16 {
            bytes.extend_from_slice(&(i * 10).to_le_bytes());
            bytes.extend_from_slice(&(i * 30).to_le_bytes());
        }
        let mut src = RawPcmSource::new(Cursor::new(bytes), "-", 48_000, 2).unwrap();
        let got = drain(&mut src).unwrap();
        assert_eq!(got.len(), 1000);
        for (i, s) in got.iter().enumerate() {
            let want = (i as f32 * 20.0) / 32768.0;
            assert!((s - want).abs() < 1e-6);
        }
    }

    #[test]
    fn closed_early_is_an_error() {
        let mut src = RawPcmSource::new(Cursor::new(Vec::new()), "-", 16_000, 1).unwrap();
        assert!(matches!(
            drain(&mut src),
            Err(AudioError::StdinClosedEarly { .. })
        ));
        let mut src = RawPcmSource::new(Cursor::new(vec![1u8, 2, 3]), "-", 16_000, 2).unwrap();
        let err = drain(&mut src).unwrap_err();
        assert!(err.to_string().contains("stray bytes"), "{err}");
    }

    #[test]
    fn bad_rate_is_refused() {
        assert!(RawPcmSource::new(Cursor::new(Vec::new()), "-", 0, 1).is_err());
        assert!(RawPcmSource::new(Cursor::new(Vec::new()), "-", 500_000, 1).is_err());
    }
}
