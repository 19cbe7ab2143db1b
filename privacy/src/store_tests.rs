//! Store tests, all with an injected clock: no sleeps.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::retention::RawRetention;

const T0: i64 = 1_795_820_704_000; // 2026-11-27T23:05:04Z
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const SECRET: &str = "play the secret zebra playlist";

fn rules(raw: RawRetention) -> RetentionRules {
    raw.validate().unwrap()
}

fn open(dir: &Path, r: RetentionRules) -> (Store, ManualClock) {
    let clock = ManualClock::new(T0);
    let s = Store::open(dir, r, Arc::new(clock.clone())).unwrap();
    (s, clock)
}

fn capture(with_audio: bool) -> NewCapture {
    NewCapture {
        wake_score: 0.91,
        verified: true,
        phrase: "hey player".into(),
        transcript: Some(SECRET.into()),
        command: Some(json!({"command": {"action": "play", "query": "secret zebra"}})),
        context: Some(json!({"physical": {"label": "indoor_quiet", "confidence": 0.8}})),
        audio: with_audio.then(|| Clip {
            sample_rate: 16_000,
            samples: vec![0.25; 16_000],
        }),
    }
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every byte of the store's files, to look for content that must be gone.
fn disk_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for name in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
    ] {
        if let Ok(b) = fs::read(dir.join(name)) {
            out.extend(b);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn actions(s: &Store) -> Vec<(String, String, Option<String>)> {
    let (mut e, _) = s.audit_entries(&AuditQuery::default()).unwrap();
    e.reverse();
    e.into_iter().map(|e| (e.action, e.actor, e.kind)).collect()
}

#[test]
fn files_are_private_and_a_shared_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (mut s, _) = open(&dir, RetentionRules::default());
    s.record_capture(capture(false)).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(CLIPS_DIR)), 0o700);
    for f in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
    ] {
        assert_eq!(mode(&dir.join(&f)), 0o600, "{f}");
    }
    let shared = tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(shared.join("someone-else.txt"), b"x").unwrap();
    let e = Store::open(
        &shared,
        RetentionRules::default(),
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap_err();
    assert!(
        matches!(e, PrivacyError::InsecureDir { mode: 0o755, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("chmod 700"), "{e}");
    assert_eq!(
        mode(&shared),
        0o755,
        "someone else's directory is left alone"
    );
    // An empty directory (made with mkdir, say) is taken and made private.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::set_permissions(&empty, fs::Permissions::from_mode(0o755)).unwrap();
    drop(open(&empty, RetentionRules::default()));
    assert_eq!(mode(&empty), 0o700);
}

#[test]
fn a_capture_keeps_what_the_rules_allow_and_the_audit_never_holds_content() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _) = open(tmp.path(), RetentionRules::default());
    let r = s.record_capture(capture(true)).unwrap();
    let id = r.id.unwrap();
    assert!(id > 0);
    let rule = |k: &str| r.kinds.iter().find(|x| x.kind == k).unwrap().clone();
    assert_eq!(rule("transcript").expires_ms, Some(T0 + 24 * 3_600_000));
    assert_eq!(rule("command").expires_ms, Some(T0 + 30 * 86_400_000));
    assert_eq!(rule("raw_audio").rule, "never");
    assert_eq!(rule("raw_audio").expires_ms, None);
    // Raw audio is off by default: no clip file.
    assert_eq!(fs::read_dir(tmp.path().join(CLIPS_DIR)).unwrap().count(), 0);
    let recs = s.records(0).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].items["transcript"].value, json!(SECRET));
    assert!(!recs[0].items.contains_key("raw_audio"));
    assert_eq!(
        actions(&s),
        vec![
            ("config".into(), "heyplayer".into(), None),
            ("capture".into(), "heyplayer".into(), None)
        ]
    );
    let (entries, _) = s.audit_entries(&AuditQuery::default()).unwrap();
    for e in entries {
        assert!(
            !e.detail.contains("zebra"),
            "content in the audit log: {}",
            e.detail
        );
    }
}

#[test]
fn the_sweeper_deletes_each_kind_at_its_expiry_and_audits_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, clock) = open(tmp.path(), RetentionRules::default());
    let id = s.record_capture(capture(false)).unwrap().id.unwrap();
    assert_eq!(s.next_expiry_ms().unwrap(), Some(T0 + 24 * 3_600_000));
    clock.advance(24 * HOUR - Duration::from_millis(1));
    assert!(s.sweep().unwrap().is_empty(), "nothing expires early");
    clock.advance(Duration::from_millis(1));
    let c = s.sweep().unwrap();
    assert_eq!(c.get("transcript"), Some(&1));
    let rec = &s.records(0).unwrap()[0];
    assert_eq!(rec.id, id);
    assert!(!rec.items.contains_key("transcript"));
    assert!(rec.items.contains_key("command"));
    assert!(
        !contains(&disk_bytes(tmp.path()), SECRET),
        "the transcript is still in the files"
    );
    assert_eq!(
        actions(&s).last().unwrap(),
        &("delete".into(), "sweeper".into(), Some("transcript".into()))
    );
    clock.advance(29 * DAY);
    let c = s.sweep().unwrap();
    assert_eq!((c.get("command"), c.get("context")), (Some(&1), Some(&1)));
    assert!(
        s.records(0).unwrap().is_empty(),
        "the record goes with its last item"
    );
    assert!(s.verify_audit().unwrap().ok());
}

