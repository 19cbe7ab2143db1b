//! openWakeWord's embedding model (`embedding_model.onnx`), streamed, with
//! its arithmetic restated over plain matrix products.
//!
//! The model is a chain: zero-pad the 32 mel bins by one each side; twenty
//! convolutions whose kernels are 3x3 (the first), 1x3 along the bins (padded)
//! or 3x1 along time (unpadded), each followed by pointwise ops (bias, ReLU,
//! batch normalisation, leaky ReLU, `max(x, -0.4)`); five max-pools, 2x2 or
//! 1x2. 76 mel frames give one 96-d embedding.
//!
//! Windows advance by 8 mel frames, the product of the pools' time strides,
//! and only the pools and the convolutions of height 3 (the first and the
//! 3x1 ones) mix frames. So every
//! activation of the window at step k is one of the window at step k-1
//! shifted by 8, 4, 2 or 1 frames, and the new frames of each pool's input
//! start at a pool boundary. A streamed step therefore runs each layer only on
//! its new frames, plus the 2 frames of context that a time convolution keeps
//! from the step before: about 5.5 M multiply-adds instead of the whole
//! window's 42 M. The first window after a reset runs whole
//! ([`EmbState::window`]), which also leaves every context in place.
//!
//! The layers are read from the model file: [`EmbNet::load`] walks its graph
//! node by node and refuses any op, attribute or shape it does not restate, so
//! what runs is that file's network. A convolution is an im2col copy and one
//! matrix product (`matrixmultiply`, through ndarray), the ops after it are
//! loops over the product. tract ran the same layers (as 11 streamed
//! sub-graphs) at 7 to 18 G multiply-adds per second, spending a third of its
//! time in the product and most of the rest in its generic im2col: these
//! shapes are small (1 to 256 rows). The results equal tract running the
//! model file up to float rounding (tested here on a window and the steps
//! after it, and through the detector's embeddings and scores).
//!
//! Working buffers are sized at construction ([`EmbState::new`]); the
//! matrix product allocates its own packing buffers.

use std::path::Path;

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2};

use super::{WakeError, EMB_DIM, MEL_BINS, MEL_PER_STEP, MEL_WINDOW};

/// Mel bins after the model's zero padding (one bin each side): the width of
/// the input this module takes.
pub const MEL_PADDED: usize = MEL_BINS + 2;

/// A pointwise op after a convolution, applied to channel `c` of each frame.
#[derive(Debug)]
enum Point {
    Relu,
    /// Batch normalisation at inference: `x * scale[c] + shift[c]`.
    Affine {
        scale: Box<[f32]>,
        shift: Box<[f32]>,
    },
    LeakyRelu(f32),
    /// `max(x, floor)` (the graph's `Max` with a scalar constant).
    Floor(f32),
}

/// A convolution with stride 1, zero padding along the bins only.
#[derive(Debug)]
struct Conv {
    /// Kernel height (time) and width (bins).
    kt: usize,
    kf: usize,
    pad_f: usize,
    cout: usize,
    /// `[(dt * kf + df) * cin + ci][co]`, row-major: the im2col layout.
    w: Box<[f32]>,
    bias: Option<Box<[f32]>>,
    post: Vec<Point>,
}

#[derive(Debug)]
enum Layer {
    Conv(Conv),
    /// Max-pool with stride equal to the kernel.
    Pool {
        kt: usize,
        kf: usize,
    },
}

/// The shape of a layer's input: bins and channels (frames vary).
#[derive(Debug, Clone, Copy)]
struct Dims {
    f: usize,
    c: usize,
}

/// The network, loaded once and shared between detectors.
#[derive(Debug)]
pub struct EmbNet {
    layers: Vec<Layer>,
    /// The input dims of each layer, then the output's.
    dims: Vec<Dims>,
    /// The SIMD level found at run time, for the few-row products.
    arch: pulp::Arch,
}

