//! The store: one SQLite file (WAL, `secure_delete`) in a 0700 directory, plus
//! opt-in WAV clips, with the retention rules and the audit log enforced on
//! every write.
//!
//! Tables: `captures` (one row per wake event that left something on disk:
//! time, wake score, verified), `items` (what was kept of it, one row per kind,
//! each with its own `expires_ms`), `audit` (the hash-chained log; append-only,
//! enforced by triggers) and `meta` (retention rules in force, listening state,
//! the audit chain's anchor). Items whose rule is `session` live in this
//! process's memory only; records held only in memory have negative ids.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{self, Action, Actor, Entry, Verification, GENESIS};
use crate::clock::Clock;
use crate::retention::{Keep, RawRetention, RetentionRules};
use crate::time::fmt_utc;
use crate::{Kind, PrivacyError};

/// The database file's name in the data directory.
pub const DB_FILE: &str = "heyplayer.sqlite3";
/// The folder of opt-in audio clips in the data directory.
pub const CLIPS_DIR: &str = "clips";
/// How long a write waits for another process's transaction.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the daemon must run [`Store::sweep`] at the least, so that
/// nothing outlives its expiry by more than a minute.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures(
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    wake_score REAL NOT NULL,
    verified INTEGER NOT NULL,
    phrase TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items(
    id INTEGER PRIMARY KEY,
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    UNIQUE(capture_id, kind)
);
CREATE INDEX IF NOT EXISTS items_expiry ON items(expires_ms);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY,
    t_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(t_ms);
CREATE TRIGGER IF NOT EXISTS audit_append_only BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
WHEN (SELECT value FROM meta WHERE key = 'audit_pruning') IS NOT '1'
BEGIN SELECT RAISE(ABORT, 'audit entries are removed only by their retention rule or a purge'); END;
";

/// Audio kept with a capture (only when `retention.raw_audio` opts in).
#[derive(Debug, Clone)]
pub struct Clip {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Mono samples in [-1, 1].
    pub samples: Vec<f32>,
}

/// What the daemon offers to keep of one wake event. The rules decide.
#[derive(Debug, Clone, Default)]
pub struct NewCapture {
    /// The wake detector's score.
    pub wake_score: f32,
    /// Whether the second stage (Whisper) confirmed the wake word.
    pub verified: bool,
    /// The wake phrase.
    pub phrase: String,
    /// The command's transcript.
    pub transcript: Option<String>,
    /// The command (JSON), and later its outcome.
    pub command: Option<Value>,
    /// Context labels with their confidence (JSON).
    pub context: Option<Value>,
    /// The gated audio.
    pub audio: Option<Clip>,
}

/// What became of one kind of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeptKind {
    /// The kind.
    pub kind: String,
    /// The rule applied (`never`, `session`, `24h`…).
    pub rule: String,
    /// When it will be deleted, if it was written to disk.
    pub expires_ms: Option<i64>,
}

/// What [`Store::record_capture`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The record's id (negative: in memory only), if anything was kept.
    pub id: Option<i64>,
    /// One line per kind offered.
    pub kinds: Vec<KeptKind>,
}

/// One kept item of a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The content (transcript string, command JSON, labels JSON, clip file).
    pub value: Value,
    /// When it is deleted; `None`: in memory for this session only.
    pub expires_ms: Option<i64>,
}

/// A wake event and what is kept of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Id (negative: in memory only).
    pub id: i64,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The same, readable (UTC).
    pub at: String,
    /// Wake score.
    pub wake_score: f64,
    /// Verified by the second stage.
    pub verified: bool,
    /// Wake phrase.
    pub phrase: String,
    /// Kept items by kind name.
    pub items: BTreeMap<String, Item>,
}

/// Which records `purge` deletes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PurgeFilter {
    /// Only this kind (`Audit` prunes audit entries).
    pub kind: Option<Kind>,
    /// Only what was created before this time (ms since the epoch).
    pub before_ms: Option<i64>,
    /// Everything, the audit log included (one entry then records the purge).
    pub all: bool,
}

/// Counts of deleted things by kind name.
pub type Counts = BTreeMap<&'static str, u64>;

/// `2 transcript, 1 command`: counts by kind, for people.
pub fn describe_counts<K: std::fmt::Display, N: std::fmt::Display>(
    counts: impl IntoIterator<Item = (K, N)>,
) -> String {
    counts
        .into_iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is listening, as recorded by the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Listening {
    /// Process id.
    pub pid: u32,
    /// Since when (ms since the epoch).
    pub since_ms: i64,
    /// Input: device name, file or stdin.
    pub input: String,
    /// Models in use.
    pub models: Vec<ModelInUse>,
}

/// A model file in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ModelInUse {
    /// Manifest name.
    pub name: String,
    /// File path.
    pub file: String,
    /// sha256 from the manifest.
    pub sha256: String,
}

