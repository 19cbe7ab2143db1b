//! Configuration: a TOML file read into [`RawConfig`] (every field optional,
//! unknown keys refused), then [`RawConfig::validate`]d into the typed
//! [`Config`] that builds the stages.
//!
//! The file lives at the XDG config path (`~/.config/heyplayer/config.toml`);
//! `--config FILE` overrides it. `heyplayer config --print-default` prints
//! [`DEFAULT_TOML`], a commented file with every default.

use std::path::{Path, PathBuf};

mod raw;
mod settings;

pub use raw::*;
pub use settings::*;

use crate::audio::mic::HostChoice;

/// Errors reading or validating the config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, unknown key or wrong type.
    #[error("invalid config file {path}: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said (names the key and line).
        detail: String,
    },
    /// A value out of range.
    #[error("invalid config file {path}: {key} = {value}: {why}")]
    Value {
        /// The file.
        path: String,
        /// The key, e.g. `vad.silero_threshold`.
        key: &'static str,
        /// The value given.
        value: String,
        /// The allowed range.
        why: &'static str,
    },
    /// A `[retention]` rule that cannot be read or is not allowed.
    #[error("invalid config file {path}: {source}")]
    Retention {
        /// The file.
        path: String,
        /// What is wrong (names the key).
        #[source]
        source: heyplayer_privacy::RetentionError,
    },
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Audio input.
    pub audio: AudioConfig,
    /// Voice activity detection.
    pub vad: VadConfig,
    /// Models directory.
    pub models_dir: PathBuf,
    /// Wake word.
    pub wake: WakeSettings,
    /// Whisper model name (in models/manifest.toml).
    pub asr_model: String,
    /// Speech recognition.
    pub asr: AsrConfig,
    /// End of a spoken command.
    pub command: CommandConfig,
    /// Event output format.
    pub events: EventFormat,
    /// Words in the printed events.
    pub events_content: EventsContent,
    /// Judge context for each command (after the wake word only).
    pub context_enabled: bool,
    /// Where context labels are published: a Unix socket and/or a file.
    pub context_out: ContextOut,
    /// The privacy store's directory.
    pub data_dir: PathBuf,
    /// Retention rules by kind.
    pub retention: heyplayer_privacy::RetentionRules,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            audio: AudioConfig {
                host: HostChoice::Alsa,
                device: None,
                queue_ms: DEFAULT_QUEUE_MS,
            },
            vad: VadConfig::default(),
            models_dir: crate::models::default_dir(),
            wake: WakeSettings::default(),
            asr_model: DEFAULT_ASR_MODEL.to_string(),
            asr: AsrConfig::default(),
            command: CommandConfig::default(),
            events: EventFormat::Json,
            events_content: EventsContent::Auto,
            context_enabled: true,
            context_out: ContextOut::default(),
            data_dir: default_data_dir(),
            retention: heyplayer_privacy::RetentionRules::default(),
        }
    }
}

/// Where context labels go besides the event stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextOut {
    /// A Unix socket for any number of subscribers.
    pub socket: Option<PathBuf>,
    /// A file or FIFO lines are appended to.
    pub file: Option<PathBuf>,
}

/// Overrides the privacy store's default directory.
pub const DATA_DIR_ENV: &str = "HEYPLAYER_DATA_DIR";

/// The privacy store's default directory: `$HEYPLAYER_DATA_DIR`, else the XDG
/// data directory's `heyplayer/store` (`~/.local/share/heyplayer/store`).
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "heyplayer")
        .map(|p| p.data_dir().join("store"))
        .unwrap_or_else(|| PathBuf::from("heyplayer-store"))
}

/// The default config file location: `~/.config/heyplayer/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "heyplayer").map(|p| p.config_dir().join("config.toml"))
}

