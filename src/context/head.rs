//! The learned head (issue 7): a small ONNX graph, trained by
//! `heyplayer_tools.context.train_head` on the stage's own feature vector
//! ([`super::features`]), that calibrates the mapped scores and YAMNet's class
//! scores into the physical and social labels. Run in tract.
//!
//! Graph contract (checked at load): input `features` f32 `[1, n]` (n:
//! [`super::features::len`] for the backbone);
//! outputs `physical` f32 `[1, 5]` and `social` f32 `[1, 3]`, each a softmax
//! over the labels in the order of [`PHYSICAL_LABELS`] / [`SOCIAL_LABELS`].

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::ContextError;

/// Name in models/manifest.toml (the head on YAMNet's features).
pub const HEAD_NAME: &str = "context-head";
/// The head on CED-tiny's features.
pub const CED_HEAD_NAME: &str = "context-head-ced";
/// Physical labels, in the head's output order.
pub const PHYSICAL_LABELS: [&str; 5] =
    ["indoor_quiet", "indoor_busy", "street", "nature", "vehicle"];
/// Social labels, in the head's output order.
pub const SOCIAL_LABELS: [&str; 3] = ["alone", "conversation", "crowd"];

/// The head's probabilities for one clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadOutput {
    /// Over [`PHYSICAL_LABELS`].
    pub physical: [f32; 5],
    /// Over [`SOCIAL_LABELS`].
    pub social: [f32; 3],
}

/// The loaded head; cheap to clone and share.
#[derive(Clone)]
pub struct ContextHead {
    plan: Arc<TypedSimplePlan>,
    features: usize,
    abstain: Abstain,
}

/// The probability under which each axis says `unknown` (issue 33: chosen
/// by `heyplayer_tools.context.train_head` on the training split's grouped
/// cross-validation, by the rule in models/context/MODEL_CARD.md, and stored
/// in the head's ONNX metadata as `abstain_physical` / `abstain_social`; a
/// head without them uses [`MIN_CONFIDENCE`](crate::context::MIN_CONFIDENCE)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Abstain {
    /// Physical axis.
    pub physical: f32,
    /// Social axis.
    pub social: f32,
}

impl ContextHead {
    /// Loads the graph for vectors of `features` values and checks it
    /// against the contract on a zero input.
    pub fn load(path: &Path, features: usize) -> Result<Self, ContextError> {
        let err = |e: TractError| ContextError::Load {
            path: path.display().to_string(),
            detail: format!("{e:#}"),
        };
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_path(path).map_err(err)?;
        let meta = |key: &str| -> Result<f32, ContextError> {
            match proto.metadata_props.iter().find(|p| p.key == key) {
                None => Ok(crate::context::MIN_CONFIDENCE),
                Some(p) => p
                    .value
                    .parse::<f32>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| ContextError::Load {
                        path: path.display().to_string(),
                        detail: format!("metadata {key} = {:?} is not in [0, 1]", p.value),
                    }),
            }
        };
        let abstain = Abstain {
            physical: meta("abstain_physical")?,
            social: meta("abstain_social")?,
        };
        let plan = onnx
            .model_for_proto_model(&proto)
            .map_err(err)?
            .with_input_fact(0, f32::fact([1, features]).into())
            .map_err(err)?
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        let head = Self {
            plan,
            features,
            abstain,
        };
        head.run(&vec![0.0; features])
            .map_err(|e| ContextError::Load {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(head)
    }

    /// Its abstention thresholds.
    pub fn abstain(&self) -> Abstain {
        self.abstain
    }

    /// Runs the head on one feature vector.
    pub fn run(&self, features: &[f32]) -> Result<HeadOutput, ContextError> {
        let bad = |m: String| ContextError::Run(format!("context head: {m}"));
        if features.len() != self.features {
            return Err(bad(format!(
                "{} features, expected {}",
                features.len(),
                self.features
            )));
        }
        let input = tract_ndarray::Array2::from_shape_vec((1, self.features), features.to_vec())
            .map_err(|e| bad(e.to_string()))?;
        let out = self
            .plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| bad(format!("{e:#}")))?;
        if out.len() != 2 {
            return Err(bad(format!("{} outputs, expected 2", out.len())));
        }
        let mut physical = [0.0f32; 5];
        let mut social = [0.0f32; 3];
        for (dst, t, name) in [
            (&mut physical[..], &out[0], "physical"),
            (&mut social[..], &out[1], "social"),
        ] {
            let v = t
                .to_plain_array_view::<f32>()
                .map_err(|e| bad(format!("{e:#}")))?;
            if v.len() != dst.len() {
                return Err(bad(format!(
                    "{name} has {} values, expected {}",
                    v.len(),
                    dst.len()
                )));
            }
            for (d, s) in dst.iter_mut().zip(v.iter()) {
                if !s.is_finite() {
                    return Err(bad(format!("{name} is not finite")));
                }
                *d = *s;
            }
        }
        Ok(HeadOutput { physical, social })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAMNET_FEATURES: usize = crate::context::features::len(
        crate::context::yamnet::NUM_CLASSES,
        crate::context::yamnet::EMBEDDING,
    );

    fn committed() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/context/context_head.onnx")
    }

