//! Loads every model the listener uses, once and sha256-checked, and says
//! which files it loaded: the privacy store records exactly these, and
//! `heyplayer status` lists them.

use std::path::PathBuf;

use crate::asr::{AsrModel, AsrWorker};
use crate::config::Config;
use crate::context::{ContextModel, ContextStage};
use crate::models::{self, VerifiedModel};
use crate::wake::WakeModels;
use crate::Error;

/// The models of one listening run, each loaded once.
pub struct Loaded {
    /// Silero VAD's file (the VAD itself is built on the thread that uses it).
    pub silero: PathBuf,
    /// The "hey player" first stage, when the phrase is ours.
    pub wake: Option<WakeModels>,
    /// A Whisper worker (its own state over the model).
    pub asr: Option<AsrWorker>,
    /// The context stage, when context is on.
    pub context: Option<ContextStage>,
    /// Every model file loaded, in the order loaded.
    pub files: Vec<VerifiedModel>,
}

impl Loaded {
    /// Loads what `config` uses: the VAD always; with `assistant`, the wake
    /// word (for "hey player"), Whisper and, when on, the context stage.
    pub fn load(config: &Config, assistant: bool) -> Result<Self, Error> {
        let mut files = Vec::new();
        let silero = locate("silero-vad", config, &mut files)?;
        let (mut wake, mut asr, mut context) = (None, None, None);
        if assistant {
            if config.wake.uses_model() {
                wake = Some(load_wake(config, &mut files)?);
            }
            asr = Some(load_asr(config, &mut files)?);
            context = load_context(config, &mut files)?;
        }
        Ok(Loaded {
            silero,
            wake,
            asr,
            context,
            files,
        })
    }
}

/// Finds `name` (sha256 checked) and notes it in `files`.
fn locate(name: &str, config: &Config, files: &mut Vec<VerifiedModel>) -> Result<PathBuf, Error> {
    let m = models::locate(name, &config.models_dir)?;
    let path = m.path.clone();
    files.push(m);
    Ok(path)
}

fn load_wake(config: &Config, files: &mut Vec<VerifiedModel>) -> Result<WakeModels, Error> {
    let mel = locate("oww-melspectrogram", config, files)?;
    let emb = locate("oww-embedding", config, files)?;
    let head = locate("hey-player", config, files)?;
    Ok(WakeModels::load(&mel, &emb, &head)?)
}

fn load_asr(config: &Config, files: &mut Vec<VerifiedModel>) -> Result<AsrWorker, Error> {
    let path = locate(&config.asr_model, config, files)?;
    let model = AsrModel::load(&path, config.asr.flash_attn)?;
    Ok(model.worker(config.asr.clone())?)
}

fn load_context(
    config: &Config,
    files: &mut Vec<VerifiedModel>,
) -> Result<Option<ContextStage>, Error> {
    if !config.context_enabled {
        return Ok(None);
    }
    let model = ContextModel::load(&config.models_dir)?;
    files.extend(model.files().iter().cloned());
    Ok(Some(ContextStage::new(model)))
}

/// Loads the "hey player" models (features and head), sha256-checked.
pub fn wake_models(config: &Config) -> Result<WakeModels, Error> {
    load_wake(config, &mut Vec::new())
}

/// Loads the configured Whisper model (sha256-checked) and makes one worker.
pub fn asr_worker(config: &Config) -> Result<AsrWorker, Error> {
    load_asr(config, &mut Vec::new())
}

/// The context stage, when context is on (YAMNet loaded once, sha256-checked).
pub fn context_stage(config: &Config) -> Result<Option<ContextStage>, Error> {
    load_context(config, &mut Vec::new())
}
