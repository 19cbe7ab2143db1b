//! Retention rules: for each kind of data, how long it may be kept.
//!
//! Each rule is `never` (not kept at all), `session` (kept in memory while
//! heyplayer runs, never written to disk) or a duration (`90s`, `30m`, `24h`,
//! `7d`, `2w`, `1y`, or sums such as `1d12h`). The sweeper deletes what has
//! expired within a minute of its expiry, and at start-up.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Kind;

/// How long one kind of data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Not kept at all.
    Never,
    /// Kept in memory while the process runs; never written to disk.
    Session,
    /// Written to disk and deleted when this much time has passed.
    For(Duration),
}

/// A retention value that cannot be read, or a rule that is not allowed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RetentionError {
    /// Not `never`, `session` or a duration.
    #[error("retention.{kind}: cannot read {value:?}: use never, session, or a duration such as 90s, 30m, 24h, 7d, 2w, 1y")]
    Syntax {
        /// The kind's config key.
        kind: &'static str,
        /// What was given.
        value: String,
    },
    /// A value this kind does not allow.
    #[error("retention.{kind} = {value:?}: {why}")]
    NotAllowed {
        /// The kind's config key.
        kind: &'static str,
        /// What was given.
        value: String,
        /// Why.
        why: &'static str,
    },
}

/// Reads `90s`, `30m`, `24h`, `7d`, `2w`, `1y` (365 days), or a sum of them
/// (`1d12h`). Zero is refused: say `never`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            _ => return None,
        };
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v))?;
    }
    if !digits.is_empty() || total == 0 || total > 100 * 365 * 86_400 {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// The shortest exact spelling of a duration in years, days, hours, minutes or
/// seconds (`30d`, `7d`, `1y`, `36h`, `90s`).
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, len) in [('y', 365 * 86_400), ('d', 86_400), ('h', 3600), ('m', 60)] {
        if s >= len && s.is_multiple_of(len) {
            return format!("{}{unit}", s / len);
        }
    }
    format!("{s}s")
}

impl Keep {
    /// Reads a rule for `kind` (for its error messages).
    pub fn parse(kind: Kind, value: &str) -> Result<Keep, RetentionError> {
        match value.trim() {
            "never" => Ok(Keep::Never),
            "session" => Ok(Keep::Session),
            v => parse_duration(v)
                .map(Keep::For)
                .ok_or_else(|| RetentionError::Syntax {
                    kind: kind.name(),
                    value: value.to_string(),
                }),
        }
    }

    /// Whether this rule writes to disk.
    pub fn on_disk(self) -> bool {
        matches!(self, Keep::For(_))
    }

    /// The expiry of something kept at `now_ms`, if it is written to disk.
    pub fn expires_at(self, now_ms: i64) -> Option<i64> {
        match self {
            Keep::For(d) => {
                Some(now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
            }
            Keep::Never | Keep::Session => None,
        }
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keep::Never => f.write_str("never"),
            Keep::Session => f.write_str("session"),
            Keep::For(d) => f.write_str(&fmt_duration(*d)),
        }
    }
}

/// The `[retention]` table of the config file, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Raw audio clips of what was said after the wake word: `never` (the
    /// default) or a duration, e.g. "7d". Written as WAV files that expire.
    pub raw_audio: Option<String>,
    /// Command transcripts (default "24h").
    pub transcript: Option<String>,
    /// Commands and the outcome of executing them (default "30d").
    pub command: Option<String>,
    /// Context labels with their confidence (default "30d").
    pub context: Option<String>,
    /// Audit log entries (default "1y"). Must be a duration of at least a day:
    /// the audit log is how heyplayer answers what it heard and kept.
    pub audit: Option<String>,
}

/// Default rule for raw audio: never kept.
pub const DEFAULT_RAW_AUDIO: Keep = Keep::Never;
/// Default rule for transcripts: 24 hours.
pub const DEFAULT_TRANSCRIPT: Keep = Keep::For(Duration::from_secs(24 * 3600));
/// Default rule for commands: 30 days.
pub const DEFAULT_COMMAND: Keep = Keep::For(Duration::from_secs(30 * 86_400));
/// Default rule for context labels: 30 days.
pub const DEFAULT_CONTEXT: Keep = Keep::For(Duration::from_secs(30 * 86_400));
/// Default rule for audit entries: a year.
pub const DEFAULT_AUDIT: Keep = Keep::For(Duration::from_secs(365 * 86_400));
/// The shortest audit retention allowed.
pub const MIN_AUDIT: Duration = Duration::from_secs(86_400);