    /// tract runs the committed head to the outputs numpy and onnxruntime gave
    /// for stored feature vectors (`tests/golden/context_head.json`, written
    /// by `heyplayer_tools.context.train_head`), and the training script judged
    /// `unknown` by the same [`MIN_CONFIDENCE`](crate::context::MIN_CONFIDENCE)
    /// and [`MUSIC_MASKS`](crate::context::MUSIC_MASKS) as the stage.
    #[test]
    fn the_committed_head_matches_python() {
        matches_python("context_head", YAMNET_FEATURES);
    }

    /// The same for the head on CED-tiny's features (issue 33), whose
    /// abstention thresholds (ONNX metadata) must also be the ones the
    /// training script chose and wrote beside the cases.
    #[test]
    fn the_committed_ced_head_matches_python() {
        let n = crate::context::features::len(
            crate::context::ced::NUM_CLASSES,
            crate::context::ced::EMBEDDING,
        );
        let head = matches_python("context_head_ced", n);
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/context_head_ced.json");
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
        let a = head.abstain();
        for (axis, got) in [("physical", a.physical), ("social", a.social)] {
            let want = golden["abstain"][axis].as_f64().unwrap() as f32;
            assert!((got - want).abs() < 1e-6, "{axis}: {got} vs {want}");
        }
    }

    fn matches_python(name: &str, features: usize) -> ContextHead {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/context/{name}.onnx"));
        let head = ContextHead::load(&path, features).unwrap();
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.json"));
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
        for (key, name, rust) in [
            (
                "min_confidence",
                "MIN_CONFIDENCE",
                crate::context::MIN_CONFIDENCE,
            ),
            ("music_masks", "MUSIC_MASKS", crate::context::MUSIC_MASKS),
        ] {
            let python = golden[key].as_f64().unwrap();
            assert!(
                (python - f64::from(rust)).abs() < 1e-6,
                "train_head.py's {name} {python} is not src/context/mod.rs's {rust}"
            );
        }
        let cases = golden["cases"].as_array().unwrap();
        assert!(cases.len() >= 3);
        let vec = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        let mut winners = std::collections::BTreeSet::new();
        for c in cases {
            let out = head.run(&vec(&c["features"])).unwrap();
            for (got, want) in [
                (&out.physical[..], vec(&c["physical"])),
                (&out.social[..], vec(&c["social"])),
            ] {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-4, "{}: {got:?} vs {want:?}", c["audio"]);
                }
                assert!((got.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            }
            winners.insert(
                out.physical
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i),
            );
        }
        // The stored cases are not all one answer: the test can tell heads apart.
        assert!(winners.len() >= 2, "{winners:?}");
        head
    }

    #[test]
    fn wrong_inputs_are_errors() {
        let head = ContextHead::load(&committed(), YAMNET_FEATURES).unwrap();
        assert!(head.run(&[0.0; 3]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.onnx");
        std::fs::write(&bad, b"not onnx").unwrap();
        assert!(matches!(
            ContextHead::load(&bad, YAMNET_FEATURES),
            Err(ContextError::Load { .. })
        ));
    }
}
