//! Playback: what a spoken command does to a real player.
//!
//! A [`Player`] executes one [`Command`] at a time and says what it did.
//! [`act`] turns every failure (no player, a refusal, nothing matching the
//! query) into a failed [`Outcome`]: a command never crashes the listener.
//! Players: [`mpris::Mpris`] (any MPRIS player on the session bus),
//! [`mpv::Mpv`] (mpv's JSON IPC socket) and [`DryRun`] (prints what it would
//! do). `play <query>` opens a URI or path, or searches a local music folder.

pub mod mpris;
pub mod mpv;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::intent::{Action, Command};

/// How much "louder" / "quieter" moves the volume, in percent points.
pub const VOLUME_STEP: i64 = 10;

/// File extensions `play <query>` looks for in the music folder.
pub const AUDIO_EXTENSIONS: [&str; 8] = ["mp3", "flac", "ogg", "oga", "opus", "m4a", "wav", "aac"];

/// Words of a query that say nothing about what to play.
const FILLER: [&str; 12] = [
    "some",
    "the",
    "music",
    "songs",
    "song",
    "something",
    "a",
    "an",
    "by",
    "me",
    "tracks",
    "track",
];

/// Errors of a player.
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    /// The player's socket cannot be reached.
    #[error("cannot reach mpv at {}: {source} (start it with mpv --idle --input-ipc-server={})", path.display(), path.display())]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Talking to the player failed mid-way.
    #[error("mpv connection: {0}")]
    Io(#[from] std::io::Error),
    /// The player answered with an error.
    #[error("the player refused {command}: {error}")]
    Refused {
        /// The request.
        command: String,
        /// What it said.
        error: String,
    },
    /// The player cannot do this at all.
    #[error("{player} cannot {action}: {why}")]
    Unsupported {
        /// The player.
        player: String,
        /// The action.
        action: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// `play <query>` found nothing.
    #[error("nothing in {} matches {query:?}", dir.display())]
    NoMatch {
        /// The music folder.
        dir: PathBuf,
        /// The query.
        query: String,
    },
    /// D-Bus failed (no session bus, the player vanished, a call refused).
    #[error("D-Bus: {0}")]
    Bus(String),
    /// No player to act on.
    #[error("{0}")]
    NoPlayer(String),
    /// The player sent something unreadable.
    #[error("the player sent something unreadable: {0}")]
    Protocol(String),
}

/// What executing a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Whether the player did it.
    pub ok: bool,
    /// Which player.
    pub player: String,
    /// What happened (or the error).
    pub detail: String,
}

/// A player that executes commands.
pub trait Player: Send {
    /// Its name in events.
    fn name(&self) -> String;
    /// Executes one command; returns what happened, in a few words.
    fn execute(&mut self, cmd: &Command) -> Result<String, PlaybackError>;
}

/// Executes `cmd` on `player`; failures are a failed outcome, never a panic.
pub fn act(player: &mut dyn Player, cmd: &Command) -> Outcome {
    match player.execute(cmd) {
        Ok(detail) => Outcome {
            ok: true,
            player: player.name(),
            detail,
        },
        Err(e) => Outcome {
            ok: false,
            player: player.name(),
            detail: e.to_string(),
        },
    }
}

/// Prints the actions instead of playing anything (`--player dry-run`).
#[derive(Debug, Default)]
pub struct DryRun;

impl Player for DryRun {
    fn name(&self) -> String {
        "dry-run".into()
    }

    fn execute(&mut self, cmd: &Command) -> Result<String, PlaybackError> {
        Ok(format!("would {}", describe(cmd)))
    }
}

/// A command in words ("set the volume to 40").
pub fn describe(cmd: &Command) -> String {
    match (cmd.action, &cmd.query, cmd.value) {
        (Action::Play, Some(q), _) => format!("play {q:?}"),
        (Action::Play, None, _) => "start playing".into(),
        (Action::Pause, ..) => "pause".into(),
        (Action::Resume, ..) => "resume".into(),
        (Action::Stop, ..) => "stop".into(),
        (Action::Next, ..) => "skip to the next track".into(),
        (Action::Previous, ..) => "go back to the previous track".into(),
        (Action::VolumeUp, ..) => format!("turn the volume up by {VOLUME_STEP}"),
        (Action::VolumeDown, ..) => format!("turn the volume down by {VOLUME_STEP}"),
        (Action::VolumeSet, _, Some(v)) => format!("set the volume to {v}"),
        (Action::VolumeSet, _, None) => "set the volume".into(),
        (Action::Mute, ..) => "mute".into(),
        (Action::Unmute, ..) => "unmute".into(),
        (Action::ShuffleOn, ..) => "shuffle".into(),
        (Action::ShuffleOff, ..) => "stop shuffling".into(),
        (Action::RepeatOn, ..) => "repeat".into(),
        (Action::RepeatOff, ..) => "stop repeating".into(),
        (Action::Like, ..) => "like this track".into(),
        (Action::WhatsPlaying, ..) => "say what is playing".into(),
    }
}

/// Whether a query names something to open directly (a URI or a file).
pub fn is_uri_or_path(q: &str) -> bool {
    q.contains("://") || (q.starts_with('/') && Path::new(q).exists())
}

/// The words of a query that can match a file or folder name.
fn query_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.as_str()))
        .collect()
}

/// Audio files under `dir` whose path below `dir` (folders and file name,
/// case-insensitive) holds every word of the query, sorted by path.
pub fn search_music(dir: &Path, query: &str) -> Vec<PathBuf> {
    let words = query_words(query);
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let audio = p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
            let name = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_lowercase();
            let name_words: Vec<&str> = name.split(|c: char| !c.is_alphanumeric()).collect();
            if audio && !words.is_empty() && words.iter().all(|w| name_words.contains(&w.as_str()))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(text: &str) -> Command {
        crate::intent::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn dry_run_says_what_it_would_do_for_every_action() {
        let mut p = DryRun;
        for (said, want) in [
            ("play some jazz", "would play \"some jazz\""),
            ("pause", "would pause"),
            ("set the volume to forty", "would set the volume to 40"),
            ("turn it down", "would turn the volume down by 10"),
            ("what's playing", "would say what is playing"),
        ] {
            let o = act(&mut p, &cmd(said));
            assert!(o.ok);
            assert_eq!(o.detail, want, "{said}");
        }
    }

    #[test]
    fn music_search_matches_every_meaningful_word_in_folders_and_names() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("Miles Davis/Kind of Blue")).unwrap();
        for f in [
            "Miles Davis/Kind of Blue/So What.flac",
            "jazz_standard.mp3",
            "rock_anthem.ogg",
            "rock_notes.txt",
            "Jazz Rock Fusion.wav",
        ] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let names = |q: &str| -> Vec<String> {
            search_music(d, q)
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names("some jazz"),
            ["Jazz Rock Fusion.wav", "jazz_standard.mp3"]
        );
        assert_eq!(names("something by miles davis"), ["So What.flac"]);
        assert_eq!(
            names("rock music"),
            ["Jazz Rock Fusion.wav", "rock_anthem.ogg"],
            "not the .txt"
        );
        assert!(names("polka").is_empty());
        assert!(
            names("some music").is_empty(),
            "filler alone matches nothing"
        );
    }

    #[test]
    fn uris_and_existing_paths_are_opened_directly() {
        assert!(is_uri_or_path("https://radio.example/stream"));
        assert!(is_uri_or_path("/"));
        assert!(!is_uri_or_path("/no/such/file.mp3"));
        assert!(!is_uri_or_path("some jazz"));
    }
}