/// A detector's working state: each time convolution's context, and buffers.
#[derive(Debug)]
pub struct EmbState {
    /// For each layer, the last `kt - 1` frames of its input (empty for the
    /// others).
    ctx: Vec<Box<[f32]>>,
    bufs: [Box<[f32]>; 2],
    cols: Box<[f32]>,
    /// A small product's rows, `[row][channel]`.
    acc: Box<[f32]>,
    /// A time convolution's context and new frames, joined.
    join: Box<[f32]>,
    /// Whether the contexts hold a window's frames ([`Self::window`] ran).
    primed: bool,
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a tract_onnx::pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

impl EmbNet {
    /// Reads the network from openWakeWord's `embedding_model.onnx`.
    pub fn load(path: &Path) -> Result<Self, WakeError> {
        let bad = |detail: String| WakeError::Load {
            path: path.display().to_string(),
            detail: format!(
                "{detail}: not openWakeWord's embedding model as this detector knows it"
            ),
        };
        let file = crate::nn::modelfile::OnnxFile::open(path).map_err(|e| bad(e.into()))?;
        let graph = file.graph();
        let tensor = |name: &str| file.tensor(name).map_err(|e| bad(e.into()));
        let floats = |name: &str, dims: &[usize]| -> Result<Vec<f32>, WakeError> {
            crate::nn::modelfile::floats(name, &tensor(name)?, dims).map_err(|e| bad(e.into()))
        };
        let longs = |name: &str| -> Result<Vec<i64>, WakeError> {
            let t = tensor(name)?;
            let v = t
                .to_plain_array_view::<i64>()
                .map_err(|e| bad(format!("{name}: {e:#}")))?;
            Ok(v.iter().copied().collect())
        };

        let nodes = &graph.node;
        let mut layers: Vec<Layer> = Vec::new();
        let mut dims = vec![Dims {
            f: MEL_PADDED,
            c: 1,
        }];
        let mut previous: Option<&str> = None;
        for (k, node) in nodes.iter().enumerate() {
            let what = format!("node {k} ({} {})", node.op_type, node.name);
            let input = node.input.first().map(String::as_str);
            if let Some(p) = previous {
                if input != Some(p) {
                    return Err(bad(format!("{what} does not follow the node before it")));
                }
            }
            previous = node.output.first().map(String::as_str);
            let here = *dims.last().unwrap_or(&Dims { f: 0, c: 0 });
            match node.op_type.as_str() {
                // The input, NHWC (1, 76, 32, 1): bins padded by one each side.
                "Pad" if k == 0 => {
                    let pads = node.input.get(1).map(|n| longs(n)).transpose()?;
                    let mode = attr(node, "mode").map(|a| a.s.as_slice());
                    if pads.as_deref() != Some(&[0, 0, 1, 0, 0, 0, 1, 0][..])
                        || node.input.len() > 2
                        || mode.is_some_and(|m| m != b"constant")
                    {
                        return Err(bad(format!("{what} is not a zero padding of the bins")));
                    }
                }
                // NHWC with one channel to NCHW: the same numbers.
                "Reshape" if k == 1 => {
                    let shape = longs(&node.input[1])?;
                    if shape != [-1, 1, MEL_WINDOW as i64, MEL_PADDED as i64] {
                        return Err(bad(format!("{what} reshapes to {shape:?}")));
                    }
                }
                // The embedding out of NCHW (1, 96, 1, 1).
                "Reshape" if k + 1 == nodes.len() => {
                    let shape = longs(&node.input[1])?;
                    if shape != [-1, 1, 1, EMB_DIM as i64] || here.f != 1 || here.c != EMB_DIM {
                        return Err(bad(format!("{what} reshapes {here:?} to {shape:?}")));
                    }
                }
                "Conv" => {
                    let ks = ints(node, "kernel_shape").unwrap_or_default();
                    let ones = |name| ints(node, name).is_none_or(|v| v.iter().all(|&x| x == 1));
                    let pads = ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
                    let group = attr(node, "group").map_or(1, |a| a.i);
                    let &[kt, kf] = ks.as_slice() else {
                        return Err(bad(format!("{what} has kernel {ks:?}")));
                    };
                    if !ones("strides")
                        || !ones("dilations")
                        || group != 1
                        || pads.len() != 4
                        || pads[0] != 0
                        || pads[2] != 0
                        || pads[1] != pads[3]
                        || attr(node, "auto_pad")
                            .is_some_and(|a| !a.s.is_empty() && a.s != b"NOTSET")
                    {
                        return Err(bad(format!(
                            "{what}: unexpected strides, dilations, group or pads"
                        )));
                    }
                    let (kt, kf, pad_f) = (kt as usize, kf as usize, pads[1] as usize);
                    let wname = node
                        .input
                        .get(1)
                        .ok_or_else(|| bad(format!("{what} has no weights")))?;
                    let wt = tensor(wname)?;
                    let &[cout, cin, a, b] = wt.shape() else {
                        return Err(bad(format!("{what}: weights of shape {:?}", wt.shape())));
                    };
                    if cin != here.c || a != kt || b != kf || here.f + 2 * pad_f < kf {
                        return Err(bad(format!(
                            "{what}: weights {:?} on input {here:?}",
                            wt.shape()
                        )));
                    }
                    let src = floats(wname, &[cout, cin, kt, kf])?;
                    let mut w = vec![0.0; kt * kf * cin * cout];
                    for co in 0..cout {
                        for ci in 0..cin {
                            for dt in 0..kt {
                                for df in 0..kf {
                                    let row = (dt * kf + df) * cin + ci;
                                    w[row * cout + co] = src[((co * cin + ci) * kt + dt) * kf + df];
                                }
                            }
                        }
                    }
                    let bias = match node.input.get(2) {
                        Some(b) => Some(floats(b, &[cout])?.into_boxed_slice()),
                        None => None,
                    };
                    layers.push(Layer::Conv(Conv {
                        kt,
                        kf,
                        pad_f,
                        cout,
                        w: w.into_boxed_slice(),
                        bias,
                        post: Vec::new(),
                    }));
                    dims.push(Dims {
                        f: here.f + 2 * pad_f + 1 - kf,
                        c: cout,
                    });
                }
                "MaxPool" => {
                    let ks = ints(node, "kernel_shape").unwrap_or_default();
                    let strides = ints(node, "strides").unwrap_or_else(|| vec![1; ks.len()]);
                    let flat = |name| ints(node, name).is_none_or(|v| v.iter().all(|&x| x == 0));
                    let plain = attr(node, "auto_pad")
                        .is_none_or(|a| a.s.is_empty() || a.s == b"NOTSET")
                        && ints(node, "dilations").is_none_or(|v| v.iter().all(|&x| x == 1))
                        && attr(node, "ceil_mode").is_none_or(|a| a.i == 0);
                    let &[kt, kf] = ks.as_slice() else {
                        return Err(bad(format!("{what} has kernel {ks:?}")));
                    };
                    let (kt, kf) = (kt as usize, kf as usize);
                    if strides != ks
                        || !flat("pads")
                        || !plain
                        || kt == 0
                        || kf == 0
                        || !here.f.is_multiple_of(kf)
                    {
                        return Err(bad(format!(
                            "{what}: kernel {ks:?}, strides {strides:?} on {here:?}"
                        )));
                    }
                    layers.push(Layer::Pool { kt, kf });
                    dims.push(Dims {
                        f: here.f / kf,
                        c: here.c,
                    });
                }
                op @ ("Relu" | "LeakyRelu" | "Max" | "BatchNormalization") => {
                    let c = here.c;
                    let point = match op {
                        "Relu" => Point::Relu,
                        "LeakyRelu" => {
                            let alpha = attr(node, "alpha").map_or(0.01, |a| a.f);
                            if !(0.0..=1.0).contains(&alpha) {
                                return Err(bad(format!("{what} has alpha {alpha}")));
                            }
                            Point::LeakyRelu(alpha)
                        }
                        "Max" => {
                            let other = node.input.get(1).filter(|_| node.input.len() == 2);
                            let other = other
                                .ok_or_else(|| bad(format!("{what} is not max(x, constant)")))?;
                            let t = tensor(other)?;
                            let v = t
                                .to_plain_array_view::<f32>()
                                .map_err(|e| bad(format!("{other}: {e:#}")))?;
                            if v.len() != 1 {
                                return Err(bad(format!("{what} is not max(x, scalar)")));
                            }
                            Point::Floor(v.iter().copied().next().unwrap_or_default())
                        }
                        _ => {
                            let eps = attr(node, "epsilon").map_or(1e-5, |a| a.f);
                            let p: Vec<Vec<f32>> = node.input[1..]
                                .iter()
                                .map(|n| floats(n, &[c]))
                                .collect::<Result<_, _>>()?;
                            let [gamma, beta, mean, var] = p.as_slice() else {
                                return Err(bad(format!("{what} has {} parameters", p.len())));
                            };
                            let scale: Box<[f32]> =
                                (0..c).map(|i| gamma[i] / (var[i] + eps).sqrt()).collect();
                            let shift = (0..c).map(|i| beta[i] - mean[i] * scale[i]).collect();
                            Point::Affine { scale, shift }
                        }
                    };
                    match layers.last_mut() {
                        Some(Layer::Conv(conv)) => conv.post.push(point),
                        _ => return Err(bad(format!("{what} does not follow a convolution"))),
                    }
                }
                _ => return Err(bad(format!("{what}: an op this detector does not restate"))),
            }
        }
        let net = Self {
            layers,
            dims,
            arch: pulp::Arch::new(),
        };
        // One window gives one embedding, and so does a step of new frames.
        let out =
            |whole: bool| net.frames_out(if whole { MEL_WINDOW } else { MEL_PER_STEP }, whole);
        let last = net.dims.last().copied().unwrap_or(Dims { f: 0, c: 0 });
        if out(true) != Some(1) || out(false) != Some(1) || last.f != 1 || last.c != EMB_DIM {
            return Err(bad(format!(
                "{} layers; a window gives {:?} frames, a step {:?}, of {last:?}",
                net.layers.len(),
                out(true),
                out(false),
            )));
        }
        Ok(net)
    }

