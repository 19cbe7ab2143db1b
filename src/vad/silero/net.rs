//! Silero VAD's network (the v6 OpenVINO export), restated over plain loops.
//!
//! One call takes the 576-sample window plus its 64 reflected samples and the
//! LSTM state `(h, c)`, and computes, as the model file does:
//!
//! 1. an STFT: 258 filters of 256 taps at stride 128 (4 frames), the first
//!    129 the real parts and the rest the imaginary parts of a windowed DFT,
//!    then the magnitude `sqrt(re^2 + im^2)` of each of 129 bins;
//! 2. four 1-D convolutions of width 3 (zero padding 1; strides 1, 2, 2, 1;
//!    129 -> 128 -> 64 -> 64 -> 128 channels, 4 -> 4 -> 2 -> 1 -> 1 frames),
//!    each with a bias and a ReLU;
//! 3. one LSTM step (ONNX gate order i, o, f, c; sigmoid and tanh), from
//!    the state to the next state;
//! 4. ReLU of the new `h`, a dot product with a bias, and a sigmoid: the
//!    probability.
//!
//! tract ran this graph at 0.07 to 0.11 ms a call, mostly in per-op overhead:
//! every product here has 1 to 4 rows. Here the STFT is a 256-point real FFT
//! of the windowed frames (the filters are checked at load to be that DFT,
//! like the wake word's mel front end), and the products are row-times-matrix
//! loops that the compiler vectorises for the CPU found at run time (pulp:
//! AVX2 where there is one). The numbers equal tract running the model file
//! up to float rounding (tested call by call on speech, LSTM state included).
//!
//! The graph is checked at load: its op sequence must be this export's, and
//! the parameters are read from the file (tract evaluates the slices and
//! concatenations that build the LSTM's weights), with their shapes checked.

use std::path::Path;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::format_err;

use super::{SileroError, REFLECT, WINDOW};
use crate::nn::dense::product;

/// FFT size (the STFT filters' length).
const N_FFT: usize = 256;
/// Samples between STFT frames.
const HOP: usize = 128;
const N_BINS: usize = N_FFT / 2 + 1;
/// STFT frames per call.
const FRAMES: usize = (WINDOW + REFLECT - N_FFT) / HOP + 1;
/// LSTM width.
pub const HIDDEN: usize = 128;

/// The export's ops, in order, Constant nodes left out.
const OPS: &str = "ConstantOfShape Concat Reshape Slice Transpose Reshape Cast Pad Unsqueeze \
    Conv Slice Slice Slice Cast Slice Slice Cast Pow Pow Add Sqrt Conv Relu Conv Relu Conv Relu \
    Conv Relu Squeeze Gather Gather Unsqueeze Unsqueeze Unsqueeze Slice Slice Slice Concat Slice \
    Slice Slice Concat Slice Slice Slice Concat Slice Slice Slice Concat Concat Unsqueeze \
    Unsqueeze Unsqueeze LSTM Squeeze Squeeze Unsqueeze Cast Unsqueeze Unsqueeze Concat Relu Conv \
    Sigmoid Squeeze ReduceMean Unsqueeze";

/// The encoder's convolutions: (input channels, output channels, stride).
const ENCODER: [(usize, usize, usize); 4] =
    [(N_BINS, 128, 1), (128, 64, 2), (64, 64, 2), (64, HIDDEN, 1)];

/// A width-3 convolution with zero padding 1 and a bias.
#[derive(Debug)]
struct Conv {
    cin: usize,
    cout: usize,
    stride: usize,
    /// `[d * cin + ci][co]`, row-major.
    w: Box<[f32]>,
    b: Box<[f32]>,
}

/// The parameters, loaded once and shared.
pub struct SileroNet {
    window: Box<[f32]>,
    fft: Arc<dyn RealToComplex<f32>>,
    encoder: Vec<Conv>,
    /// `[x (128) then h (128)][gate (4 x 128)]`: W and R stacked, transposed.
    lstm_w: Box<[f32]>,
    /// The two biases summed.
    lstm_b: Box<[f32]>,
    dec_w: Box<[f32]>,
    dec_b: f32,
    arch: pulp::Arch,
}

