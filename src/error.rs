//! The crate error: one variant per stage, each from that stage's own enum.

use crate::asr::AsrError;
use crate::audio::AudioError;
use crate::config::ConfigError;
use crate::context::ContextError;
use crate::models::ModelError;
use crate::vad::VadError;
use crate::wake::WakeError;

/// Any heyplayer error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Audio input.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Voice activity detection.
    #[error(transparent)]
    Vad(#[from] VadError),
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Wake word.
    #[error(transparent)]
    Wake(#[from] WakeError),
    /// Speech recognition.
    #[error(transparent)]
    Asr(#[from] AsrError),
    /// Context classification.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// Model files.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The privacy store.
    #[error(transparent)]
    Privacy(#[from] heyplayer_privacy::PrivacyError),
    /// A pipeline thread could not be started.
    #[error("cannot start a listening thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A pipeline thread panicked (a bug: please report it).
    #[error("the {0} thread stopped unexpectedly (a bug in heyplayer; please report it)")]
    Panicked(&'static str),
    /// Writing events failed (e.g. stdout closed).
    #[error("cannot write events: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// The part of heyplayer that failed, in one word (`command_failed` events).
    pub fn stage(&self) -> &'static str {
        match self {
            Error::Audio(_) => "audio",
            Error::Vad(_) => "vad",
            Error::Config(_) => "config",
            Error::Wake(_) => "wake",
            Error::Asr(_) => "asr",
            Error::Context(_) => "context",
            Error::Model(_) => "models",
            Error::Privacy(_) => "store",
            Error::Thread(_) | Error::Panicked(_) | Error::Output(_) => "pipeline",
        }
    }
}
