//! heyplayer-privacy: the only code in heyplayer that writes to disk.
//!
//! - [`store`]: one SQLite file (WAL, `secure_delete`, mode 0600 in a 0700
//!   directory) and opt-in WAV clips; every write in a transaction with its
//!   audit entry.
//! - [`retention`]: per-kind rules (`never`, `session`, or a duration) and the
//!   sweeper that enforces them.
//! - [`audit`]: the append-only, hash-chained audit log and its verifier.
//! - [`clock`]: the injected clock that lets all of it be tested without sleeps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

pub mod audit;
pub mod clock;
pub mod outlet;
pub mod retention;
pub mod store;
pub mod time;

pub use audit::{Action, Actor, Verification};
pub use clock::{Clock, ManualClock, SystemClock};
pub use retention::{Keep, RawRetention, RetentionError, RetentionRules};
pub use store::{NewCapture, PurgeFilter, Record, Store};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// SQLite failed.
    #[error("store database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The data directory can be read by other users.
    #[error("data directory {} has mode {mode:o} and holds other files: others could read what heyplayer keeps; run `chmod 700 {}` or choose another --data-dir", path.display(), path.display())]
    InsecureDir {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The data directory path is a file.
    #[error("data directory {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The database file is damaged or is not a heyplayer store.
    #[error("{} is damaged or not a heyplayer store ({detail}). To start a new store, move it aside: mv {} {}.broken (its records and audit log stay in that file)", path.display(), path.display(), path.display())]
    CorruptFile {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The store holds something this version cannot read.
    #[error("store: {0}")]
    Corrupt(String),
    /// A retention rule is invalid.
    #[error(transparent)]
    Retention(#[from] RetentionError),
    /// JSON (de)serialisation failed.
    #[error("store JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing a WAV clip failed.
    #[error("audio clip: {0}")]
    Wav(#[from] hound::Error),
}

/// The kinds of data heyplayer may keep, each with its own retention rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Raw audio clips (never kept unless the user opts in).
    RawAudio,
    /// Transcripts of commands.
    Transcript,
    /// Commands and the outcome of executing them.
    Command,
    /// Context labels (environment, emotion) with their confidence.
    Context,
    /// Audit log entries.
    Audit,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 5] = [
        Kind::RawAudio,
        Kind::Transcript,
        Kind::Command,
        Kind::Context,
        Kind::Audit,
    ];

    /// Reads a name used in config and on the command line.
    pub fn from_name(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The name used in config and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::RawAudio => "raw_audio",
            Kind::Transcript => "transcript",
            Kind::Command => "command",
            Kind::Context => "context",
            Kind::Audit => "audit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique() {
        let mut names: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("voiceprint"), None);
    }
}