#[test]
fn opt_in_audio_is_a_private_wav_that_is_unlinked_at_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let r = rules(RawRetention {
        raw_audio: Some("7d".into()),
        ..Default::default()
    });
    let (mut s, clock) = open(tmp.path(), r);
    let id = s.record_capture(capture(true)).unwrap().id.unwrap();
    let wav = tmp.path().join(CLIPS_DIR).join(format!("{id}.wav"));
    assert_eq!(mode(&wav), 0o600);
    let rd = hound::WavReader::open(&wav).unwrap();
    assert_eq!((rd.spec().sample_rate, rd.len()), (16_000, 16_000));
    assert_eq!(s.status().unwrap().counts["raw_audio"], 1);
    clock.advance(7 * DAY);
    assert_eq!(s.sweep().unwrap().get("raw_audio"), Some(&1));
    assert!(!wav.exists());
}

#[test]
fn deleting_a_record_removes_its_rows_file_and_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let r = rules(RawRetention {
        raw_audio: Some("1d".into()),
        ..Default::default()
    });
    let (mut s, _) = open(tmp.path(), r);
    let keep = s
        .record_capture(NewCapture {
            transcript: Some("keep me".into()),
            ..capture(false)
        })
        .unwrap()
        .id
        .unwrap();
    let id = s.record_capture(capture(true)).unwrap().id.unwrap();
    assert!(contains(&disk_bytes(tmp.path()), SECRET));
    assert!(s.delete_record(id, Actor::User).unwrap());
    assert!(
        !s.delete_record(id, Actor::User).unwrap(),
        "second delete finds nothing"
    );
    let recs = s.records(0).unwrap();
    assert_eq!(recs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![keep]);
    assert!(!tmp
        .path()
        .join(CLIPS_DIR)
        .join(format!("{id}.wav"))
        .exists());
    assert!(
        !contains(&disk_bytes(tmp.path()), SECRET),
        "deleted text is still in the files"
    );
    let (e, _) = s
        .audit_entries(&AuditQuery {
            action: Some(Action::Delete),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].actor, "user");
    assert!(
        e[0].detail.contains("\"transcript\":1") && e[0].detail.contains("\"raw_audio\":1"),
        "{}",
        e[0].detail
    );
}

#[test]
fn purge_by_kind_by_time_and_all() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, clock) = open(tmp.path(), RetentionRules::default());
    s.record_capture(capture(false)).unwrap();
    clock.advance(HOUR);
    let cut = clock.now_ms();
    s.record_capture(capture(false)).unwrap();
    let c = s
        .purge(
            PurgeFilter {
                kind: Some(Kind::Context),
                before_ms: Some(cut),
                all: false,
            },
            Actor::Purge,
        )
        .unwrap();
    assert_eq!(c.get("context"), Some(&1));
    let recs = s.records(0).unwrap();
    assert_eq!(
        recs.iter()
            .filter(|r| r.items.contains_key("context"))
            .count(),
        1
    );
    let c = s
        .purge(
            PurgeFilter {
                before_ms: Some(cut),
                ..Default::default()
            },
            Actor::Purge,
        )
        .unwrap();
    assert_eq!(
        (c.get("transcript"), c.get("command")),
        (Some(&1), Some(&1))
    );
    assert_eq!(s.records(0).unwrap().len(), 1);
    let c = s
        .purge(
            PurgeFilter {
                all: true,
                ..Default::default()
            },
            Actor::Purge,
        )
        .unwrap();
    assert!(c["audit"] >= 4, "{c:?}");
    assert!(s.records(0).unwrap().is_empty());
    assert_eq!(
        actions(&s),
        vec![("delete".into(), "purge".into(), None)],
        "one entry records the purge"
    );
    assert!(
        s.verify_audit().unwrap().ok(),
        "the chain holds from its anchor"
    );
    assert!(!contains(&disk_bytes(tmp.path()), SECRET));
}

