//! The audit log's hash chain.
//!
//! Every entry carries the SHA-256 of the one before it (`prev`) and its own
//! hash over its fields and `prev`. Changing, inserting or removing an entry
//! anywhere breaks every link after it, and [`verify`] names the first broken
//! one. When old entries expire, the hash of the last one removed is kept as
//! the chain's anchor, so the remaining chain still verifies.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev` of the very first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Listening started (input device, models).
    ListenStart,
    /// Listening stopped (and why).
    ListenStop,
    /// A wake event was captured (what was kept, and until when; never content).
    Capture,
    /// Data was deleted (what kind, how much, by whom; never content).
    Delete,
    /// The retention rules changed.
    Config,
    /// Everything stored was exported to a file.
    Export,
    /// Audit entries past their retention were removed (the chain is anchored).
    Prune,
    /// A client's session with the Wyoming server ended (peer, start, stop,
    /// what was asked, what was kept; never content).
    Session,
}

impl Action {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ListenStart => "listen_start",
            Action::ListenStop => "listen_stop",
            Action::Capture => "capture",
            Action::Delete => "delete",
            Action::Config => "config",
            Action::Export => "export",
            Action::Prune => "prune",
            Action::Session => "session",
        }
    }

    /// Every action, for `--kind` help and validation.
    pub const ALL: [Action; 8] = [
        Action::ListenStart,
        Action::ListenStop,
        Action::Capture,
        Action::Delete,
        Action::Config,
        Action::Export,
        Action::Prune,
        Action::Session,
    ];

    /// Reads a stored or typed name.
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Who caused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The listening daemon.
    Heyplayer,
    /// The expiry sweeper.
    Sweeper,
    /// The user, deleting one record (CLI or viewer).
    User,
    /// The user, purging in bulk (`heyplayer purge`, the viewer's "purge all").
    Purge,
}

impl Actor {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Heyplayer => "heyplayer",
            Actor::Sweeper => "sweeper",
            Actor::User => "user",
            Actor::Purge => "purge",
        }
    }
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Position in the chain (1, 2, …; never reused).
    pub seq: i64,
    /// When, in ms since the epoch (UTC).
    pub t_ms: i64,
    /// What happened (an [`Action`] name).
    pub action: String,
    /// Who did it (an [`Actor`] name).
    pub actor: String,
    /// The kind of data concerned, if any (`transcript`, `raw_audio`, …).
    pub kind: Option<String>,
    /// Details as compact JSON: ids, counts, expiries. Never content.
    pub detail: String,
    /// The previous entry's hash (or the anchor, or [`GENESIS`]).
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry's fields chained to `prev`, as lowercase hex.
pub fn entry_hash(
    seq: i64,
    t_ms: i64,
    action: &str,
    actor: &str,
    kind: Option<&str>,
    detail: &str,
    prev: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        seq.to_string().as_str(),
        t_ms.to_string().as_str(),
        action,
        actor,
        kind.unwrap_or(""),
        detail,
        prev,
    ] {
        // Length-prefixed so that no two field lists hash the same bytes.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: u64,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

impl Verification {
    /// True when every link holds.
    pub fn ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The entry's sequence number.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks a chain given in `seq` order, starting from `anchor` (the hash the
/// first entry's `prev` must equal).
pub fn verify<I: IntoIterator<Item = Entry>>(
    anchor: &str,
    anchor_seq: i64,
    entries: I,
) -> Verification {
    let mut prev = anchor.to_string();
    let mut n = 0;
    for (expect_seq, e) in (anchor_seq + 1..).zip(entries) {
        n += 1;
        let broken = |reason: String| Verification {
            entries: n,
            first_broken: Some(BrokenLink { seq: e.seq, reason }),
        };
        if e.seq != expect_seq {
            return broken(format!(
                "expected entry {expect_seq} here: entries are missing or were inserted"
            ));
        }
        if e.prev != prev {
            return broken("its link to the previous entry does not match: an earlier entry was changed or removed".into());
        }
        let h = entry_hash(
            e.seq,
            e.t_ms,
            &e.action,
            &e.actor,
            e.kind.as_deref(),
            &e.detail,
            &e.prev,
        );
        if h != e.hash {
            return broken("its content does not match its hash: this entry was changed".into());
        }
        prev = e.hash;
    }
    Verification {
        entries: n,
        first_broken: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            let detail = format!("{{\"i\":{seq}}}");
            let hash = entry_hash(
                seq,
                seq * 10,
                "capture",
                "heyplayer",
                Some("transcript"),
                &detail,
                &prev,
            );
            out.push(Entry {
                seq,
                t_ms: seq * 10,
                action: "capture".into(),
                actor: "heyplayer".into(),
                kind: Some("transcript".into()),
                detail,
                prev,
                hash,
            });
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        let v = verify(GENESIS, 0, chain(5));
        assert!(v.ok());
        assert_eq!(v.entries, 5);
        assert!(verify(GENESIS, 0, Vec::new()).ok());
    }

    #[test]
    fn a_changed_entry_is_the_first_broken_link() {
        let mut c = chain(5);
        c[2].detail = "{\"i\":99}".into();
        let v = verify(GENESIS, 0, c);
        assert_eq!(v.first_broken.unwrap().seq, 3);
    }

    #[test]
    fn a_removed_entry_is_found() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(GENESIS, 0, c).first_broken.unwrap().seq, 3);
    }

    #[test]
    fn a_rehashed_forgery_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].t_ms = 0;
        c[1].hash = entry_hash(
            2,
            0,
            &c[1].action,
            &c[1].actor,
            c[1].kind.as_deref(),
            &c[1].detail,
            &c[1].prev,
        );
        assert_eq!(verify(GENESIS, 0, c).first_broken.unwrap().seq, 3);
    }

    #[test]
    fn a_pruned_chain_verifies_from_its_anchor() {
        let c = chain(5);
        let anchor = c[1].hash.clone();
        assert!(verify(&anchor, 2, c[2..].to_vec()).ok());
        assert!(!verify(GENESIS, 0, c[2..].to_vec()).ok());
    }

    #[test]
    fn field_boundaries_matter() {
        assert_ne!(
            entry_hash(1, 1, "ab", "c", None, "", GENESIS),
            entry_hash(1, 1, "a", "bc", None, "", GENESIS)
        );
    }
}
