//! Streaming conversion of mono audio at any rate to 16 kHz, in fixed frames.
//!
//! [`FrameResampler`] accepts chunks of any length and hands out [`Frame`]s of
//! [`FRAME_SAMPLES`] samples. Internally it feeds rubato's synchronous FFT
//! resampler with chunks of a fixed size, so the output does not depend on how
//! the input was chunked. Every buffer is allocated in [`FrameResampler::new`];
//! [`FrameResampler::push`] and [`FrameResampler::finish`] never allocate.
//!
//! The resampler's own delay is removed, so sample `n` of the output lines up
//! with time `n / 16000` s of the input, and [`FrameResampler::finish`] flushes
//! the tail so that the output length is `ceil(len * 16000 / rate)`.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Input chunk size handed to rubato, in input samples at the source rate.
/// About 20 ms at 48 kHz: small enough for low latency, large enough for a cheap FFT.
pub const RESAMPLER_CHUNK: usize = 960;

/// Highest input rate accepted anywhere in heyplayer.
pub const MAX_INPUT_RATE: u32 = 384_000;

/// Errors of the resampling stage.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The input rate is 0 or above [`MAX_INPUT_RATE`].
    #[error("unsupported sample rate {0} Hz: heyplayer accepts 1 Hz to {MAX_INPUT_RATE} Hz")]
    BadRate(u32),
    /// rubato refused the configuration.
    #[error("resampler set-up failed: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    /// rubato failed while processing (never expected with the sizes used here).
    #[error("resampler failed: {0}")]
    Process(#[from] rubato::ResampleError),
}

/// Streaming resampler from `rate` to 16 kHz with fixed-size output frames.
pub struct FrameResampler {
    inner: Option<Fft<f32>>,
    /// Input waiting for a full rubato chunk (capacity = chunk size).
    pending_in: Vec<f32>,
    /// rubato output for one call.
    out_buf: Vec<f32>,
    /// Resampled samples waiting to be cut into frames (a ring of `ring.len()`).
    ring: Vec<f32>,
    ring_start: usize,
    ring_len: usize,
    /// Output samples still to be discarded (resampler delay).
    skip: usize,
    /// Input samples received so far.
    consumed_in: u64,
    /// Output samples queued so far (after the delay was skipped).
    produced_out: u64,
    /// Output samples handed out in frames so far.
    emitted: u64,
    in_rate: u32,
    finished: bool,
}

impl FrameResampler {
    /// A resampler from `in_rate` Hz to 16 kHz.
    pub fn new(in_rate: u32) -> Result<Self, ResampleError> {
        if in_rate == 0 || in_rate > MAX_INPUT_RATE {
            return Err(ResampleError::BadRate(in_rate));
        }
        let (inner, chunk, out_max, skip) = if in_rate == SAMPLE_RATE {
            (None, RESAMPLER_CHUNK, RESAMPLER_CHUNK, 0)
        } else {
            let r = Fft::<f32>::new(
                in_rate as usize,
                SAMPLE_RATE as usize,
                RESAMPLER_CHUNK,
                1,
                FixedSync::Input,
            )?;
            let chunk = r.input_frames_next();
            let out_max = r.output_frames_max();
            let skip = r.output_delay();
            (Some(r), chunk, out_max, skip)
        };
        // The ring holds at most one rubato output plus one partial frame.
        let ring_cap = 2 * out_max + FRAME_SAMPLES;
        Ok(Self {
            inner,
            pending_in: Vec::with_capacity(chunk),
            out_buf: vec![0.0; out_max],
            ring: vec![0.0; ring_cap],
            ring_start: 0,
            ring_len: 0,
            skip,
            consumed_in: 0,
            produced_out: 0,
            emitted: 0,
            in_rate,
            finished: false,
        })
    }