#[test]
fn session_items_stay_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let r = rules(RawRetention {
        transcript: Some("session".into()),
        command: Some("session".into()),
        context: Some("never".into()),
        ..Default::default()
    });
    let (mut s, _) = open(tmp.path(), r);
    let rc = s.record_capture(capture(false)).unwrap();
    let id = rc.id.unwrap();
    assert!(id < 0, "a memory-only record has a negative id");
    let recs = s.records(0).unwrap();
    assert_eq!(recs[0].items["transcript"].expires_ms, None);
    assert!(!recs[0].items.contains_key("context"));
    assert!(!contains(&disk_bytes(tmp.path()), SECRET));
    assert!(!contains(&disk_bytes(tmp.path()), "secret zebra"));
    let other = Store::open_existing(tmp.path(), Arc::new(ManualClock::new(T0)))
        .unwrap()
        .unwrap();
    assert!(
        other.records(0).unwrap().is_empty(),
        "another process sees nothing"
    );
    assert!(s.delete_record(id, Actor::User).unwrap());
    assert!(s.records(0).unwrap().is_empty());
    // Mixed: transcript in memory, context on disk, one record.
    let r = rules(RawRetention {
        transcript: Some("session".into()),
        ..Default::default()
    });
    let tmp2 = tempfile::tempdir().unwrap();
    let (mut s, _) = open(tmp2.path(), r);
    let id = s.record_capture(capture(false)).unwrap().id.unwrap();
    assert!(id > 0);
    let recs = s.records(0).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].items.len(), 3);
    assert!(!contains(&disk_bytes(tmp2.path()), SECRET));
}

#[test]
fn the_audit_log_is_append_only_and_tampering_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _) = open(tmp.path(), RetentionRules::default());
    for _ in 0..4 {
        s.record_capture(capture(false)).unwrap();
    }
    let raw = Connection::open(tmp.path().join(DB_FILE)).unwrap();
    assert!(raw
        .execute("UPDATE audit SET detail = '{}' WHERE seq = 3", [])
        .is_err());
    assert!(raw.execute("DELETE FROM audit WHERE seq = 3", []).is_err());
    assert!(s.verify_audit().unwrap().ok());
    raw.execute_batch("DROP TRIGGER audit_append_only; UPDATE audit SET detail = '{\"record\":null}' WHERE seq = 3;")
        .unwrap();
    let v = s.verify_audit().unwrap();
    assert_eq!(v.first_broken.unwrap().seq, 3);
}

#[test]
fn old_audit_entries_expire_and_the_rest_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, clock) = open(tmp.path(), RetentionRules::default());
    s.listening_started("test.wav", vec![]).unwrap();
    clock.advance(200 * DAY);
    s.listening_stopped("end of input").unwrap();
    clock.advance(166 * DAY);
    let c = s.sweep().unwrap();
    assert_eq!(
        c.get("audit"),
        Some(&2),
        "config + listen_start are a year old"
    );
    let a = actions(&s);
    assert_eq!(a[0].0, "listen_stop");
    assert_eq!(a.last().unwrap().0, "prune");
    assert!(s.verify_audit().unwrap().ok());
}

#[test]
fn rule_changes_are_audited_and_the_cli_uses_the_rules_in_force() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open(tmp.path(), RetentionRules::default()));
    let short = rules(RawRetention {
        transcript: Some("1h".into()),
        ..Default::default()
    });
    let (mut s, clock) = open(tmp.path(), short);
    let (e, _) = s
        .audit_entries(&AuditQuery {
            action: Some(Action::Config),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(e.len(), 2);
    assert!(
        e[0].detail.contains("transcript=1d") && e[0].detail.contains("transcript=1h"),
        "{}",
        e[0].detail
    );
    s.record_capture(capture(false)).unwrap();
    drop(s);
    clock.advance(HOUR);
    let cli = Store::open_existing(tmp.path(), Arc::new(clock.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(cli.rules().transcript, Keep::For(HOUR));
    assert!(
        !cli.records(0).unwrap()[0].items.contains_key("transcript"),
        "swept at start-up"
    );
    assert!(
        Store::open_existing(&tmp.path().join("nothing"), Arc::new(clock))
            .unwrap()
            .is_none()
    );
}

#[test]
fn status_reports_listening_counts_and_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, clock) = open(tmp.path(), RetentionRules::default());
    let m = ModelInUse {
        name: "hey_player".into(),
        file: "/m/hey_player.onnx".into(),
        sha256: "ab".into(),
    };
    s.listening_started("default microphone", vec![m]).unwrap();
    s.record_capture(capture(false)).unwrap();
    let st = s.status().unwrap();
    let (l, alive) = st.listening.clone().unwrap();
    assert!(alive, "this process is alive");
    assert_eq!(
        (l.input.as_str(), l.since_ms, l.models.len()),
        ("default microphone", T0, 1)
    );
    assert_eq!(st.records, 1);
    assert_eq!(st.counts["transcript"], 1);
    assert_eq!(st.counts["audit"], 3);
    assert_eq!(st.retention["raw_audio"], "never");
    assert_eq!(st.next_expiry_ms, Some(T0 + 24 * 3_600_000));
    clock.advance(HOUR);
    s.listening_stopped("shutdown").unwrap();
    let st = s.status().unwrap();
    assert!(st.listening.is_none());
    assert_eq!(st.last_stop.unwrap()["reason"], "shutdown");
}

#[test]
fn outcome_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _) = open(tmp.path(), RetentionRules::default());
    let id = s.record_capture(capture(false)).unwrap().id.unwrap();
    s.set_outcome(id, json!({"ok": true, "player": "mpv"}))
        .unwrap();
    assert_eq!(
        s.records(0).unwrap()[0].items["command"].value["outcome"]["player"],
        "mpv"
    );
    let out = tmp.path().join("export.json");
    assert_eq!(s.export(&out).unwrap(), 1);
    assert_eq!(mode(&out), 0o600);
    let doc: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["records"][0]["items"]["transcript"]["value"], SECRET);
    assert!(doc["audit"].as_array().unwrap().len() >= 2);
    assert_eq!(actions(&s).last().unwrap().0, "export");
}

