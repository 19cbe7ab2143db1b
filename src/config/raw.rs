//! The config file as written ([`RawConfig`]: every field optional, unknown
//! keys refused) and its validation into [`Config`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::*;

/// `[audio]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAudio {
    /// cpal host: "alsa" or "pulseaudio" (needs the `pulseaudio` feature). Default "alsa".
    pub host: Option<HostChoice>,
    /// Input device name or id (see `heyplayer devices`). Default: the system default.
    pub device: Option<String>,
    /// Capture queue capacity in ms; if the listener falls further behind, audio is dropped (and reported). 100 to 60000, default 2000.
    pub queue_ms: Option<u64>,
}

/// `[vad]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawVad {
    /// webrtc-vad mode: "quality", "low_bitrate", "aggressive" or "very_aggressive". Default "aggressive".
    pub webrtc_mode: Option<WebRtcMode>,
    /// Silero speech probability that confirms a segment, 0 to 1. Default 0.5.
    pub silero_threshold: Option<f32>,
    /// Silero probability a frame needs to count as voiced, 0 to silero_threshold. Default 0.15.
    pub silero_low_threshold: Option<f32>,
    /// dB a frame must stand above the adaptive noise floor, 0 to 40. Default 6.
    pub floor_margin_db: Option<f32>,
    /// dB per second the noise floor may rise, 0.1 to 100. Default 3.
    pub floor_rise_db_per_s: Option<f32>,
    /// dBFS below which a frame is never speech, -120 to 0. Default -60.
    pub min_level_dbfs: Option<f32>,
    /// Shortest speech that makes a segment, ms, 10 to 5000. Default 150.
    pub min_speech_ms: Option<u64>,
    /// Silence that ends a segment, ms, 10 to 5000. Default 300.
    pub hangover_ms: Option<u64>,
    /// Audio kept before a segment's start, ms, 0 to 2000. Default 300.
    pub preroll_ms: Option<u64>,
}

/// `[models]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawModels {
    /// Directory holding the model files. Default: $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models.
    pub dir: Option<PathBuf>,
}

/// `[context]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawContext {
    /// Judge the surroundings (physical, social) and mood of each command's audio, after the wake word only. Default true.
    pub enabled: Option<bool>,
}

/// `[store]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Directory of the privacy store (mode 0700). Default: $HEYPLAYER_DATA_DIR, else ~/.local/share/heyplayer/store.
    pub dir: Option<PathBuf>,
}

/// `[asr]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAsr {
    /// Whisper model, by its name in models/manifest.toml. Default "whisper-base-q8".
    pub model: Option<String>,
    /// Threads per transcription, 1 to 64. Default 2.
    pub threads: Option<u16>,
    /// Beam size, 0 to 8; 0 or 1 is greedy decoding. Default 0.
    pub beam_size: Option<u8>,
    /// Spoken language code. Default "en".
    pub language: Option<String>,
    /// Text given to Whisper as if said before: the command vocabulary. Default: a list of commands.
    pub initial_prompt: Option<String>,
    /// Trim Whisper's 30 s audio context to the clip length (faster on short commands). Default true.
    pub trim_audio_ctx: Option<bool>,
    /// Flash attention in Whisper: about 10 MB less memory and 9 % less CPU, but slightly different scores (one held-out intent lost). Default false.
    pub flash_attn: Option<bool>,
    /// The smallest trimmed audio context in encoder frames of 20 ms, 64 to 1500. Default 512.
    pub min_audio_ctx: Option<u16>,
    /// Reject transcripts whose average token log-probability is below this, -10 to 0. Default -1.0.
    pub min_avg_logprob: Option<f32>,
    /// Reject transcripts whose no-speech probability is above this, 0 to 1. Default 0.7.
    pub max_no_speech_prob: Option<f32>,
    /// When the transcript is not a command, score the known command phrasings on the same audio (guided decoding). Default true.
    pub guided: Option<bool>,
    /// Accept the best guided phrasing only if its mean token log-probability is at least this, -10 to 0. Default -1.25.
    pub guided_min_avg_logprob: Option<f32>,
}

/// `[command]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    /// Silence after the wake word's command that ends it, ms, 100 to 5000. Default 700.
    pub hangover_ms: Option<u64>,
    /// Longest command, ms, 1000 to 30000. Default 8000.
    pub max_ms: Option<u64>,
    /// Quiet after speech before Whisper starts on the command so far, ms, 0 (off) to 2000. Default 100.
    pub speculate_after_ms: Option<u64>,
    /// Quiet that ends a command already heard as complete, ms, 0 to 5000 (not below speculate_after_ms). Default 250.
    pub complete_hangover_ms: Option<u64>,
    /// Quiet that ends a command heard as open ("play ..."), ms, 0 to 5000 (not below complete_hangover_ms). Default 500.
    pub open_hangover_ms: Option<u64>,
}

