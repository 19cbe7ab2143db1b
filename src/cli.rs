//! Command-line interface (clap). `main.rs` runs what is parsed here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::audio::mic::HostChoice;
use crate::events::EventFormat;

/// heyplayer: an on-device, privacy-first voice front end for music players.
///
/// It listens (to a microphone, a WAV file or raw audio on stdin) and tells
/// you, as a stream of events, when someone is speaking. Nothing it hears
/// leaves this machine.
#[derive(Debug, Parser)]
#[command(
    name = "heyplayer",
    version,
    propagate_version = true,
    after_help = "Examples:\n  heyplayer listen                      listen on the default microphone\n  heyplayer listen --input talk.wav     find the speech in a recording\n  heyplayer devices                     list microphones\n  heyplayer config --print-default      show every setting with its default\n\nRun `heyplayer help COMMAND` for a command's options."
)]
pub struct Cli {
    /// Config file (default: ~/.config/heyplayer/config.toml, if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Listen and print an event whenever speech starts or stops.
    #[command(after_help = LISTEN_HELP)]
    Listen(ListenArgs),
    /// List the input devices (microphones).
    #[command(
        after_help = "Examples:\n  heyplayer devices\n  heyplayer devices --json\n\nUse a device's id or name with `heyplayer listen --device NAME`."
    )]
    Devices {
        /// cpal host to ask.
        #[arg(long, value_enum)]
        host: Option<HostChoice>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show or check the configuration.
    #[command(
        after_help = "Examples:\n  heyplayer config --print-default > ~/.config/heyplayer/config.toml\n  heyplayer config --check --config my.toml"
    )]
    Config {
        /// Print a commented config file with every default.
        #[arg(long, conflicts_with = "check")]
        print_default: bool,
        /// Read and validate the config file, and print what is in force.
        #[arg(long)]
        check: bool,
    },
    /// Show the model files and whether they are installed.
    #[command(
        after_help = "Examples:\n  heyplayer models list\n\nFetch missing models with `make models` (or `python3 models/fetch.py`)."
    )]
    Models {
        /// What to do with the models.
        #[command(subcommand)]
        action: ModelsAction,
    },
}

/// `heyplayer models …`
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// List every model in the manifest: file, size, licence, source, installed or not.
    List {
        /// Models directory (default: $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
    },
}

const LISTEN_HELP: &str = "Input:
  --input mic        the default microphone (or --device NAME); runs until Ctrl-C
  --input FILE.wav   a WAV file: any rate, channels, 8/16/24/32-bit int or 32-bit float
  --input -          raw signed 16-bit little-endian PCM on stdin (--rate, --channels)

Events (one per line on stdout; JSON by default, --events text for people):
  audio_start, voice_started, voice_stopped, frames_dropped, device_lost,
  device_reopened, audio_stop. Each carries t_ms, the time on the audio clock.

Examples:
  heyplayer listen
  heyplayer listen --device 'alsa:default' --events text
  heyplayer listen --input demo.wav --realtime
  sox talk.flac -t raw -e signed -b 16 -r 16000 -c 1 - | heyplayer listen --input -";

/// Options of `heyplayer listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// `mic`, a WAV file path, or `-` for raw s16le PCM on stdin.
    #[arg(long, short, default_value = "mic", value_name = "mic|FILE.wav|-")]
    pub input: String,
    /// Input device (name or id from `heyplayer devices`); implies --input mic.
    #[arg(long, short, value_name = "NAME")]
    pub device: Option<String>,
    /// cpal host for the microphone.
    #[arg(long, value_enum)]
    pub host: Option<HostChoice>,
    /// Read a file at real-time speed instead of as fast as possible.
    #[arg(long)]
    pub realtime: bool,
    /// Sample rate of raw stdin audio, Hz.
    #[arg(long, default_value_t = 16_000, value_name = "HZ")]
    pub rate: u32,
    /// Channel count of raw stdin audio.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub channels: u16,
    /// Event format on stdout (default: from the config, else json).
    #[arg(long, value_enum)]
    pub events: Option<EventFormat>,
    /// Models directory (default: from the config, else $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_examples() {
        for sub in Cli::command().get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("Examples"),
                "{} has no examples",
                sub.get_name()
            );
        }
    }
}
