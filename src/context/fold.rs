//! Folding the quantisation of constant weights before tract sees a graph.
//!
//! The YAMNet export stores its weights as float and quantises them in the
//! graph: each constant goes through QuantizeLinear then DequantizeLinear
//! before its Conv. tract computes those pairs once, at load, but through its
//! generic broadcasting path, which took 1.4 s of every start. Here the same
//! values are computed in a plain loop, exactly as the ONNX operators define
//! them, and the pairs are replaced by initialisers holding the result. The
//! activations' pairs (which depend on the input) are left alone.
//!
//! Since YAMNet runs restated in Rust ([`super::net`]), the daemon no longer
//! builds a tract plan: its loader uses `quantise_linear` and
//! `dequantise_linear` for the weights, and `fold_constant_quantisation`
//! (compiled for tests only) serves the tests' tract reference.

#[cfg(test)]
use std::collections::{HashMap, HashSet};

#[cfg(test)]
use tract_onnx::pb::{tensor_proto::DataType, ModelProto, TensorProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::bail;
#[cfg(test)]
use tract_onnx::tract_core::internal::{format_err, TractErrorContext};

/// Replaces every QuantizeLinear / DequantizeLinear node whose inputs are all
/// constants by an initialiser holding its output:
/// `saturate(round_half_even(x / scale) + zero_point)` and
/// `(x - zero_point) * scale`, per tensor or per `axis`. Initialisers nothing
/// uses any more are dropped, so the float weights are not loaded twice.
/// `dir` is the model's folder, where external data is found. Returns how
/// many nodes were folded.
#[cfg(test)]
pub fn fold_constant_quantisation(
    onnx: &tract_onnx::Onnx,
    proto: &mut ModelProto,
    dir: &str,
) -> TractResult<usize> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| format_err!("the model has no graph"))?;
    let mut made: HashMap<String, Tensor> = HashMap::new();
    let mut folded = vec![false; graph.node.len()];
    {
        let init: HashMap<&str, &TensorProto> = graph
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        for (i, node) in graph.node.iter().enumerate() {
            let quantise = match node.op_type.as_str() {
                "QuantizeLinear" => true,
                "DequantizeLinear" => false,
                _ => continue,
            };
            if node.input.len() != 3 || node.output.len() != 1 {
                continue;
            }
            let mut ins = Vec::with_capacity(3);
            for name in &node.input {
                if let Some(t) = made.get(name) {
                    ins.push(t.clone());
                } else if let Some(t) = init.get(name.as_str()) {
                    ins.push(tract_onnx::tensor::load_tensor(
                        &*onnx.provider,
                        t,
                        Some(dir),
                    )?);
                } else {
                    break;
                }
            }
            let [x, scale, zero] = &ins[..] else {
                continue;
            };
            let axis = node
                .attribute
                .iter()
                .find(|a| a.name == "axis")
                .map_or(1, |a| a.i);
            let out = if quantise {
                quantise_linear(x, scale, zero, axis)
            } else {
                dequantise_linear(x, scale, zero, axis)
            }
            .with_context(|| format!("folding {}", node.name))?;
            made.insert(node.output[0].clone(), out);
            folded[i] = true;
        }
    }
    let count = folded.iter().filter(|f| **f).count();
    let mut kept = folded.iter().map(|f| !f);
    graph.node.retain(|_| kept.next().unwrap_or(true));
    let used: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter())
        .chain(graph.output.iter().map(|o| &o.name))
        .cloned()
        .collect();
    graph.initializer.retain(|t| used.contains(&t.name));
    let mut added = made
        .iter()
        .filter(|(name, _)| used.contains(*name))
        .map(|(name, t)| to_proto(name, t))
        .collect::<TractResult<Vec<_>>>()?;
    added.sort_by(|a, b| a.name.cmp(&b.name));
    graph.initializer.extend(added);
    Ok(count)
}

/// How elements of a tensor of `shape` find their quantisation parameter:
/// `(inner, n)`, element `i` takes parameter `(i / inner) % n` (one parameter
/// per tensor, or one per coordinate along `axis`).
fn param_index(shape: &[usize], params: usize, axis: i64) -> TractResult<(usize, usize)> {
    if params == 1 {
        return Ok((usize::MAX, 1));
    }
    let rank = shape.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) || shape[axis as usize] != params {
        bail!("{params} quantisation parameters for shape {shape:?} on axis {axis}");
    }
    Ok((shape[axis as usize + 1..].iter().product(), params))
}

/// Scales and zero points as f32 and i32, checked against `x`'s shape;
/// `(inner, n)` maps element `i` to parameter `(i / inner) % n`.
struct Params {
    scale: Vec<f32>,
    zero: Vec<i32>,
    inner: usize,
    n: usize,
}

impl Params {
    fn new(shape: &[usize], scale: &Tensor, zero: &Tensor, axis: i64) -> TractResult<Self> {
        let scale = values::<f32>(scale)?;
        let zero = values::<i32>(zero)?;
        if scale.len() != zero.len() || scale.is_empty() {
            bail!("{} scales but {} zero points", scale.len(), zero.len());
        }
        let (inner, n) = param_index(shape, scale.len(), axis)?;
        Ok(Self {
            scale,
            zero,
            inner,
            n,
        })
    }