/// `[wake]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawWake {
    /// The wake phrase. Default "hey player" (our trained model); any other phrase uses a generic first stage and Whisper.
    pub phrase: Option<String>,
    /// First-stage score that counts, 0 to 1. Default 0.5.
    pub threshold: Option<f32>,
    /// Consecutive 80 ms steps at or above the threshold needed to fire, 1 to 20. Default 2.
    pub patience: Option<u32>,
    /// Quiet time after a detection, ms, 0 to 10000. Default 1500.
    pub debounce_ms: Option<u64>,
    /// Second stage: Whisper must hear the phrase too. Default true.
    pub verify: Option<bool>,
    /// With `verify_evidence` off: when Whisper's transcript does not start with the phrase, it still passes if the phrase, forced at the start of the transcript, has at least this mean token log-probability, -10 to 0. Default -2.0.
    pub verify_min_forced_logprob: Option<f32>,
    /// Near misses the second stage weighs the phrase against, written as Whisper would write them ("Hey layer", "Okay player"). Default: the built-in list for "hey player", none for other phrases.
    pub verify_rivals: Option<Vec<String>>,
    /// With `verify_evidence` off: the phrase is rejected when a rival's summed log-probability at the start of the transcript beats the phrase's by more than this, 0 to 20. Default 1.0.
    pub verify_max_rival_lead: Option<f32>,
    /// Weigh the second stage's evidence (the first stage's score, the phrase forced, the best rival's lead) together, instead of the forced check and the rivals' lead on their own. Default true.
    pub verify_evidence: Option<bool>,
    /// With `verify_evidence`, the phrase stands when the evidence's strength is at least this, 0 to 1. Default 0.71.
    pub verify_min_evidence: Option<f32>,
    /// Audio kept in memory before a detection and handed on with it, ms, 0 to 2000. Default 2000.
    pub preroll_ms: Option<u64>,
}

/// `[output]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Event format on stdout: "json" (JSON Lines) or "text". Default "json".
    pub events: Option<EventFormat>,
    /// Words in the printed events (transcripts, what was not understood, a command's query): "auto" (only when stdout is a terminal), "always" or "never". Default "auto".
    pub events_content: Option<EventsContent>,
    /// Unix socket that publishes context labels as JSON Lines (mode 0600). Default: none.
    pub context_socket: Option<PathBuf>,
    /// File or FIFO each context line is appended to. Default: none.
    pub context_file: Option<PathBuf>,
}

/// The config file as written: every field optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Audio input.
    #[serde(default)]
    pub audio: RawAudio,
    /// Voice activity detection.
    #[serde(default)]
    pub vad: RawVad,
    /// Model files.
    #[serde(default)]
    pub models: RawModels,
    /// Wake word.
    #[serde(default)]
    pub wake: RawWake,
    /// Speech recognition.
    #[serde(default)]
    pub asr: RawAsr,
    /// End of a spoken command.
    #[serde(default)]
    pub command: RawCommand,
    /// Output.
    #[serde(default)]
    pub output: RawOutput,
    /// Context (surroundings and mood) from the audio around a command.
    #[serde(default)]
    pub context: RawContext,
    /// Where the privacy store lives.
    #[serde(default)]
    pub store: RawStore,
    /// How long each kind of data is kept.
    #[serde(default)]
    pub retention: heyplayer_privacy::RawRetention,
}

fn check<T: PartialOrd + std::fmt::Display + Copy>(
    path: &str,
    key: &'static str,
    v: Option<T>,
    default: T,
    lo: T,
    hi: T,
    why: &'static str,
) -> Result<T, ConfigError> {
    let x = v.unwrap_or(default);
    // `!(lo..=hi)` also catches NaN for floats.
    if !(x >= lo && x <= hi) {
        return Err(ConfigError::Value {
            path: path.to_string(),
            key,
            value: x.to_string(),
            why,
        });
    }
    Ok(x)
}

