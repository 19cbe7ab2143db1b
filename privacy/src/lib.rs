//! heyplayer-privacy: the only code in heyplayer that writes to disk.
//!
//! The store, the retention rules and the audit log live here (see the crate
//! README and `PRIVACY.md`). Today the crate states the boundary and the
//! retention kinds; the store lands with the privacy issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
    }
}