/// Loads the config: from `explicit` (which must exist), else from the default
/// path if it exists, else the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let (path, must_exist) = match explicit {
        Some(p) => (Some(p.to_path_buf()), true),
        None => (default_path(), false),
    };
    let Some(path) = path else {
        return RawConfig::default().validate("(defaults)");
    };
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => RawConfig::parse(&text, &shown)?.validate(&shown),
        Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
            RawConfig::default().validate("(defaults)")
        }
        Err(source) => Err(ConfigError::Read {
            path: shown,
            source,
        }),
    }
}

/// The commented default config, printed by `heyplayer config --print-default`
/// (`src/config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_default_is_the_default() {
        let raw = RawConfig::parse(DEFAULT_TOML, "default").unwrap();
        assert_eq!(
            raw.validate("default").unwrap(),
            RawConfig::default().validate("x").unwrap()
        );
    }

    #[test]
    fn wake_rivals_follow_the_phrase() {
        let mut w = WakeSettings::default();
        let rivals = w.rivals();
        assert!(rivals.iter().any(|r| r == "Hey layer"));
        assert!(!rivals.iter().any(|r| r == "A player" || r == "Play"));
        // Another phrase has no built-in near misses...
        w.phrase = "hey computer".into();
        assert!(w.rivals().is_empty());
        // ...unless the file names some.
        let raw = RawConfig::parse("[wake]\nverify_rivals = [\"Hey commuter\"]\n", "t").unwrap();
        let mut w = raw.validate("t").unwrap().wake;
        w.phrase = "hey computer".into();
        assert_eq!(w.rivals(), vec!["Hey commuter".to_string()]);
        let raw = RawConfig::parse("[wake]\nverify_rivals = [\" \"]\n", "t").unwrap();
        let err = raw.validate("t").unwrap_err().to_string();
        assert!(err.contains("wake.verify_rivals"), "{err}");
        let raw = RawConfig::parse("[wake]\nverify_max_rival_lead = -1.0\n", "t").unwrap();
        assert!(raw.validate("t").is_err());
    }

    #[test]
    fn printed_default_names_every_field() {
        // A raw config with every field set serialises every key; each must
        // appear (with a comment above it) in the printed default.
        let full = RawConfig::parse(DEFAULT_TOML, "default").unwrap();
        let v = toml::Value::try_from(&full).unwrap();
        let table = v.as_table().unwrap();
        for (section, fields) in table {
            assert!(DEFAULT_TOML.contains(&format!("[{section}]")));
            for key in fields.as_table().unwrap().keys() {
                let line = DEFAULT_TOML
                    .lines()
                    .position(|l| l.starts_with(&format!("{key} =")))
                    .unwrap_or_else(|| panic!("{section}.{key} missing"));
                let above = DEFAULT_TOML.lines().nth(line - 1).unwrap();
                assert!(above.starts_with('#'), "{section}.{key} has no comment");
            }
        }
        // And every field of the raw structs is set by the printed default.
        assert!(full.vad.hangover_ms.is_some() && full.audio.queue_ms.is_some());
        assert!(full.models.dir.is_some() && full.output.events.is_some());
        assert!(full.store.dir.is_some() && full.retention.audit.is_some());
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let err = RawConfig::parse("[vad]\nsilero_treshold = 0.3\n", "/etc/x.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/etc/x.toml"), "{msg}");
        assert!(msg.contains("silero_treshold"), "{msg}");
    }

    #[test]
    fn bad_value_names_key_and_file() {
        let err = RawConfig::parse("[vad]\nsilero_threshold = 1.5\n", "c.toml")
            .unwrap()
            .validate("c.toml")
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("c.toml") && msg.contains("vad.silero_threshold"),
            "{msg}"
        );
        let err = RawConfig::parse("[vad]\nwebrtc_mode = \"loud\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("webrtc_mode"), "{err}");
        let err = RawConfig::parse("[vad]\nfloor_margin_db = nan\n", "c.toml")
            .unwrap()
            .validate("c.toml")
            .unwrap_err();
        assert!(err.to_string().contains("floor_margin_db"), "{err}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load(Some(Path::new("/nonexistent/heyplayer.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