/// What `heyplayer status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Where data lives.
    pub data_dir: PathBuf,
    /// The database file.
    pub database: PathBuf,
    /// Listening now: the record, and whether that process is still alive.
    pub listening: Option<(Listening, bool)>,
    /// What the listener is doing now, while it listens: `{"state", "since_ms"}`.
    pub state: Option<Value>,
    /// The last stop: when and why.
    pub last_stop: Option<Value>,
    /// The retention rules in force, by kind.
    pub retention: BTreeMap<&'static str, String>,
    /// Records on disk.
    pub records: u64,
    /// Items on disk, by kind (the audit log included).
    pub counts: BTreeMap<&'static str, u64>,
    /// Bytes of audio clips on disk.
    pub clip_bytes: u64,
    /// The next expiry (ms since the epoch), if anything expires.
    pub next_expiry_ms: Option<i64>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// From this time on (ms, inclusive).
    pub since_ms: Option<i64>,
    /// Before this time (ms, exclusive).
    pub until_ms: Option<i64>,
    /// Only this action.
    pub action: Option<Action>,
    /// Only entries about this kind of data.
    pub kind: Option<Kind>,
    /// Page size (0: no limit).
    pub limit: u64,
    /// Entries to skip (newest first).
    pub offset: u64,
}

struct SessionRecord {
    record: Record,
}

/// The local store. One per process; other processes (the viewer, the CLI)
/// open their own on the same directory.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    rules: RetentionRules,
    /// Records (and session items of disk records) held in memory only.
    session: Vec<SessionRecord>,
    next_session_id: i64,
    /// What the sweep made when the store was opened deleted.
    opening_sweep: Counts,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PrivacyError + '_ {
    move |source| PrivacyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (mode 0700) or checks that an existing one is private.
fn private_dir(dir: &Path) -> Result<(), PrivacyError> {
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(PrivacyError::NotADirectory(dir.to_path_buf())),
        Ok(m) => {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                return Ok(());
            }
            // Ours (empty, or already holding the store): made private.
            // Anyone else's (a home or /tmp): refused, not changed.
            let ours = dir.join(DB_FILE).is_file()
                || fs::read_dir(dir).map_err(io_err(dir))?.next().is_none();
            if !ours {
                return Err(PrivacyError::InsecureDir {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir)),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Opens a file for writing with mode 0600 (also when it already existed).
fn private_file(path: &Path, truncate: bool) -> Result<File, PrivacyError> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err(path))?;
    Ok(f)
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, PrivacyError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), PrivacyError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn anchor(conn: &Connection) -> Result<(i64, String), PrivacyError> {
    let seq = get_meta(conn, "audit_anchor_seq")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let hash = get_meta(conn, "audit_anchor")?.unwrap_or_else(|| GENESIS.to_string());
    Ok((seq, hash))
}

/// Appends an entry to the chain (inside the caller's transaction).
fn append_audit(
    conn: &Connection,
    t_ms: i64,
    action: Action,
    actor: Actor,
    kind: Option<Kind>,
    detail: &Value,
) -> Result<i64, PrivacyError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_seq, prev) = match last {
        Some(l) => l,
        None => anchor(conn)?,
    };
    let seq = prev_seq + 1;
    let detail = detail.to_string();
    let kind = kind.map(Kind::name);
    let hash = audit::entry_hash(
        seq,
        t_ms,
        action.as_str(),
        actor.as_str(),
        kind,
        &detail,
        &prev,
    );
    conn.execute(
        "INSERT INTO audit(seq, t_ms, action, actor, kind, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, t_ms, action.as_str(), actor.as_str(), kind, detail, prev, hash],
    )?;
    Ok(seq)
}

/// Removes audit entries up to `upto_seq`, keeping the chain's anchor.
fn prune_audit(conn: &Connection, upto_seq: i64) -> Result<u64, PrivacyError> {
    let hash: Option<String> = conn
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [upto_seq], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(hash) = hash else { return Ok(0) };
    set_meta(conn, "audit_pruning", "1")?;
    let n = conn.execute("DELETE FROM audit WHERE seq <= ?1", [upto_seq])?;
    set_meta(conn, "audit_pruning", "0")?;
    set_meta(conn, "audit_anchor_seq", &upto_seq.to_string())?;
    set_meta(conn, "audit_anchor", &hash)?;
    Ok(n as u64)
}