    /// The input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.in_rate
    }

    fn chunk(&self) -> usize {
        self.pending_in.capacity()
    }

    /// Output samples the whole input so far corresponds to.
    fn expected_out(&self) -> u64 {
        (self.consumed_in * SAMPLE_RATE as u64).div_ceil(self.in_rate as u64)
    }

    /// Feeds input samples, then calls `on_frame` for every complete 16 kHz frame.
    ///
    /// Frames are produced as soon as enough input has arrived; the split of the
    /// input into calls has no effect on the frames.
    pub fn push(
        &mut self,
        mut input: &[f32],
        mut on_frame: impl FnMut(&Frame),
    ) -> Result<(), ResampleError> {
        debug_assert!(!self.finished, "push after finish");
        self.consumed_in += input.len() as u64;
        while !input.is_empty() {
            let room = self.chunk() - self.pending_in.len();
            let take = room.min(input.len());
            self.pending_in.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending_in.len() == self.chunk() {
                self.run_chunk(None)?;
                self.pending_in.clear();
                self.drain_frames(u64::MAX, &mut on_frame);
            }
        }
        Ok(())
    }

    /// Flushes the tail: the remaining input and the resampler's delay line.
    /// The last frame is padded with zeros. After this, `push` must not be called.
    pub fn finish(&mut self, mut on_frame: impl FnMut(&Frame)) -> Result<(), ResampleError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let want = self.expected_out();
        if self.inner.is_none() {
            let n = self.pending_in.len();
            self.run_chunk(Some(n))?;
            self.pending_in.clear();
        } else {
            let mut partial = self.pending_in.len();
            // Feed zeros until every output sample owed has come out.
            while self.produced_out < want {
                self.run_chunk(Some(partial))?;
                self.pending_in.clear();
                partial = 0;
                self.drain_frames(want, &mut on_frame);
            }
        }
        // Drop what goes beyond the input's length, then pad the last frame.
        self.drain_frames(want, &mut on_frame);
        let keep = want.saturating_sub(self.emitted) as usize;
        self.ring_len = self.ring_len.min(keep);
        if self.ring_len > 0 {
            while self.ring_len < FRAME_SAMPLES {
                self.ring_push(0.0);
            }
            self.drain_frames(u64::MAX, &mut on_frame);
        }
        Ok(())
    }

    fn ring_push(&mut self, s: f32) {
        let cap = self.ring.len();
        let idx = (self.ring_start + self.ring_len) % cap;
        self.ring[idx] = s;
        self.ring_len += 1;
    }

    /// Runs one rubato call on `pending_in` (or passes it through at 16 kHz).
    fn run_chunk(&mut self, partial: Option<usize>) -> Result<(), ResampleError> {
        let n_out = match self.inner.as_mut() {
            None => {
                let n = partial.unwrap_or(self.pending_in.len());
                self.out_buf[..n].copy_from_slice(&self.pending_in[..n]);
                n
            }
            Some(r) => {
                let chunk = r.input_frames_next();
                // Zero the unused tail so partial chunks read silence.
                let filled = self.pending_in.len();
                self.pending_in.resize(chunk, 0.0);
                let input = InterleavedSlice::new(&self.pending_in[..], 1, chunk)
                    .map_err(|_| ResampleError::BadRate(self.in_rate))?;
                let out_len = self.out_buf.len();
                let mut output = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, out_len)
                    .map_err(|_| ResampleError::BadRate(self.in_rate))?;
                let indexing = partial.map(|p| Indexing {
                    input_offset: 0,
                    output_offset: 0,
                    partial_len: Some(p.min(filled)),
                    active_channels_mask: None,
                });
                let (_, n_out) = r.process_into_buffer(&input, &mut output, indexing.as_ref())?;
                n_out
            }
        };
        let mut i = 0;
        if self.skip > 0 {
            let s = self.skip.min(n_out);
            self.skip -= s;
            i = s;
        }
        for k in i..n_out {
            let s = self.out_buf[k];
            self.ring_push(s);
        }
        self.produced_out += (n_out - i) as u64;
        Ok(())
    }

    /// Hands out complete frames, but none that would end past `limit` samples.
    fn drain_frames(&mut self, limit: u64, on_frame: &mut impl FnMut(&Frame)) {
        let cap = self.ring.len();
        let mut frame: Frame = [0.0; FRAME_SAMPLES];
        while self.ring_len >= FRAME_SAMPLES && self.emitted + FRAME_SAMPLES as u64 <= limit {
            for (k, f) in frame.iter_mut().enumerate() {
                *f = self.ring[(self.ring_start + k) % cap];
            }
            self.ring_start = (self.ring_start + FRAME_SAMPLES) % cap;
            self.ring_len -= FRAME_SAMPLES;
            self.emitted += FRAME_SAMPLES as u64;
            on_frame(&frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: u32, input: &[f32], chunks: &[usize]) -> Vec<f32> {
        let mut r = FrameResampler::new(rate).unwrap();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut ci = 0;
        while pos < input.len() {
            let n = chunks[ci % chunks.len()].min(input.len() - pos);
            r.push(&input[pos..pos + n], |f| out.extend_from_slice(f))
                .unwrap();
            pos += n;
            ci += 1;
        }
        r.finish(|f| out.extend_from_slice(f)).unwrap();
        out
    }

    #[test]
    fn rejects_absurd_rates() {
        assert!(matches!(
            FrameResampler::new(0),
            Err(ResampleError::BadRate(0))
        ));
        assert!(matches!(
            FrameResampler::new(384_001),
            Err(ResampleError::BadRate(_))
        ));
        assert!(FrameResampler::new(384_000).is_ok());
        assert!(FrameResampler::new(8_000).is_ok());
    }

    #[test]
    fn passthrough_at_16k_is_exact() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        let out = run(16_000, &input, &[7, 333, 1]);
        assert_eq!(out.len(), 1120); // 7 frames, last one padded
        assert_eq!(&out[..1000], &input[..]);
        assert!(out[1000..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn output_length_follows_the_ratio() {
        for &rate in &[8_000u32, 22_050, 44_100, 48_000, 96_000] {
            let n = rate as usize * 3 / 2 + 17;
            let input = vec![0.1f32; n];
            let out = run(rate, &input, &[4096]);
            let want = (n as u64 * 16_000).div_ceil(rate as u64) as usize;
            assert_eq!(
                out.len(),
                want.div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES,
                "rate {rate}"
            );
        }
    }

    #[test]
    fn chunking_does_not_change_output() {
        let input: Vec<f32> = (0..48_000 * 2)
            .map(|i| ((i as f32) * 0.037).sin() * 0.5 + ((i * 7919 % 1000) as f32 / 5000.0))
            .collect();
        let whole = run(48_000, &input, &[input.len()]);
        for chunks in [&[1usize][..], &[17, 960, 3], &[4801], &[100, 2000, 59]] {
            let other = run(48_000, &input, chunks);
            assert_eq!(whole.len(), other.len());
            for (a, b) in whole.iter().zip(&other) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b} with {chunks:?}");
            }
        }
    }
}
