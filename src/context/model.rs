//! The context model: YAMNet, the class mapping and the learned head,
//! loaded once and shared between stages.

use std::path::Path;
use std::sync::Arc;

use super::head::{self, ContextHead, PHYSICAL_LABELS, SOCIAL_LABELS};
use super::mapping::{LabelRule, Mapping};
use super::yamnet::{self, YamNet};
use super::{ContextError, MUSIC_CLASS};
use crate::models::VerifiedModel;

/// The model and the mapping, loaded once and shared between stages.
#[derive(Clone)]
pub struct ContextModel {
    pub(super) yamnet: YamNet,
    pub(super) mapping: Arc<Mapping>,
    pub(super) head: Option<ContextHead>,
    /// Index of [`MUSIC_CLASS`] in YAMNet's classes.
    pub(super) music: usize,
    /// The model files it was loaded from, as located (sha256 checked).
    pub(super) files: Vec<VerifiedModel>,
}

impl ContextModel {
    /// Loads YAMNet, its class map and the learned head from the models
    /// directory (sha256 checked against models/manifest.toml) and validates
    /// the mapping. A missing or broken head is an error, never a silent
    /// fall-back to the zero-shot mapping.
    pub fn load(models_dir: &Path) -> Result<Self, ContextError> {
        let zero_shot = Self::load_zero_shot(models_dir)?;
        let head = crate::models::locate(head::HEAD_NAME, models_dir)?;
        let mut model = zero_shot.with_head(ContextHead::load(&head.path)?);
        model.files.push(head);
        Ok(model)
    }

    /// Loads YAMNet and its class map only: the zero-shot mapping decides
    /// (`heyplayer context --zero-shot`, for comparing with the head).
    pub fn load_zero_shot(models_dir: &Path) -> Result<Self, ContextError> {
        let model = crate::models::locate(yamnet::MODEL_NAME, models_dir)?;
        let data = crate::models::locate(yamnet::DATA_NAME, models_dir)?;
        let map = crate::models::locate(yamnet::CLASS_MAP_NAME, models_dir)?;
        let mut loaded = Self::from_yamnet(YamNet::load(&model.path, &map.path)?)?;
        loaded.files = vec![model, data, map];
        Ok(loaded)
    }

    /// The model files this was loaded from (empty for [`Self::from_yamnet`]).
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
        let mapping = Mapping::embedded(yamnet.classes())?;
        let order = |rules: &[LabelRule]| rules.iter().map(|r| r.label.clone()).collect::<Vec<_>>();
        if order(&mapping.physical) != PHYSICAL_LABELS || order(&mapping.social) != SOCIAL_LABELS {
            return Err(ContextError::Mapping(format!(
                "labels must be physical {PHYSICAL_LABELS:?} and social {SOCIAL_LABELS:?}, in that order (the head's feature layout)"
            )));
        }
        let music = yamnet
            .classes()
            .iter()
            .position(|c| c == MUSIC_CLASS)
            .ok_or_else(|| ContextError::ClassMap(format!("it has no {MUSIC_CLASS:?} class")))?;
        Ok(Self {
            yamnet,
            mapping: Arc::new(mapping),
            head: None,
            music,
            files: Vec::new(),
        })
    }

    /// The backbone.
    pub fn yamnet(&self) -> &YamNet {
        &self.yamnet
    }

    /// The mapping.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
}