#[test]
fn orphan_clips_are_swept_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open(tmp.path(), RetentionRules::default()));
    let stray = tmp.path().join(CLIPS_DIR).join("99.wav");
    fs::write(&stray, b"RIFF").unwrap();
    let (s, _) = open(tmp.path(), RetentionRules::default());
    assert!(!stray.exists());
    drop(s);
}

#[test]
fn a_corrupt_database_is_a_clear_error_with_a_way_out() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open(tmp.path(), RetentionRules::default()));
    let db = tmp.path().join(DB_FILE);
    for f in [format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
        let _ = fs::remove_file(tmp.path().join(f));
    }
    fs::write(&db, vec![0x5a; 8192]).unwrap();
    let e = Store::open(
        tmp.path(),
        RetentionRules::default(),
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap_err();
    assert!(matches!(e, PrivacyError::CorruptFile { .. }), "{e:?}");
    assert!(e.to_string().contains(".broken"), "{e}");
    fs::rename(&db, tmp.path().join("old.broken")).unwrap();
    drop(open(tmp.path(), RetentionRules::default()));
}

#[test]
fn a_failed_clip_write_leaves_no_file_and_no_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let r = rules(RawRetention {
        raw_audio: Some("1d".into()),
        ..Default::default()
    });
    let (mut s, _) = open(tmp.path(), r);
    // A directory where the clip file should go makes the write fail.
    fs::create_dir(tmp.path().join(CLIPS_DIR).join("1.wav")).unwrap();
    assert!(s.record_capture(capture(true)).is_err());
    assert!(
        s.records(0).unwrap().is_empty(),
        "the transaction was rolled back"
    );
    let (log, _) = s.audit_entries(&AuditQuery::default()).unwrap();
    assert!(log.iter().all(|e| e.action != "capture"));
    fs::remove_dir(tmp.path().join(CLIPS_DIR).join("1.wav")).unwrap();
    let id = s.record_capture(capture(true)).unwrap().id.unwrap();
    assert!(tmp
        .path()
        .join(CLIPS_DIR)
        .join(format!("{id}.wav"))
        .is_file());
}

#[test]
fn settings_changes_are_audited_once_each() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _) = open(tmp.path(), RetentionRules::default());
    s.note_config("aaa").unwrap();
    s.note_config("aaa").unwrap();
    s.note_config("bbb").unwrap();
    let (e, _) = s
        .audit_entries(&AuditQuery {
            action: Some(Action::Config),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(e.len(), 3, "the rules once, then two settings digests");
    assert!(
        e[0].detail.contains("\"from\":\"aaa\"") && e[0].detail.contains("\"to\":\"bbb\""),
        "{}",
        e[0].detail
    );
}

#[test]
fn a_wyoming_session_is_audited_in_the_chain_with_its_detail() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, _clock) = open(tmp.path(), RetentionRules::default());
    let detail = serde_json::json!({"peer": "127.0.0.1:5555", "asked": {"transcribe": 1}});
    s.session_ended(&detail).unwrap();
    assert_eq!(actions(&s).last().unwrap().0, "session");
    let (entries, _) = s.audit_entries(&AuditQuery::default()).unwrap();
    assert_eq!(entries[0].action, "session");
    assert_eq!(entries[0].actor, "heyplayer");
    assert_eq!(
        serde_json::from_str::<Value>(&entries[0].detail).unwrap(),
        detail
    );
    assert!(s.verify_audit().unwrap().ok());
    assert_eq!(Action::from_name("session"), Some(Action::Session));
}