    /// The frames a run on `frames` input frames gives: on a whole window
    /// (time convolutions shorten it) or streamed (they keep context), or
    /// None if a pool does not divide it.
    fn frames_out(&self, frames: usize, whole: bool) -> Option<usize> {
        self.layers.iter().try_fold(frames, |t, layer| match layer {
            Layer::Conv(c) if whole => t.checked_sub(c.kt - 1).filter(|&t| t > 0),
            Layer::Conv(_) => Some(t),
            Layer::Pool { kt, .. } => t.is_multiple_of(*kt).then_some(t / kt),
        })
    }

    /// The most output channels of a layer.
    fn widest(&self) -> usize {
        self.dims.iter().map(|d| d.c).max().unwrap_or(0)
    }

    /// Sizes of the largest activation and the largest im2col matrix over a
    /// whole window (a streamed step needs less).
    fn buffer_sizes(&self) -> (usize, usize) {
        let (mut act, mut cols, mut t) = (MEL_WINDOW * MEL_PADDED, 0, MEL_WINDOW);
        for (layer, (i, o)) in self
            .layers
            .iter()
            .zip(self.dims.iter().zip(&self.dims[1..]))
        {
            t = match layer {
                Layer::Conv(c) => {
                    let t_out = t.saturating_sub(c.kt - 1);
                    cols = cols.max(t_out * o.f * c.kt * c.kf * i.c);
                    t_out
                }
                Layer::Pool { kt, .. } => t / kt,
            };
            act = act.max(t * o.f * o.c);
        }
        (act, cols)
    }
}

impl EmbState {
    /// Buffers for `net`.
    pub fn new(net: &EmbNet) -> Self {
        let (act, cols) = net.buffer_sizes();
        let ctx = net
            .layers
            .iter()
            .zip(&net.dims)
            .map(|(layer, d)| match layer {
                Layer::Conv(c) => vec![0.0; (c.kt - 1) * d.f * d.c].into_boxed_slice(),
                Layer::Pool { .. } => Box::default(),
            })
            .collect();
        Self {
            ctx,
            bufs: [
                vec![0.0; act].into_boxed_slice(),
                vec![0.0; act].into_boxed_slice(),
            ],
            cols: vec![0.0; cols].into_boxed_slice(),
            join: vec![0.0; act].into_boxed_slice(),
            acc: vec![0.0; SMALL_ROWS * EMB_DIM.max(net.widest())].into_boxed_slice(),
            primed: false,
        }
    }