/// Removes the audit entries older than `before_ms` (keeping the chain's
/// anchor); returns the last removed `seq` and how many went.
fn prune_audit_before(
    conn: &Connection,
    before_ms: i64,
) -> Result<Option<(i64, u64)>, PrivacyError> {
    let upto: Option<i64> = conn
        .query_row(
            "SELECT MAX(seq) FROM audit WHERE t_ms < ?1",
            [before_ms],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    match upto {
        Some(upto) => Ok(Some((upto, prune_audit(conn, upto)?))),
        None => Ok(None),
    }
}

fn row_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        seq: r.get(0)?,
        t_ms: r.get(1)?,
        action: r.get(2)?,
        actor: r.get(3)?,
        kind: r.get(4)?,
        detail: r.get(5)?,
        prev: r.get(6)?,
        hash: r.get(7)?,
    })
}

fn counts_json(c: &Counts) -> Value {
    json!(c)
}

impl Store {
    /// Opens (creating if needed) the store in `dir` with the retention rules
    /// of the config. If the rules differ from the ones last in force, the
    /// change is audited. Expired data is swept before this returns.
    pub fn open(
        dir: &Path,
        rules: RetentionRules,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, PrivacyError> {
        let mut s = Self::open_inner(dir, rules, clock)?;
        s.note_rules()?;
        s.opening_sweep = s.sweep()?;
        Ok(s)
    }

    /// Opens an existing store with the rules last in force there (for the
    /// CLI and the viewer, which must not change them). `None` if nothing
    /// has been stored in `dir` yet.
    pub fn open_existing(dir: &Path, clock: Arc<dyn Clock>) -> Result<Option<Store>, PrivacyError> {
        if !dir.join(DB_FILE).is_file() {
            return Ok(None);
        }
        let mut s = Self::open_inner(dir, RetentionRules::default(), clock)?;
        if let Some(saved) = get_meta(&s.conn, "retention")? {
            s.rules = parse_summary(&saved)?;
        }
        s.opening_sweep = s.sweep()?;
        Ok(Some(s))
    }

    /// What the sweep run when the store was opened deleted, by kind.
    pub fn opening_sweep(&self) -> &Counts {
        &self.opening_sweep
    }

    fn open_inner(
        dir: &Path,
        rules: RetentionRules,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, PrivacyError> {
        let db = dir.join(DB_FILE);
        Self::open_db(dir, rules, clock).map_err(|e| match e {
            PrivacyError::Sqlite(err)
                if matches!(
                    err.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
                ) =>
            {
                PrivacyError::CorruptFile {
                    path: db,
                    detail: err.to_string(),
                }
            }
            other => other,
        })
    }

    fn open_db(
        dir: &Path,
        rules: RetentionRules,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, PrivacyError> {
        private_dir(dir)?;
        private_dir(&dir.join(CLIPS_DIR))?;
        let db = dir.join(DB_FILE);
        // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm
        // files the database file's mode.
        drop(private_file(&db, false)?);
        let conn = Connection::open(&db)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(PrivacyError::Corrupt(format!(
                "cannot use WAL journaling (got {mode})"
            )));
        }
        conn.execute_batch(
            "PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(PrivacyError::Corrupt(format!(
                "{} was written by a newer heyplayer (schema {version}; this one reads {SCHEMA_VERSION})",
                db.display()
            )));
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            clock,
            rules,
            session: Vec::new(),
            next_session_id: -1,
            opening_sweep: Counts::new(),
        })
    }

    /// Audits a change of the retention rules (and the first run).
    fn note_rules(&mut self) -> Result<(), PrivacyError> {
        let summary = self.rules.summary();
        self.note_change("retention", "retention", &summary)
    }

    /// Audits a change of the rest of the configuration, given as a digest
    /// (the daemon passes the sha256 of the settings in force). The first
    /// digest is recorded too.
    pub fn note_config(&mut self, digest: &str) -> Result<(), PrivacyError> {
        self.note_change("config_digest", "settings_sha256", digest)
    }

    /// Keeps `value` under `meta_key`; if it differs from the one kept there,
    /// audits the change as `{detail_key: {from, to}}`.
    fn note_change(
        &mut self,
        meta_key: &str,
        detail_key: &str,
        value: &str,
    ) -> Result<(), PrivacyError> {
        let now = self.clock.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = get_meta(&tx, meta_key)?;
        if old.as_deref() != Some(value) {
            set_meta(&tx, meta_key, value)?;
            let mut detail = serde_json::Map::new();
            detail.insert(detail_key.to_string(), json!({"from": old, "to": value}));
            append_audit(
                &tx,
                now,
                Action::Config,
                Actor::Heyplayer,
                None,
                &Value::Object(detail),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The rules in force.
    pub fn rules(&self) -> RetentionRules {
        self.rules
    }

    /// Keeps what the rules allow of one wake event, and audits it.
    pub fn record_capture(&mut self, c: NewCapture) -> Result<Receipt, PrivacyError> {
        let now = self.clock.now_ms();
        let offered: Vec<(Kind, Value)> = [
            (Kind::Transcript, c.transcript.map(Value::String)),
            (Kind::Command, c.command),
            (Kind::Context, c.context),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let mut kinds = Vec::new();
        let mut disk = Vec::new();
        let mut memory = Vec::new();
        for (k, v) in offered {
            let rule = self.rules.get(k);
            kinds.push(KeptKind {
                kind: k.name().to_string(),
                rule: rule.to_string(),
                expires_ms: rule.expires_at(now),
            });
            match rule {
                Keep::For(_) => disk.push((k, v, rule.expires_at(now).unwrap_or(i64::MAX))),
                Keep::Session => memory.push((k, v)),
                Keep::Never => {}
            }
        }
        let audio_rule = self.rules.raw_audio;
        let audio = match (&c.audio, audio_rule) {
            (Some(clip), Keep::For(_)) => {
                Some((clip, audio_rule.expires_at(now).unwrap_or(i64::MAX)))
            }
            _ => None,
        };
        if c.audio.is_some() {
            kinds.push(KeptKind {
                kind: Kind::RawAudio.name().to_string(),
                rule: audio_rule.to_string(),
                expires_ms: audio.as_ref().map(|a| a.1),
            });
        }
        let on_disk = !disk.is_empty() || audio.is_some();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut id = None;
        let mut clip_path = None;
        if on_disk {
            tx.execute(
                "INSERT INTO captures(at_ms, wake_score, verified, phrase) VALUES (?1, ?2, ?3, ?4)",
                params![now, f64::from(c.wake_score), c.verified, c.phrase],
            )?;
            let cid = tx.last_insert_rowid();
            id = Some(cid);
            for (k, v, exp) in &disk {
                tx.execute(
                    "INSERT INTO items(capture_id, kind, body, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![cid, k.name(), v.to_string(), now, exp],
                )?;
            }
            if let Some((clip, exp)) = audio {
                let rel = format!("{CLIPS_DIR}/{cid}.wav");
                let path = self.dir.join(&rel);
                if let Err(e) = write_wav(&path, clip) {
                    // Nothing half-written stays (a full disk, say).
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
                clip_path = Some(path);
                let body = json!({
                    "file": rel,
                    "seconds": clip.samples.len() as f64 / f64::from(clip.sample_rate.max(1)),
                    "sample_rate": clip.sample_rate,
                });
                tx.execute(
                    "INSERT INTO items(capture_id, kind, body, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![cid, Kind::RawAudio.name(), body.to_string(), now, exp],
                )?;
            }
        } else if !memory.is_empty() {
            id = Some(self.next_session_id);
        }
        let detail = json!({
            "record": id,
            "wake_score": (f64::from(c.wake_score) * 1000.0).round() / 1000.0,
            "verified": c.verified,
            "kept": kinds.iter().map(|k| json!({"kind": k.kind, "rule": k.rule, "until": k.expires_ms.map(fmt_utc)})).collect::<Vec<_>>(),
        });
        let committed = append_audit(&tx, now, Action::Capture, Actor::Heyplayer, None, &detail)
            .and_then(|_| Ok(tx.commit()?));
        if let Err(e) = committed {
            if let Some(p) = clip_path {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
        if let Some(rid) = id {
            if !memory.is_empty() {
                self.session_attach(rid, now, &c.phrase, c.wake_score, c.verified, memory);
            }
        }
        Ok(Receipt { id, kinds })
    }

    fn session_attach(
        &mut self,
        id: i64,
        now: i64,
        phrase: &str,
        score: f32,
        verified: bool,
        items: Vec<(Kind, Value)>,
    ) {
        if id < 0 {
            self.next_session_id -= 1;
        }
        let mut record = Record {
            id,
            at_ms: now,
            at: fmt_utc(now),
            wake_score: f64::from(score),
            verified,
            phrase: phrase.to_string(),
            items: BTreeMap::new(),
        };
        for (k, v) in items {
            record.items.insert(
                k.name().to_string(),
                Item {
                    value: v,
                    expires_ms: None,
                },
            );
        }
        self.session.push(SessionRecord { record });
    }

    /// Adds the outcome of executing a record's command.
    pub fn set_outcome(&mut self, id: i64, outcome: Value) -> Result<(), PrivacyError> {
        for s in self.session.iter_mut().filter(|s| s.record.id == id) {
            if let Some(Item {
                value: Value::Object(m),
                ..
            }) = s.record.items.get_mut(Kind::Command.name())
            {
                m.insert("outcome".into(), outcome.clone());
            }
        }
        if id < 0 {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let body: Option<String> = tx
            .query_row(
                "SELECT body FROM items WHERE capture_id = ?1 AND kind = 'command'",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(body) = body {
            let mut v: Value = serde_json::from_str(&body)?;
            if let Value::Object(m) = &mut v {
                m.insert("outcome".into(), outcome);
            } else {
                v = json!({"command": v, "outcome": outcome});
            }
            tx.execute(
                "UPDATE items SET body = ?1 WHERE capture_id = ?2 AND kind = 'command'",
                params![v.to_string(), id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records, newest first: those on disk and those held in memory.
    pub fn records(&self, limit: usize) -> Result<Vec<Record>, PrivacyError> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.at_ms, c.wake_score, c.verified, c.phrase, i.kind, i.body, i.expires_ms
             FROM captures c LEFT JOIN items i ON i.capture_id = c.id
             ORDER BY c.at_ms DESC, c.id DESC",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if out.last().is_none_or(|l: &Record| l.id != id) {
                if out.len() == limit && limit > 0 {
                    break;
                }
                let at_ms: i64 = r.get(1)?;
                out.push(Record {
                    id,
                    at_ms,
                    at: fmt_utc(at_ms),
                    wake_score: r.get(2)?,
                    verified: r.get(3)?,
                    phrase: r.get(4)?,
                    items: BTreeMap::new(),
                });
            }
            let kind: Option<String> = r.get(5)?;
            if let (Some(kind), Some(last)) = (kind, out.last_mut()) {
                let body: String = r.get(6)?;
                last.items.insert(
                    kind,
                    Item {
                        value: serde_json::from_str(&body)?,
                        expires_ms: Some(r.get(7)?),
                    },
                );
            }
        }
        for s in &self.session {
            match out.iter_mut().find(|r| r.id == s.record.id) {
                Some(r) => r.items.extend(s.record.items.clone()),
                None if s.record.id < 0 => out.push(s.record.clone()),
                None => {}
            }
        }
        out.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.id.cmp(&a.id)));
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
    }

    /// Deletes one record and everything kept of it. Returns false if there
    /// is no such record.
    pub fn delete_record(&mut self, id: i64, actor: Actor) -> Result<bool, PrivacyError> {
        let now = self.clock.now_ms();
        let mut kinds: Counts = BTreeMap::new();
        let before = self.session.len();
        for s in self.session.iter().filter(|s| s.record.id == id) {
            for k in s.record.items.keys() {
                *kinds.entry(kind_static(k)).or_default() += 1;
            }
        }
        self.session.retain(|s| s.record.id != id);
        let in_memory = self.session.len() != before;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let items: Vec<(String, String)> = {
            let mut st = tx.prepare("SELECT kind, body FROM items WHERE capture_id = ?1")?;
            let v = st
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            v
        };
        let n = tx.execute("DELETE FROM captures WHERE id = ?1", [id])?;
        if n == 0 && !in_memory {
            return Ok(false);
        }
        let mut files = Vec::new();
        for (k, body) in &items {
            *kinds.entry(kind_static(k)).or_default() += 1;
            if k == Kind::RawAudio.name() {
                files.extend(clip_file(&self.dir, body));
            }
        }
        append_audit(
            &tx,
            now,
            Action::Delete,
            actor,
            None,
            &json!({"records": [id], "deleted": counts_json(&kinds)}),
        )?;
        tx.commit()?;
        self.after_delete(&files)?;
        Ok(true)
    }

    /// Unlinks clip files and flushes deleted pages out of the WAL.
    fn after_delete(&self, files: &[PathBuf]) -> Result<(), PrivacyError> {
        for f in files {
            match fs::remove_file(f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(f)(e)),
            }
        }
        // secure_delete zeroes freed pages in the database; the WAL still
        // holds the old page images until a checkpoint copies and truncates it.
        let _: (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(())
    }

    /// Deletes in bulk, audited with `actor` ([`Actor::Purge`] from the
    /// purge command). Returns the counts by kind.
    pub fn purge(&mut self, f: PurgeFilter, actor: Actor) -> Result<Counts, PrivacyError> {
        let now = self.clock.now_ms();
        let before = if f.all {
            i64::MAX
        } else {
            f.before_ms.unwrap_or(i64::MAX)
        };
        let mut counts: Counts = BTreeMap::new();
        let data_kinds: Vec<Kind> = match f.kind {
            _ if f.all => Kind::ALL
                .iter()
                .copied()
                .filter(|k| *k != Kind::Audit)
                .collect(),
            Some(Kind::Audit) => Vec::new(),
            Some(k) => vec![k],
            None => Kind::ALL
                .iter()
                .copied()
                .filter(|k| *k != Kind::Audit)
                .collect(),
        };
        // Memory first.
        for s in &mut self.session {
            if s.record.at_ms >= before {
                continue;
            }
            for k in &data_kinds {
                if s.record.items.remove(k.name()).is_some() {
                    *counts.entry(k.name()).or_default() += 1;
                }
            }
        }
        self.session.retain(|s| !s.record.items.is_empty());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut files = Vec::new();
        for k in &data_kinds {
            if *k == Kind::RawAudio {
                let mut st = tx.prepare(
                    "SELECT body FROM items WHERE kind = 'raw_audio' AND created_ms < ?1",
                )?;
                let bodies: Vec<String> = st
                    .query_map([before], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                files.extend(bodies.iter().filter_map(|b| clip_file(&self.dir, b)));
            }
            let n = tx.execute(
                "DELETE FROM items WHERE kind = ?1 AND created_ms < ?2",
                params![k.name(), before],
            )?;
            if n > 0 {
                *counts.entry(k.name()).or_default() += n as u64;
            }
        }
        let records = tx.execute(
            "DELETE FROM captures WHERE id NOT IN (SELECT capture_id FROM items)",
            [],
        )?;
        if f.all || f.kind == Some(Kind::Audit) {
            if let Some((_, n)) = prune_audit_before(&tx, before)? {
                *counts.entry(Kind::Audit.name()).or_default() += n;
            }
        }
        let detail = json!({
            "all": f.all,
            "kind": f.kind.map(Kind::name),
            "before": (before != i64::MAX).then(|| fmt_utc(before)),
            "records": records,
            "deleted": counts_json(&counts),
        });
        append_audit(&tx, now, Action::Delete, actor, f.kind, &detail)?;
        tx.commit()?;
        self.after_delete(&files)?;
        Ok(counts)
    }

    /// Deletes everything past its expiry (items, records left empty, clip
    /// files, audit entries), and clip files no record refers to. Each kind
    /// deleted gets an audit entry by the sweeper. Returns the counts.
    pub fn sweep(&mut self) -> Result<Counts, PrivacyError> {
        let now = self.clock.now_ms();
        let mut counts: Counts = BTreeMap::new();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let expired: Vec<(i64, String, String)> = {
            let mut st =
                tx.prepare("SELECT capture_id, kind, body FROM items WHERE expires_ms <= ?1")?;
            let v = st
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            v
        };
        let mut files = Vec::new();
        let mut ids: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
        for (cid, kind, body) in &expired {
            let k = kind_static(kind);
            *counts.entry(k).or_default() += 1;
            ids.entry(k).or_default().push(*cid);
            if k == Kind::RawAudio.name() {
                files.extend(clip_file(&self.dir, body));
            }
        }
        tx.execute("DELETE FROM items WHERE expires_ms <= ?1", [now])?;
        let records = tx.execute(
            "DELETE FROM captures WHERE id NOT IN (SELECT capture_id FROM items)",
            [],
        )?;
        for (k, v) in &ids {
            let kind = Kind::from_name(k);
            append_audit(
                &tx,
                now,
                Action::Delete,
                Actor::Sweeper,
                kind,
                &json!({"records": v, "count": v.len(), "reason": "expired"}),
            )?;
        }
        if let Keep::For(d) = self.rules.audit {
            let cutoff = now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            if let Some((upto, n)) = prune_audit_before(&tx, cutoff.saturating_add(1))? {
                counts.insert(Kind::Audit.name(), n);
                append_audit(
                    &tx,
                    now,
                    Action::Prune,
                    Actor::Sweeper,
                    Some(Kind::Audit),
                    &json!({"count": n, "through_seq": upto, "reason": "expired"}),
                )?;
            }
        }
        let _ = records;
        tx.commit()?;
        // Clip files no item refers to (left by a crash between the commit and
        // the unlink): deleted too, and counted.
        let referenced: Vec<PathBuf> = {
            let mut st = self
                .conn
                .prepare("SELECT body FROM items WHERE kind = 'raw_audio'")?;
            let v: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            v.iter().filter_map(|b| clip_file(&self.dir, b)).collect()
        };
        let clips = self.dir.join(CLIPS_DIR);
        if let Ok(rd) = fs::read_dir(&clips) {
            for e in rd.flatten() {
                let p = e.path();
                if !files.contains(&p) && !referenced.contains(&p) {
                    files.push(p);
                    *counts.entry("orphan_clip").or_default() += 1;
                }
            }
        }
        if !counts.is_empty() {
            self.after_delete(&files)?;
        }
        Ok(counts)
    }

    /// The next time something expires, if anything will.
    pub fn next_expiry_ms(&self) -> Result<Option<i64>, PrivacyError> {
        let item: Option<i64> =
            self.conn
                .query_row("SELECT MIN(expires_ms) FROM items", [], |r| r.get(0))?;
        let audit: Option<i64> = match self.rules.audit {
            Keep::For(d) => self
                .conn
                .query_row("SELECT MIN(t_ms) FROM audit", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })?
                .map(|t| t + i64::try_from(d.as_millis()).unwrap_or(i64::MAX - t)),
            _ => None,
        };
        Ok(match (item, audit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Records that listening started (shown by `heyplayer status`), audited.
    pub fn listening_started(
        &mut self,
        input: &str,
        models: Vec<ModelInUse>,
    ) -> Result<(), PrivacyError> {
        let now = self.clock.now_ms();
        let l = Listening {
            pid: std::process::id(),
            since_ms: now,
            input: input.to_string(),
            models,
        };
        let v = serde_json::to_value(&l)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_meta(&tx, "listening", &v.to_string())?;
        append_audit(&tx, now, Action::ListenStart, Actor::Heyplayer, None, &v)?;
        tx.commit()?;
        Ok(())
    }

    /// Notes what the listener is doing now (`idle`, `listening`, `awake`,
    /// `processing`) for [`Store::status`]. Not audited: it is no data about
    /// the user, and it is removed when listening stops.
    pub fn set_state(&mut self, state: &str) -> Result<(), PrivacyError> {
        let v = json!({"state": state, "since_ms": self.clock.now_ms()});
        set_meta(&self.conn, "state", &v.to_string())
    }

    /// Records that listening stopped, and why, audited.
    pub fn listening_stopped(&mut self, reason: &str) -> Result<(), PrivacyError> {
        let now = self.clock.now_ms();
        let v =
            json!({"pid": std::process::id(), "at_ms": now, "at": fmt_utc(now), "reason": reason});
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM meta WHERE key IN ('listening', 'state')", [])?;
        set_meta(&tx, "last_stop", &v.to_string())?;
        append_audit(&tx, now, Action::ListenStop, Actor::Heyplayer, None, &v)?;
        tx.commit()?;
        Ok(())
    }

    /// Audits one client session of the Wyoming server: `detail` says who
    /// (peer), when (start, stop), what was asked and what was kept. The
    /// caller never puts content (words, audio) in it.
    pub fn session_ended(&mut self, detail: &Value) -> Result<(), PrivacyError> {
        let now = self.clock.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        append_audit(&tx, now, Action::Session, Actor::Heyplayer, None, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Everything `heyplayer status` shows.
    pub fn status(&self) -> Result<Status, PrivacyError> {
        let listening = match get_meta(&self.conn, "listening")? {
            Some(s) => {
                let l: Listening = serde_json::from_str(&s)?;
                let alive = Path::new(&format!("/proc/{}", l.pid)).exists();
                Some((l, alive))
            }
            None => None,
        };
        let state = match &listening {
            Some((_, true)) => get_meta(&self.conn, "state")?
                .map(|s| serde_json::from_str(&s))
                .transpose()?,
            _ => None,
        };
        let last_stop = get_meta(&self.conn, "last_stop")?
            .map(|s| serde_json::from_str(&s))
            .transpose()?;
        let mut counts = BTreeMap::new();
        for k in Kind::ALL {
            let n: i64 = if k == Kind::Audit {
                self.conn
                    .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?
            } else {
                self.conn.query_row(
                    "SELECT COUNT(*) FROM items WHERE kind = ?1",
                    [k.name()],
                    |r| r.get(0),
                )?
            };
            counts.insert(k.name(), n as u64);
        }
        let records: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))?;
        let clip_bytes = fs::read_dir(self.dir.join(CLIPS_DIR))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        Ok(Status {
            data_dir: self.dir.clone(),
            database: self.dir.join(DB_FILE),
            listening,
            state,
            last_stop,
            retention: Kind::ALL
                .iter()
                .map(|k| (k.name(), self.rules.get(*k).to_string()))
                .collect(),
            records: records as u64,
            counts,
            clip_bytes,
            next_expiry_ms: self.next_expiry_ms()?,
        })
    }

    /// Audit entries matching `q`, newest first, and how many match in all.
    pub fn audit_entries(&self, q: &AuditQuery) -> Result<(Vec<Entry>, u64), PrivacyError> {
        let mut sql = String::from(" FROM audit WHERE t_ms >= ?1 AND t_ms < ?2");
        if q.action.is_some() {
            sql.push_str(" AND action = ?3");
        } else {
            sql.push_str(" AND ?3 IS NULL");
        }
        if q.kind.is_some() {
            sql.push_str(" AND (kind = ?4 OR detail LIKE '%\"' || ?4 || '\"%')");
        } else {
            sql.push_str(" AND ?4 IS NULL");
        }
        let args = params![
            q.since_ms.unwrap_or(i64::MIN),
            q.until_ms.unwrap_or(i64::MAX),
            q.action.map(Action::as_str),
            q.kind.map(Kind::name),
        ];
        let total: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*){sql}"), args, |r| r.get(0))?;
        let limit = if q.limit == 0 {
            -1
        } else {
            i64::try_from(q.limit).unwrap_or(i64::MAX)
        };
        let mut st = self.conn.prepare(&format!(
            "SELECT seq, t_ms, action, actor, kind, detail, prev, hash{sql} ORDER BY seq DESC LIMIT {limit} OFFSET {}",
            q.offset
        ))?;
        let v = st
            .query_map(args, row_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((v, total as u64))
    }

    /// Checks the whole audit chain.
    pub fn verify_audit(&self) -> Result<Verification, PrivacyError> {
        let (seq, hash) = anchor(&self.conn)?;
        let mut st = self.conn.prepare(
            "SELECT seq, t_ms, action, actor, kind, detail, prev, hash FROM audit ORDER BY seq",
        )?;
        let v = st
            .query_map([], row_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(audit::verify(&hash, seq, v))
    }

    /// Writes everything stored (records, the audit log, the rules and the
    /// status) to `out` as JSON, mode 0600, and audits the export.
    pub fn export(&mut self, out: &Path) -> Result<u64, PrivacyError> {
        let now = self.clock.now_ms();
        let records = self.records(0)?;
        let (audit, _) = self.audit_entries(&AuditQuery::default())?;
        let doc = json!({
            "schema": 1,
            "exported_at": fmt_utc(now),
            "status": self.status()?,
            "records": records,
            "audit": audit,
        });
        let f = private_file(out, true)?;
        let mut w = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut w, &doc)?;
        w.write_all(b"\n").map_err(io_err(out))?;
        w.flush().map_err(io_err(out))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        append_audit(
            &tx,
            now,
            Action::Export,
            Actor::User,
            None,
            &json!({"file": out.display().to_string(), "records": records.len()}),
        )?;
        tx.commit()?;
        Ok(records.len() as u64)
    }
}

/// The stored name of a kind (or the name itself for unknown ones).
fn kind_static(name: &str) -> &'static str {
    Kind::from_name(name).map_or("other", Kind::name)
}

/// The clip file a raw_audio item points to, if it lies in the clips folder.
fn clip_file(dir: &Path, body: &str) -> Option<PathBuf> {
    let v: Value = serde_json::from_str(body).ok()?;
    let rel = v.get("file")?.as_str()?;
    let name = rel.strip_prefix(&format!("{CLIPS_DIR}/"))?;
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    Some(dir.join(CLIPS_DIR).join(name))
}

fn write_wav(path: &Path, clip: &Clip) -> Result<(), PrivacyError> {
    let f = private_file(path, true)?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: clip.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(BufWriter::new(f), spec)?;
    for s in &clip.samples {
        // Saturating float-to-int conversion.
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()?;
    Ok(())
}

/// Reads the `raw_audio=never transcript=1d …` line kept in `meta`.
fn parse_summary(s: &str) -> Result<RetentionRules, PrivacyError> {
    let mut raw = RawRetention::default();
    for part in s.split_whitespace() {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| PrivacyError::Corrupt(format!("retention rules in the store: {s:?}")))?;
        let v = Some(v.to_string());
        match k {
            "raw_audio" => raw.raw_audio = v,
            "transcript" => raw.transcript = v,
            "command" => raw.command = v,
            "context" => raw.context = v,
            "audit" => raw.audit = v,
            _ => {
                return Err(PrivacyError::Corrupt(format!(
                    "retention rules in the store: {s:?}"
                )))
            }
        }
    }
    Ok(raw.validate()?)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