    /// `f(x, scale, zero point)` for every element, in order: the
    /// parameters change once per run of `inner` elements.
    fn map<T: Copy, U>(&self, xs: &[T], f: impl Fn(T, f32, i32) -> U) -> Vec<U> {
        let mut out = Vec::with_capacity(xs.len());
        for (c, run) in xs.chunks(self.inner).enumerate() {
            let k = c % self.n;
            let (s, z) = (self.scale[k], self.zero[k]);
            out.extend(run.iter().map(|&x| f(x, s, z)));
        }
        out
    }
}

/// QuantizeLinear: the result has the zero point's type.
pub(super) fn quantise_linear(
    x: &Tensor,
    scale: &Tensor,
    zero: &Tensor,
    axis: i64,
) -> TractResult<Tensor> {
    let p = Params::new(x.shape(), scale, zero, axis)?;
    let (lo, hi) = match zero.datum_type() {
        DatumType::U8 => (0.0, 255.0),
        DatumType::I8 => (-128.0, 127.0),
        DatumType::I32 => (i32::MIN as f32, i32::MAX as f32),
        dt => bail!("QuantizeLinear to {dt:?} is not supported"),
    };
    let q = p.map(&values::<f32>(x)?, |v, s, z| {
        ((v / s).round_ties_even() + z as f32).clamp(lo, hi) as i32
    });
    let q = Tensor::from_shape(x.shape(), &q)?;
    Ok(match zero.datum_type() {
        DatumType::U8 => q.cast_to::<u8>()?.into_owned(),
        DatumType::I8 => q.cast_to::<i8>()?.into_owned(),
        _ => q,
    })
}

/// DequantizeLinear: the result is f32.
pub(super) fn dequantise_linear(
    x: &Tensor,
    scale: &Tensor,
    zero: &Tensor,
    axis: i64,
) -> TractResult<Tensor> {
    let p = Params::new(x.shape(), scale, zero, axis)?;
    if !matches!(
        x.datum_type(),
        DatumType::U8 | DatumType::I8 | DatumType::I32
    ) {
        bail!(
            "DequantizeLinear from {:?} is not supported",
            x.datum_type()
        );
    }
    let y = p.map(&values::<i32>(x)?, |v, s, z| (v - z) as f32 * s);
    Tensor::from_shape(x.shape(), &y)
}

/// An initialiser holding `t` (raw little-endian data).
#[cfg(test)]
fn to_proto(name: &str, t: &Tensor) -> TractResult<TensorProto> {
    let (data_type, raw_data) = match t.datum_type() {
        DatumType::F32 => (
            DataType::Float,
            le_bytes(&values::<f32>(t)?, f32::to_le_bytes),
        ),
        DatumType::U8 => (DataType::Uint8, values::<u8>(t)?),
        DatumType::I8 => (DataType::Int8, le_bytes(&values::<i8>(t)?, i8::to_le_bytes)),
        DatumType::I32 => (
            DataType::Int32,
            le_bytes(&values::<i32>(t)?, i32::to_le_bytes),
        ),
        dt => bail!("cannot store a folded {dt:?} tensor"),
    };
    Ok(TensorProto {
        name: name.to_string(),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: data_type as i32,
        raw_data,
        ..Default::default()
    })
}

/// A tensor's values, cast to `D`, in row-major order.
fn values<D: Datum + Copy>(t: &Tensor) -> TractResult<Vec<D>> {
    Ok(t.cast_to::<D>()?
        .to_plain_array_view::<D>()?
        .iter()
        .copied()
        .collect())
}

#[cfg(test)]
fn le_bytes<T: Copy, const N: usize>(v: &[T], f: fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|x| f(*x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_shape(shape, v).unwrap()
    }

    #[test]
    fn quantisation_rounds_half_to_even_and_saturates() {
        let x = t(&[5], &[0.5, 1.5, 2.5, -300.0, 300.0]);
        let scale = t(&[], &[1.0]);
        let zero = Tensor::from(0i8);
        let q = quantise_linear(&x, &scale, &zero, 1).unwrap();
        assert_eq!(values::<i8>(&q).unwrap(), [0, 2, 2, -128, 127]);
        let zero = Tensor::from(10u8);
        let q = quantise_linear(&x, &scale, &zero, 1).unwrap();
        assert_eq!(values::<u8>(&q).unwrap(), [10, 12, 12, 0, 255]);
        let back = dequantise_linear(&q, &t(&[], &[0.5]), &zero, 1).unwrap();
        assert_eq!(values::<f32>(&back).unwrap(), [0.0, 1.0, 1.0, -5.0, 122.5]);
    }

    #[test]
    fn per_axis_parameters_follow_the_axis() {
        // Shape [2, 3]: axis 0 has 2 channels, axis 1 (and -1) has 3.
        let x = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let zero = Tensor::from_shape(&[2], &[0i8, 1]).unwrap();
        let q = quantise_linear(&x, &t(&[2], &[1.0, 2.0]), &zero, 0).unwrap();
        assert_eq!(values::<i8>(&q).unwrap(), [1, 2, 3, 3, 3, 4]);
        let zero = Tensor::from_shape(&[3], &[0i8, 0, 0]).unwrap();
        let q = quantise_linear(&x, &t(&[3], &[1.0, 2.0, 4.0]), &zero, -1).unwrap();
        assert_eq!(values::<i8>(&q).unwrap(), [1, 1, 1, 4, 2, 2]);
        // Parameters that fit no axis are an error, not a guess.
        assert!(quantise_linear(
            &x,
            &t(&[4], &[1.0; 4]),
            &Tensor::from_shape(&[4], &[0i8; 4]).unwrap(),
            0
        )
        .is_err());
    }
}