impl std::fmt::Debug for SileroNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroNet").finish_non_exhaustive()
    }
}

/// A caller's working buffers, allocated once.
pub struct Scratch {
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft: Vec<Complex<f32>>,
    /// Activations, `[frame][channel]`.
    a: Vec<f32>,
    b: Vec<f32>,
    /// A convolution's input patches, `[3 * cin][frame]`.
    cols: Vec<f32>,
    /// `[x; h]`, then the gates.
    xh: Vec<f32>,
    gates: Vec<f32>,
}

impl SileroNet {
    /// Reads the parameters of the model at `path` (`model` is the same file,
    /// as tract loaded it with its input shapes fixed).
    pub fn load(path: &Path, model: &InferenceModel) -> Result<Self, SileroError> {
        let bad = |detail: String| SileroError::Load {
            path: path.display().to_string(),
            detail: format!("{detail}: not the Silero v6 OpenVINO export"),
        };
        let file = crate::nn::modelfile::OnnxFile::open(path).map_err(|e| bad(e.into()))?;
        let nodes: Vec<_> = file
            .graph()
            .node
            .iter()
            .filter(|n| n.op_type != "Constant")
            .collect();
        let ops: Vec<&str> = nodes.iter().map(|n| n.op_type.as_str()).collect();
        if !ops.iter().copied().eq(OPS.split_whitespace()) {
            return Err(bad(format!(
                "{} ops, not the {} expected",
                ops.len(),
                OPS.split_whitespace().count()
            )));
        }
        let convs: Vec<_> = nodes.iter().filter(|n| n.op_type == "Conv").collect();
        if convs.len() != 6 {
            return Err(bad(format!("{} convolutions", convs.len())));
        }
        let lstm = nodes
            .iter()
            .find(|n| n.op_type == "LSTM")
            .ok_or_else(|| bad("no LSTM".into()))?;
        let attrs = |n: &tract_onnx::pb::NodeProto| -> Vec<(String, Vec<i64>)> {
            n.attribute
                .iter()
                .map(|a| {
                    (
                        a.name.clone(),
                        if a.ints.is_empty() {
                            vec![a.i]
                        } else {
                            a.ints.clone()
                        },
                    )
                })
                .collect()
        };
        let lstm_attrs = attrs(lstm);
        if lstm_attrs != [("hidden_size".to_string(), vec![HIDDEN as i64])] {
            return Err(bad(format!("LSTM attributes {lstm_attrs:?}")));
        }
        let conv_is = |k: usize, kernel: i64, pad: i64, stride: i64| {
            let a = attrs(convs[k]);
            let get = |name: &str| a.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            get("kernel_shape") == Some(vec![kernel])
                && get("pads") == Some(vec![pad, pad])
                && get("strides") == Some(vec![stride])
                && get("dilations").is_none_or(|d| d == [1])
                && get("group").is_none_or(|g| g == [1])
        };
        let strides_ok = ENCODER
            .iter()
            .enumerate()
            .all(|(k, &(_, _, s))| conv_is(k + 1, 3, 1, s as i64));
        if !conv_is(0, N_FFT as i64, 0, HOP as i64) || !strides_ok || !conv_is(5, 1, 0, 1) {
            return Err(bad("unexpected convolution attributes".into()));
        }

        // The parameters, as tract computes them from the file.
        let mut names: Vec<&str> = vec![convs[0].input[1].as_str()];
        for c in &convs[1..] {
            if c.input.len() != 3 {
                return Err(bad(format!("{} has no bias", c.name)));
            }
            names.extend([c.input[1].as_str(), c.input[2].as_str()]);
        }
        if lstm.input.len() < 4 || lstm.input.get(4).is_some_and(|s| !s.is_empty()) {
            return Err(bad("LSTM inputs".into()));
        }
        names.extend(lstm.input[1..4].iter().map(String::as_str));
        let values = evaluate(model, &names).map_err(|e| bad(format!("{e:#}")))?;
        let get = |k: usize, shape: &[usize]| -> Result<Vec<f32>, SileroError> {
            crate::nn::modelfile::floats(names[k], &values[k], shape).map_err(|e| bad(e.into()))
        };

        // The STFT filters must be a windowed DFT: filter k is window[n] *
        // cos(2 pi k n / N), filter N_BINS + k is +-window[n] * sin(...).
        let filters = get(0, &[2 * N_BINS, 1, N_FFT])?;
        let window: Box<[f32]> = filters[..N_FFT].into();
        let (real, imag) = filters.split_at(N_BINS * N_FFT);
        let worst = crate::nn::modelfile::dft_mismatch(real, imag, N_FFT);
        if worst > 1e-5 {
            return Err(bad(format!(
                "the STFT filters are not a windowed DFT (off by {worst:e})"
            )));
        }

        let mut encoder = Vec::new();
        for (k, &(cin, cout, stride)) in ENCODER.iter().enumerate() {
            let src = get(1 + 2 * k, &[cout, cin, 3])?;
            let mut w = vec![0.0; 3 * cin * cout];
            for co in 0..cout {
                for ci in 0..cin {
                    for d in 0..3 {
                        w[(d * cin + ci) * cout + co] = src[(co * cin + ci) * 3 + d];
                    }
                }
            }
            encoder.push(Conv {
                cin,
                cout,
                stride,
                w: w.into(),
                b: get(2 + 2 * k, &[cout])?.into(),
            });
        }
        let dec_w = get(9, &[1, HIDDEN, 1])?;
        let dec_b = get(10, &[1])?;
        let g = 4 * HIDDEN;
        let w_in = get(11, &[1, g, HIDDEN])?;
        let r = get(12, &[1, g, HIDDEN])?;
        let bias = get(13, &[1, 2 * g])?;
        let mut lstm_w = vec![0.0; 2 * HIDDEN * g];
        for j in 0..g {
            for i in 0..HIDDEN {
                lstm_w[i * g + j] = w_in[j * HIDDEN + i];
                lstm_w[(HIDDEN + i) * g + j] = r[j * HIDDEN + i];
            }
        }
        let lstm_b = (0..g).map(|j| bias[j] + bias[g + j]).collect();
        Ok(Self {
            window,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT),
            encoder,
            lstm_w: lstm_w.into(),
            lstm_b,
            dec_w: dec_w.into(),
            dec_b: dec_b[0],
            arch: pulp::Arch::new(),
        })
    }

    /// Working buffers for [`Self::run`].
    pub fn scratch(&self) -> Scratch {
        let widest = N_BINS.max(HIDDEN) * FRAMES;
        Scratch {
            frame: self.fft.make_input_vec(),
            spectrum: self.fft.make_output_vec(),
            fft: self.fft.make_scratch_vec(),
            a: vec![0.0; widest],
            b: vec![0.0; widest],
            cols: vec![0.0; 3 * widest],
            xh: vec![0.0; 2 * HIDDEN],
            gates: vec![0.0; 4 * HIDDEN],
        }
    }

    /// One call: `x` is the window and its reflection, `state` is `h` then
    /// `c` (updated). Returns the speech probability.
    pub fn run(&self, x: &[f32], state: &mut [f32], s: &mut Scratch) -> Result<f32, SileroError> {
        if x.len() != WINDOW + REFLECT || state.len() != 2 * HIDDEN {
            return Err(SileroError::Run(format!(
                "{} samples and {} state values, not {} and {}",
                x.len(),
                state.len(),
                WINDOW + REFLECT,
                2 * HIDDEN
            )));
        }
        // STFT magnitudes, [frame][bin].
        for f in 0..FRAMES {
            let frame = &x[f * HOP..f * HOP + N_FFT];
            for ((d, v), w) in s.frame.iter_mut().zip(frame).zip(self.window.iter()) {
                *d = v * w;
            }
            self.fft
                .process_with_scratch(&mut s.frame, &mut s.spectrum, &mut s.fft)
                .map_err(|e| SileroError::Run(format!("FFT: {e}")))?;
            for (d, c) in s.a[f * N_BINS..(f + 1) * N_BINS]
                .iter_mut()
                .zip(&s.spectrum)
            {
                *d = (c.re * c.re + c.im * c.im).sqrt();
            }
        }
        // The encoder.
        let mut frames = FRAMES;
        let (mut inp, mut out) = (&mut s.a, &mut s.b);
        for conv in &self.encoder {
            frames = self.conv(conv, &inp[..frames * conv.cin], frames, &mut s.cols, out);
            std::mem::swap(&mut inp, &mut out);
        }
        if frames != 1 {
            return Err(SileroError::Run(format!(
                "the encoder gave {frames} frames"
            )));
        }
        // The LSTM step.
        let (h, c) = state.split_at_mut(HIDDEN);
        s.xh[..HIDDEN].copy_from_slice(&inp[..HIDDEN]);
        s.xh[HIDDEN..].copy_from_slice(h);
        product(
            self.arch,
            &s.xh,
            1,
            &self.lstm_w,
            Some(&self.lstm_b),
            &mut s.gates,
        );
        let (i, rest) = s.gates.split_at(HIDDEN);
        let (o, rest) = rest.split_at(HIDDEN);
        let (f, g) = rest.split_at(HIDDEN);
        for k in 0..HIDDEN {
            c[k] = sigmoid(f[k]) * c[k] + sigmoid(i[k]) * g[k].tanh();
            h[k] = sigmoid(o[k]) * c[k].tanh();
        }
        // The decoder.
        let z: f32 = h
            .iter()
            .zip(self.dec_w.iter())
            .map(|(h, w)| h.max(0.0) * w)
            .sum::<f32>()
            + self.dec_b;
        Ok(sigmoid(z))
    }

    /// A convolution of `frames` frames of `x` (`[frame][cin]`) into `out`
    /// (`[frame][cout]`), with its bias and ReLU; returns the output frames.
    fn conv(&self, c: &Conv, x: &[f32], frames: usize, cols: &mut [f32], out: &mut [f32]) -> usize {
        let n_out = (frames - 1) / c.stride + 1;
        let k = 3 * c.cin;
        // Column-major patches: column (d, ci) holds, for each output frame
        // t, input frame t * stride + d - 1 (or the zero padding).
        for (kk, col) in cols[..n_out * k].chunks_exact_mut(n_out).enumerate() {
            let (d, ci) = (kk / c.cin, kk % c.cin);
            for (t, v) in col.iter_mut().enumerate() {
                *v = match (t * c.stride + d).checked_sub(1).filter(|&j| j < frames) {
                    Some(j) => x[j * c.cin + ci],
                    None => 0.0,
                };
            }
        }
        let y = &mut out[..n_out * c.cout];
        product(self.arch, &cols[..n_out * k], n_out, &c.w, Some(&c.b), y);
        y.iter_mut().for_each(|v| *v = v.max(0.0));
        n_out
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The values of the tensors `names` of `model`, as tract computes them (for
/// constants and what is computed from constants only: the inputs are zeros).
fn evaluate(model: &InferenceModel, names: &[&str]) -> TractResult<TVec<Tensor>> {
    let mut m = model.clone();
    let outs = names
        .iter()
        .map(|n| {
            m.find_outlet_label(n)
                .ok_or_else(|| format_err!("no tensor named {n}"))
        })
        .collect::<TractResult<Vec<_>>>()?;
    m.select_output_outlets(&outs)?;
    let plan = m.into_optimized()?.into_runnable()?;
    let inputs = plan
        .model()
        .input_outlets()?
        .iter()
        .map(|o| {
            let fact = plan.model().outlet_fact(*o)?;
            let shape = fact.shape.as_concrete().map(|s| s.to_vec());
            let shape = shape.ok_or_else(|| format_err!("an input of unknown shape"))?;
            Ok(Tensor::zero_dt(fact.datum_type, &shape)?.into_tvalue())
        })
        .collect::<TractResult<TVec<_>>>()?;
    Ok(plan
        .run(inputs)?
        .into_iter()
        .map(|v| v.into_tensor())
        .collect())
}