impl RawConfig {
    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            detail: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Checks every value and fills in defaults.
    pub fn validate(self, path: &str) -> Result<Config, ConfigError> {
        let d = VadConfig::default();
        let v = &self.vad;
        let silero_threshold = check(
            path,
            "vad.silero_threshold",
            v.silero_threshold,
            d.silero_threshold,
            0.0,
            1.0,
            "must be between 0 and 1",
        )?;
        let vad = VadConfig {
            webrtc_mode: v.webrtc_mode.unwrap_or(d.webrtc_mode),
            silero_threshold,
            silero_low_threshold: check(
                path,
                "vad.silero_low_threshold",
                v.silero_low_threshold,
                d.silero_low_threshold.min(silero_threshold),
                0.0,
                silero_threshold,
                "must be between 0 and vad.silero_threshold",
            )?,
            floor_margin_db: check(
                path,
                "vad.floor_margin_db",
                v.floor_margin_db,
                d.floor_margin_db,
                0.0,
                40.0,
                "must be between 0 and 40",
            )?,
            floor_rise_db_per_s: check(
                path,
                "vad.floor_rise_db_per_s",
                v.floor_rise_db_per_s,
                d.floor_rise_db_per_s,
                0.1,
                100.0,
                "must be between 0.1 and 100",
            )?,
            min_level_dbfs: check(
                path,
                "vad.min_level_dbfs",
                v.min_level_dbfs,
                d.min_level_dbfs,
                -120.0,
                0.0,
                "must be between -120 and 0",
            )?,
            min_speech_ms: check(
                path,
                "vad.min_speech_ms",
                v.min_speech_ms,
                d.min_speech_ms,
                10,
                5000,
                "must be between 10 and 5000",
            )?,
            hangover_ms: check(
                path,
                "vad.hangover_ms",
                v.hangover_ms,
                d.hangover_ms,
                10,
                5000,
                "must be between 10 and 5000",
            )?,
            preroll_ms: check(
                path,
                "vad.preroll_ms",
                v.preroll_ms,
                d.preroll_ms,
                0,
                2000,
                "must be between 0 and 2000",
            )?,
        };
        let audio = AudioConfig {
            host: self.audio.host.unwrap_or(HostChoice::Alsa),
            device: self.audio.device.filter(|d| !d.is_empty()),
            queue_ms: check(
                path,
                "audio.queue_ms",
                self.audio.queue_ms,
                DEFAULT_QUEUE_MS,
                100,
                60_000,
                "must be between 100 and 60000",
            )?,
        };
        let dw = WakeSettings::default();
        let w = self.wake;
        let phrase = crate::intent::normalise(w.phrase.as_deref().unwrap_or(&dw.phrase));
        if phrase.is_empty() {
            return Err(ConfigError::Value {
                path: path.to_string(),
                key: "wake.phrase",
                value: format!("{:?}", w.phrase.unwrap_or_default()),
                why: "must hold at least one word",
            });
        }
        let wake = WakeSettings {
            phrase,
            detector: WakeConfig {
                threshold: check(
                    path,
                    "wake.threshold",
                    w.threshold,
                    dw.detector.threshold,
                    0.0,
                    1.0,
                    "must be between 0 and 1",
                )?,
                patience: check(
                    path,
                    "wake.patience",
                    w.patience,
                    dw.detector.patience,
                    1,
                    20,
                    "must be between 1 and 20",
                )?,
                debounce_ms: check(
                    path,
                    "wake.debounce_ms",
                    w.debounce_ms,
                    dw.detector.debounce_ms,
                    0,
                    10_000,
                    "must be between 0 and 10000",
                )?,
            },
            verify: w.verify.unwrap_or(dw.verify),
            verify_min_forced_logprob: check(
                path,
                "wake.verify_min_forced_logprob",
                w.verify_min_forced_logprob,
                dw.verify_min_forced_logprob,
                -10.0,
                0.0,
                "must be between -10 and 0",
            )?,
            verify_rivals: match w.verify_rivals {
                Some(r) if r.iter().any(|x| x.trim().is_empty()) => {
                    return Err(ConfigError::Value {
                        path: path.to_string(),
                        key: "wake.verify_rivals",
                        value: format!("{r:?}"),
                        why: "must not hold an empty phrase",
                    });
                }
                r => r,
            },
            verify_max_rival_lead: check(
                path,
                "wake.verify_max_rival_lead",
                w.verify_max_rival_lead,
                dw.verify_max_rival_lead,
                0.0,
                20.0,
                "must be between 0 and 20",
            )?,
            verify_evidence: w.verify_evidence.unwrap_or(dw.verify_evidence),
            verify_min_evidence: check(
                path,
                "wake.verify_min_evidence",
                w.verify_min_evidence,
                dw.verify_min_evidence,
                0.0,
                1.0,
                "must be between 0 and 1",
            )?,
            preroll_ms: check(
                path,
                "wake.preroll_ms",
                w.preroll_ms,
                dw.preroll_ms,
                0,
                2000,
                "must be between 0 and 2000",
            )?,
        };
        let da = AsrConfig::default();
        let a = self.asr;
        let asr = AsrConfig {
            threads: check(
                path,
                "asr.threads",
                a.threads,
                da.threads,
                1,
                64,
                "must be between 1 and 64",
            )?,
            beam_size: check(
                path,
                "asr.beam_size",
                a.beam_size,
                da.beam_size,
                0,
                8,
                "must be between 0 and 8",
            )?,
            language: a.language.filter(|l| !l.is_empty()).unwrap_or(da.language),
            initial_prompt: a.initial_prompt.unwrap_or(da.initial_prompt),
            trim_audio_ctx: a.trim_audio_ctx.unwrap_or(da.trim_audio_ctx),
            flash_attn: a.flash_attn.unwrap_or(da.flash_attn),
            min_audio_ctx: check(
                path,
                "asr.min_audio_ctx",
                a.min_audio_ctx,
                da.min_audio_ctx,
                64,
                1500,
                "must be between 64 and 1500 (encoder frames of 20 ms)",
            )?,
            min_avg_logprob: check(
                path,
                "asr.min_avg_logprob",
                a.min_avg_logprob,
                da.min_avg_logprob,
                -10.0,
                0.0,
                "must be between -10 and 0",
            )?,
            max_no_speech_prob: check(
                path,
                "asr.max_no_speech_prob",
                a.max_no_speech_prob,
                da.max_no_speech_prob,
                0.0,
                1.0,
                "must be between 0 and 1",
            )?,
            guided: a.guided.unwrap_or(da.guided),
            guided_min_avg_logprob: check(
                path,
                "asr.guided_min_avg_logprob",
                a.guided_min_avg_logprob,
                da.guided_min_avg_logprob,
                -10.0,
                0.0,
                "must be between -10 and 0",
            )?,
        };
        let asr_model = a
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| DEFAULT_ASR_MODEL.to_string());
        // The shorter ends come after Whisper started: not below the quiet
        // that starts it, the open one not below the complete one.
        let speculate_after_ms = check(
            path,
            "command.speculate_after_ms",
            self.command.speculate_after_ms,
            DEFAULT_SPECULATE_AFTER_MS,
            0,
            2000,
            "must be between 0 (off) and 2000",
        )?;
        let complete_hangover_ms = check(
            path,
            "command.complete_hangover_ms",
            self.command.complete_hangover_ms,
            DEFAULT_COMPLETE_HANGOVER_MS.max(speculate_after_ms),
            speculate_after_ms,
            5000,
            "must be between command.speculate_after_ms and 5000",
        )?;
        let open_hangover_ms = check(
            path,
            "command.open_hangover_ms",
            self.command.open_hangover_ms,
            DEFAULT_OPEN_HANGOVER_MS.max(complete_hangover_ms),
            complete_hangover_ms,
            5000,
            "must be between command.complete_hangover_ms and 5000",
        )?;
        let command = CommandConfig {
            hangover_ms: check(
                path,
                "command.hangover_ms",
                self.command.hangover_ms,
                DEFAULT_COMMAND_HANGOVER_MS,
                100,
                5000,
                "must be between 100 and 5000",
            )?,
            max_ms: check(
                path,
                "command.max_ms",
                self.command.max_ms,
                DEFAULT_COMMAND_MAX_MS,
                1000,
                30_000,
                "must be between 1000 and 30000",
            )?,
            speculate_after_ms,
            complete_hangover_ms,
            open_hangover_ms,
        };
        Ok(Config {
            audio,
            vad,
            wake,
            asr_model,
            asr,
            command,
            models_dir: self
                .models
                .dir
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(crate::models::default_dir),
            events: self.output.events.unwrap_or_default(),
            events_content: self.output.events_content.unwrap_or_default(),
            context_enabled: self.context.enabled.unwrap_or(true),
            context_out: ContextOut {
                socket: self
                    .output
                    .context_socket
                    .filter(|p| !p.as_os_str().is_empty()),
                file: self
                    .output
                    .context_file
                    .filter(|p| !p.as_os_str().is_empty()),
            },
            data_dir: self
                .store
                .dir
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(default_data_dir),
            retention: self
                .retention
                .validate()
                .map_err(|source| ConfigError::Retention {
                    path: path.to_string(),
                    source,
                })?,
        })
    }
}