/// The retention rules in force, one per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRules {
    /// Raw audio clips.
    pub raw_audio: Keep,
    /// Transcripts.
    pub transcript: Keep,
    /// Commands and outcomes.
    pub command: Keep,
    /// Context labels.
    pub context: Keep,
    /// Audit entries.
    pub audit: Keep,
}

impl Default for RetentionRules {
    fn default() -> Self {
        Self {
            raw_audio: DEFAULT_RAW_AUDIO,
            transcript: DEFAULT_TRANSCRIPT,
            command: DEFAULT_COMMAND,
            context: DEFAULT_CONTEXT,
            audit: DEFAULT_AUDIT,
        }
    }
}

impl RetentionRules {
    /// The rule for a kind.
    pub fn get(&self, kind: Kind) -> Keep {
        match kind {
            Kind::RawAudio => self.raw_audio,
            Kind::Transcript => self.transcript,
            Kind::Command => self.command,
            Kind::Context => self.context,
            Kind::Audit => self.audit,
        }
    }

    /// One line: `raw_audio=never transcript=24h …` (also what the audit
    /// log records when the rules change).
    pub fn summary(&self) -> String {
        Kind::ALL
            .iter()
            .map(|k| format!("{}={}", k.name(), self.get(*k)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl RawRetention {
    /// Checks every value and fills in the defaults.
    pub fn validate(&self) -> Result<RetentionRules, RetentionError> {
        let d = RetentionRules::default();
        let read = |kind: Kind, v: &Option<String>, default: Keep| match v {
            Some(v) => Keep::parse(kind, v),
            None => Ok(default),
        };
        let rules = RetentionRules {
            raw_audio: read(Kind::RawAudio, &self.raw_audio, d.raw_audio)?,
            transcript: read(Kind::Transcript, &self.transcript, d.transcript)?,
            command: read(Kind::Command, &self.command, d.command)?,
            context: read(Kind::Context, &self.context, d.context)?,
            audit: read(Kind::Audit, &self.audit, d.audit)?,
        };
        if rules.raw_audio == Keep::Session {
            return Err(RetentionError::NotAllowed {
                kind: "raw_audio",
                value: "session".into(),
                why: "raw audio is either never kept or written to disk with an expiry",
            });
        }
        match rules.audit {
            Keep::For(d) if d >= MIN_AUDIT => {}
            other => {
                return Err(RetentionError::NotAllowed {
                    kind: "audit",
                    value: other.to_string(),
                    why: "the audit log is kept for at least 1d: it is how heyplayer answers what it heard and kept",
                })
            }
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let r = RawRetention::default().validate().unwrap();
        assert_eq!(
            r.summary(),
            "raw_audio=never transcript=1d command=30d context=30d audit=1y"
        );
    }

    #[test]
    fn durations_round_trip() {
        for (s, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("24h", 86_400),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("1y", 31_536_000),
            ("1d12h", 129_600),
        ] {
            let d = parse_duration(s).unwrap();
            assert_eq!(d.as_secs(), secs, "{s}");
            assert_eq!(parse_duration(&fmt_duration(d)).unwrap(), d);
        }
        for bad in [
            "",
            "0s",
            "5",
            "h",
            "7 days",
            "-1d",
            "1.5h",
            "999999999999999999y",
        ] {
            assert!(parse_duration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn each_kind_reads_never_session_or_a_duration() {
        let raw = RawRetention {
            raw_audio: Some("7d".into()),
            transcript: Some("session".into()),
            command: Some("never".into()),
            context: Some("12h".into()),
            audit: Some("2y".into()),
        };
        let r = raw.validate().unwrap();
        assert_eq!(r.raw_audio, Keep::For(Duration::from_secs(7 * 86_400)));
        assert_eq!(r.transcript, Keep::Session);
        assert_eq!(r.command, Keep::Never);
        assert!(!r.transcript.on_disk() && r.context.on_disk());
        assert_eq!(r.context.expires_at(1000), Some(1000 + 12 * 3_600_000));
        assert_eq!(r.transcript.expires_at(1000), None);
    }

    #[test]
    fn bad_rules_are_refused_with_the_key_named() {
        let e = RawRetention {
            transcript: Some("a while".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("retention.transcript: cannot read \"a while\""),
            "{e}"
        );
        let e = RawRetention {
            raw_audio: Some("session".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("retention.raw_audio"), "{e}");
        for audit in ["never", "session", "12h"] {
            let e = RawRetention {
                audit: Some(audit.into()),
                ..Default::default()
            }
            .validate()
            .unwrap_err();
            assert!(e.to_string().contains("at least 1d"), "{e}");
        }
    }
}
