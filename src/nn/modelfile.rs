//! Parameters read out of ONNX model files, for the modules that restate a
//! model's graph in Rust (the wake word's mel and embedding models, Silero
//! VAD): values with their shape checked, and the check that a model's STFT
//! filters are the windowed DFT an FFT computes.

use std::path::Path;

use tract_onnx::pb::GraphProto;
use tract_onnx::prelude::*;

/// What is wrong with a model file, in words; each stage wraps it in its own
/// load error, with the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl From<String> for Malformed {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Malformed {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<Malformed> for String {
    fn from(m: Malformed) -> Self {
        m.0
    }
}

/// An ONNX file's graph, with what it takes to read its tensors.
pub struct OnnxFile {
    onnx: tract_onnx::Onnx,
    graph: GraphProto,
    dir: Option<String>,
}

impl OnnxFile {
    /// Parses the file.
    pub fn open(path: &Path) -> Result<Self, Malformed> {
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_path(path)
            .map_err(|e| Malformed(format!("{e:#}")))?;
        let graph = proto.graph.ok_or(Malformed::from("no graph"))?;
        let dir = path.parent().and_then(Path::to_str).map(str::to_string);
        Ok(Self { onnx, graph, dir })
    }

    /// The graph.
    pub fn graph(&self) -> &GraphProto {
        &self.graph
    }

    /// The value of the initialiser `name`.
    pub fn tensor(&self, name: &str) -> Result<Tensor, Malformed> {
        let t = self
            .graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Malformed(format!("{name} is not a constant")))?;
        tract_onnx::tensor::load_tensor(&*self.onnx.provider, t, self.dir.as_deref())
            .map_err(|e| Malformed(format!("{name}: {e:#}")))
    }
}

/// The values of `t` (the tensor `name`) if its shape is `dims`; else what is
/// wrong with it.
pub fn floats(name: &str, t: &Tensor, dims: &[usize]) -> Result<Vec<f32>, Malformed> {
    if t.shape() != dims {
        return Err(Malformed(format!(
            "{name} has shape {:?}, not {dims:?}",
            t.shape()
        )));
    }
    let v = t
        .to_plain_array_view::<f32>()
        .map_err(|e| Malformed(format!("{name}: {e:#}")))?;
    Ok(v.iter().copied().collect())
}

/// How far STFT filters are from a windowed DFT of `n_fft` points: the
/// largest absolute difference. Filter `k` of `real` (`[k][n]`, `n_fft / 2 +
/// 1` of them) must be `window[n] * cos(2 pi k n / n_fft)` and filter `k` of
/// `imag` the same with `sin`, either sign; the window is `real`'s filter 0.
pub fn dft_mismatch(real: &[f32], imag: &[f32], n_fft: usize) -> f64 {
    let window = &real[..n_fft.min(real.len())];
    let mut worst = 0.0f64;
    for k in 0..n_fft / 2 + 1 {
        for (n, w) in window.iter().enumerate() {
            let a = 2.0 * std::f64::consts::PI * ((k * n) % n_fft) as f64 / n_fft as f64;
            let w = f64::from(*w);
            let (re, im) = match (real.get(k * n_fft + n), imag.get(k * n_fft + n)) {
                (Some(re), Some(im)) => (f64::from(*re), f64::from(*im)),
                _ => return f64::INFINITY,
            };
            worst = worst
                .max((re - w * a.cos()).abs())
                .max((im.abs() - (w * a.sin()).abs()).abs());
        }
    }
    worst
}
