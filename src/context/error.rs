//! The context stage's errors.

use super::MIN_CLIP_MS;
use crate::models::ModelError;

/// Errors of the context stage.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A model file is missing or damaged.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A model file cannot be read, or is not the network the stage restates.
    #[error("cannot load the context model {path}: {detail}")]
    Load {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// Inference failed.
    #[error("context inference failed: {0}")]
    Run(String),
    /// yamnet_class_map.csv is not what we expect.
    #[error("the YAMNet class map is invalid: {0}")]
    ClassMap(String),
    /// models/context/mapping.toml is invalid.
    #[error("models/context/mapping.toml is invalid: {0}")]
    Mapping(String),
    /// The clip is too short to say anything.
    #[error("the clip is too short for context: {ms} ms (at least {MIN_CLIP_MS} ms)")]
    TooShort {
        /// Its length.
        ms: u64,
    },
}