    /// Forgets the contexts: the next run must be [`Self::window`] (the
    /// detector never needs to: it starts each stream with a new state).
    #[cfg(test)]
    pub(crate) fn reset(&mut self) {
        self.primed = false;
    }

    /// The embedding of a whole window of [`MEL_WINDOW`] frames
    /// `[frame][MEL_PADDED]` (the first after a reset); keeps each time
    /// convolution's context for the steps after it.
    pub fn window(&mut self, net: &EmbNet, mel: &[f32]) -> Result<&[f32], WakeError> {
        self.primed = true;
        self.run(net, mel, MEL_WINDOW, true)
    }

    /// The embedding after [`MEL_PER_STEP`] new frames `[frame][MEL_PADDED]`.
    pub fn step(&mut self, net: &EmbNet, mel: &[f32]) -> Result<&[f32], WakeError> {
        if !self.primed {
            return Err(WakeError::Run(
                "a streamed step before any whole window".into(),
            ));
        }
        self.run(net, mel, MEL_PER_STEP, false)
    }

    fn run(
        &mut self,
        net: &EmbNet,
        input: &[f32],
        frames: usize,
        whole: bool,
    ) -> Result<&[f32], WakeError> {
        if input.len() != frames * MEL_PADDED {
            return Err(WakeError::Run(format!(
                "{} mel values, not {frames} frames of {MEL_PADDED}",
                input.len()
            )));
        }
        let [a, b] = &mut self.bufs;
        a[..input.len()].copy_from_slice(input);
        let (mut src, mut dst) = (a, b);
        let mut t = frames;
        for (k, layer) in net.layers.iter().enumerate() {
            let (i, o) = (net.dims[k], net.dims[k + 1]);
            t = match layer {
                Layer::Conv(c) => conv(
                    net.arch,
                    c,
                    i,
                    o,
                    &src[..t * i.f * i.c],
                    t,
                    &mut self.ctx[k],
                    whole,
                    &mut self.join,
                    &mut self.cols,
                    &mut self.acc,
                    dst,
                )?,
                Layer::Pool { kt, kf } => pool(*kt, *kf, i, &src[..t * i.f * i.c], t, dst)?,
            };
            std::mem::swap(&mut src, &mut dst);
        }
        Ok(&src[..t * EMB_DIM])
    }
}

/// One convolution and its pointwise ops on `t` frames of `x`
/// (`[channel][frame][bin]`), after the `ctx` frames (`[channel][kt - 1][bin]`)
/// unless `whole`; writes the output frames to `out` (`[channel][frame][bin]`),
/// keeps the last `kt - 1` input frames in `ctx`, and returns the number of
/// output frames.
///
/// Channel-major activations make each im2col column (one input channel at
/// one kernel offset, over every output position) a run of contiguous copies,
/// and make the product's operands columns of contiguous values, which its
/// packing copies fastest.
#[allow(clippy::too_many_arguments)]
fn conv(
    arch: pulp::Arch,
    c: &Conv,
    i: Dims,
    o: Dims,
    x: &[f32],
    t: usize,
    ctx: &mut [f32],
    whole: bool,
    join: &mut [f32],
    cols: &mut [f32],
    acc: &mut [f32],
    out: &mut [f32],
) -> Result<usize, WakeError> {
    let held = if whole { 0 } else { c.kt - 1 };
    let total = held + t;
    let t_out = total
        .checked_sub(c.kt - 1)
        .filter(|&n| n > 0)
        .ok_or_else(|| WakeError::Run(format!("{t} frames into a kernel of height {}", c.kt)))?;
    let k = c.kt * c.kf * i.c;
    let m = t_out * o.f;
    let plane = total * i.f;
    if cols.len() < m * k || out.len() < m * c.cout || join.len() < i.c * plane {
        return Err(WakeError::Run(format!("{t} frames: more than a window")));
    }
    // The input as this convolution sees it, `[channel][frame][bin]`: the
    // context, then x.
    let seen: &[f32] = if held == 0 {
        x
    } else {
        for (ci, dst) in join.chunks_exact_mut(plane).take(i.c).enumerate() {
            dst[..held * i.f].copy_from_slice(&ctx[ci * held * i.f..(ci + 1) * held * i.f]);
            dst[held * i.f..].copy_from_slice(&x[ci * t * i.f..(ci + 1) * t * i.f]);
        }
        &join[..i.c * plane]
    };
    // im2col, one column per (kernel offset, input channel) in the weights'
    // row order: the input at every output position (frame, bin). When the
    // bins keep their number, a column is the channel's plane shifted by
    // the offset, so one copy, then zeros where the shift crosses a frame's
    // edge (the padding).
    let same_bins = o.f == i.f;
    for dt in 0..c.kt {
        for df in 0..c.kf {
            // Output bins whose input bin fo + df - pad_f is inside.
            let lo = c.pad_f.saturating_sub(df).min(o.f);
            let hi = (i.f + c.pad_f).saturating_sub(df).clamp(lo, o.f);
            for ci in 0..i.c {
                let col = (dt * c.kf + df) * i.c + ci;
                let col = &mut cols[col * m..(col + 1) * m];
                let src = &seen[ci * plane..(ci + 1) * plane];
                if same_bins {
                    // col[p] = src[p + shift], shift = dt * f + df - pad_f.
                    let shift = dt * i.f + df;
                    let from = c.pad_f.saturating_sub(shift);
                    let to = m.min((plane + c.pad_f).saturating_sub(shift));
                    col[..from].fill(0.0);
                    col[from..to]
                        .copy_from_slice(&src[from + shift - c.pad_f..to + shift - c.pad_f]);
                    col[to..].fill(0.0);
                    for row in col.chunks_exact_mut(o.f) {
                        row[..lo].fill(0.0);
                        row[hi..].fill(0.0);
                    }
                } else {
                    for (to, row) in col.chunks_exact_mut(o.f).enumerate() {
                        let frame = &src[(to + dt) * i.f..(to + dt + 1) * i.f];
                        row[..lo].fill(0.0);
                        row[lo..hi].copy_from_slice(&frame[lo + df - c.pad_f..hi + df - c.pad_f]);
                        row[hi..].fill(0.0);
                    }
                }
            }
        }
    }
    let y = &mut out[..m * c.cout];
    product(arch, &cols[..m * k], m, &c.w, c.cout, y, acc)?;
    if let Some(bias) = &c.bias {
        for (plane, b) in y.chunks_exact_mut(m).zip(bias.iter()) {
            plane.iter_mut().for_each(|v| *v += b);
        }
    }
    for p in &c.post {
        match p {
            Point::Relu => y.iter_mut().for_each(|v| *v = max(*v, 0.0)),
            // For 0 <= a <= 1 (checked at load), max(x, a x) is x when x >= 0
            // and a x when not: the leaky ReLU, without a branch.
            Point::LeakyRelu(a) => y.iter_mut().for_each(|v| *v = max(*v, *v * a)),
            Point::Floor(f) => y.iter_mut().for_each(|v| *v = max(*v, *f)),
            Point::Affine { scale, shift } => {
                for ((plane, s), b) in y.chunks_exact_mut(m).zip(scale.iter()).zip(shift.iter()) {
                    plane.iter_mut().for_each(|v| *v = *v * s + b);
                }
            }
        }
    }
    // Keep the last kt - 1 frames this convolution saw, for the next step.
    let keep = (c.kt - 1) * i.f;
    for (dst, src) in ctx
        .chunks_exact_mut(keep.max(1))
        .zip(seen.chunks_exact(plane))
    {
        dst.copy_from_slice(&src[plane - keep..]);
    }
    Ok(t_out)
}

/// The larger of two numbers (either if one is NaN): a plain `maxps`, where
/// `f32::max`'s NaN rule costs three more instructions per vector.
fn max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// Products with at most this many rows (output positions) go to
/// [`crate::nn::dense::product`], which reads the weights once and packs nothing:
/// for them, matrixmultiply's copies of the weights (it packs both operands
/// on every call) cost more than the arithmetic. The layers have 256, 64, 32,
/// 16, 4 or 1 rows a step. The streamed step (`cargo bench --bench wake`,
/// four runs each) took 0.32-0.36 ms with the 4- and 1-row layers here,
/// 0.36-0.42 ms with only the 1-row one, 0.36-0.41 ms with the 16-row ones
/// too, 0.45-0.49 ms with the 32-row ones as well.
const SMALL_ROWS: usize = 4;

/// `y = a w`: `a` is `m x k` column-major (`[k][m]`, the im2col columns), `w`
/// is `k x n` row-major, `y` is `m x n` column-major (`[n][m]`, channel-major
/// activations).
fn product(
    arch: pulp::Arch,
    a: &[f32],
    m: usize,
    w: &[f32],
    n: usize,
    y: &mut [f32],
    acc: &mut [f32],
) -> Result<(), WakeError> {
    let k = w.len() / n;
    if m <= SMALL_ROWS && acc.len() >= m * n {
        // Weights read once, nothing packed; then to channel-major.
        let acc = &mut acc[..m * n];
        crate::nn::dense::product(arch, a, m, w, None, acc);
        for (r, row) in acc.chunks_exact(n).enumerate() {
            for (j, v) in row.iter().enumerate() {
                y[j * m + r] = *v;
            }
        }
        return Ok(());
    }
    let shape_err =
        |e: tract_onnx::prelude::tract_ndarray::ShapeError| WakeError::Run(e.to_string());
    let a = ArrayView2::from_shape((k, m), a)
        .map_err(shape_err)?
        .reversed_axes();
    let w = ArrayView2::from_shape((k, n), w).map_err(shape_err)?;
    let yv = ArrayViewMut2::from_shape((n, m), y).map_err(shape_err)?;
    general_mat_mul(1.0, &a, &w, 0.0, &mut yv.reversed_axes());
    Ok(())
}

/// A max-pool of `t` frames of `x` (`[channel][frame][bin]`) into `out`;
/// returns the output frames.
fn pool(
    kt: usize,
    kf: usize,
    i: Dims,
    x: &[f32],
    t: usize,
    out: &mut [f32],
) -> Result<usize, WakeError> {
    if !t.is_multiple_of(kt) {
        return Err(WakeError::Run(format!(
            "{t} frames into a pool of height {kt}"
        )));
    }
    let (t_out, f_out) = (t / kt, i.f / kf);
    for (plane, dst) in x
        .chunks_exact(t * i.f)
        .zip(out.chunks_exact_mut(t_out * f_out))
    {
        for (rows, d) in plane
            .chunks_exact(kt * i.f)
            .zip(dst.chunks_exact_mut(f_out))
        {
            d.fill(f32::NEG_INFINITY);
            for row in rows.chunks_exact(i.f) {
                for (d, v) in d.iter_mut().zip(row.chunks_exact(kf)) {
                    *d = v.iter().fold(*d, |a, b| max(a, *b));
                }
            }
        }
    }
    Ok(t_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::*;

    /// A smooth, varied mel-like sequence `[frame][MEL_BINS]` (values in the
    /// detector's range, `x/10 + 2` of dB).
    fn mel_frames(n: usize) -> Vec<f32> {
        (0..n * MEL_BINS)
            .map(|k| {
                let (t, b) = ((k / MEL_BINS) as f32, (k % MEL_BINS) as f32);
                2.0 + 1.5 * (0.37 * t + 0.21 * b).sin() * (0.05 * t).cos() - 0.02 * b
            })
            .collect()
    }

    fn padded(frames: &[f32]) -> Vec<f32> {
        frames
            .chunks_exact(MEL_BINS)
            .flat_map(|f| std::iter::once(0.0).chain(f.iter().copied()).chain([0.0]))
            .collect()
    }

    /// A whole window and then streamed steps give what tract gives running
    /// the model file on each whole window, within 1e-4 (relative above 1).
    #[test]
    fn window_and_steps_match_the_onnx_model() {
        let Some([_, emb_path, _]) = super::super::tests::model_paths() else {
            return;
        };
        let net = EmbNet::load(&emb_path).unwrap();
        let plan = super::super::load(&emb_path, &[1, MEL_WINDOW, MEL_BINS, 1]).unwrap();
        let mut state = EmbState::new(&net);
        let steps = 12;
        let mel = mel_frames(MEL_WINDOW + steps * MEL_PER_STEP);
        let pad = padded(&mel);
        let mut worst = 0.0f32;
        for s in 0..=steps {
            let start = s * MEL_PER_STEP;
            let got = if s == 0 {
                state.window(&net, &pad[..MEL_WINDOW * MEL_PADDED]).unwrap()
            } else {
                let new = &pad[(start + MEL_WINDOW - MEL_PER_STEP) * MEL_PADDED..];
                state.step(&net, &new[..MEL_PER_STEP * MEL_PADDED]).unwrap()
            };
            let window = &mel[start * MEL_BINS..(start + MEL_WINDOW) * MEL_BINS];
            let input = Tensor::from_shape(&[1, MEL_WINDOW, MEL_BINS, 1], window).unwrap();
            let want = plan.run(tvec!(input.into_tvalue())).unwrap();
            let want = want[0].to_plain_array_view::<f32>().unwrap();
            assert_eq!(got.len(), EMB_DIM);
            assert_eq!(want.len(), EMB_DIM);
            for (a, b) in got.iter().zip(want.iter()) {
                worst = worst.max((a - b).abs() / b.abs().max(1.0));
            }
        }
        eprintln!("worst relative difference {worst:e}");
        assert!(worst <= 1e-4, "worst relative difference {worst}");
    }

    #[test]
    fn a_step_before_any_window_is_an_error() {
        let Some([_, emb_path, _]) = super::super::tests::model_paths() else {
            return;
        };
        let net = EmbNet::load(&emb_path).unwrap();
        let mut state = EmbState::new(&net);
        let new = vec![0.0; MEL_PER_STEP * MEL_PADDED];
        assert!(state.step(&net, &new).is_err());
        state
            .window(&net, &vec![0.0; MEL_WINDOW * MEL_PADDED])
            .unwrap();
        assert!(state.step(&net, &new).is_ok());
        assert!(state.step(&net, &new[1..]).is_err(), "a short step");
        state.reset();
        assert!(state.step(&net, &new).is_err());
    }

    /// Any other graph is refused with the node it stumbled on.
    #[test]
    fn another_model_is_refused() {
        let Some([mel_path, _, head_path]) = super::super::tests::model_paths() else {
            return;
        };
        for path in [mel_path, head_path] {
            let err = EmbNet::load(&path).unwrap_err().to_string();
            assert!(err.contains("not openWakeWord's embedding model"), "{err}");
            assert!(err.contains("node 0"), "{err}");
        }
    }
}
