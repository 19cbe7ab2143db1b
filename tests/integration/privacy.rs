//! The privacy store through the real binary: what `listen` keeps of each
//! wake event, and the user's commands to see it (`status`, `audit`,
//! `export`) and to delete it (`purge`), with the audit chain checked.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::heyplayer;

use heyplayer::events::Event;

const BIN: &str = env!("CARGO_BIN_EXE_heyplayer");

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Three spoken "hey player, …" commands (held-out Piper voices) in one file.
fn three_commands(dir: &Path) -> PathBuf {
    crate::common::spoken_commands(&["pos-001", "pos-005", "pos-013"], &dir.join("three.wav"))
}

#[test]
fn listen_keeps_what_the_rules_allow_and_the_user_can_see_export_and_delete_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let wav = three_commands(tmp.path());
    let cfg = tmp.path().join("config.toml");
    std::fs::write(&cfg, "[retention]\nraw_audio = \"7d\"\n").unwrap();

    let run = {
        let _turn = crate::common::whisper_turn();
        heyplayer(
            &data,
            &[
                "listen",
                // The transcripts are checked against the audit log below.
                "--events-content",
                "--input",
                wav.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
            ],
        )
    };
    let events = crate::common::events_of(&run);
    let wakes = events
        .iter()
        .filter(|e| matches!(e, Event::Wake { .. }))
        .count();
    let kept: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Kept { record, kept, .. } => Some((*record, kept.clone())),
            _ => None,
        })
        .collect();
    let commands = events
        .iter()
        .filter(|e| matches!(e, Event::Command { .. }))
        .count();
    assert!(
        commands >= 2,
        "at least two of the three commands should be understood: {events:?}"
    );
    assert_eq!(kept.len(), wakes, "one kept event per wake");
    let records: Vec<i64> = kept.iter().filter_map(|k| k.0).collect();
    assert!(records.len() >= commands);
    for (_, kinds) in &kept {
        let audio = kinds.iter().find(|k| k.kind == "raw_audio");
        if let Some(a) = audio {
            assert_eq!(a.rule, "7d");
        }
    }

    // The files: private, and one clip per record that kept audio.
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let db = data.join("heyplayer.sqlite3");
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let clips: Vec<_> = std::fs::read_dir(data.join("clips"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(clips.len(), records.len(), "{clips:?}");
    for c in &clips {
        assert_eq!(
            std::fs::metadata(c).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // status: stopped at the end of input, the rules of the config, the counts.
    let st: serde_json::Value =
        serde_json::from_str(&stdout(&heyplayer(&data, &["status", "--json"]))).unwrap();
    assert!(st["listening"].is_null());
    assert_eq!(st["last_stop"]["reason"], "end_of_input");
    assert_eq!(st["retention"]["raw_audio"], "7d");
    assert_eq!(st["retention"]["transcript"], "1d");
    assert_eq!(st["records"], records.len());
    assert_eq!(st["counts"]["command"], records.len());
    assert_eq!(st["audit_chain"]["first_broken"], serde_json::Value::Null);
    let text = stdout(&heyplayer(&data, &["status"]));
    assert!(
        text.contains("only after the wake word") && text.contains("Delete it:"),
        "{text}"
    );

    // audit: one capture entry per wake, and no content in any entry.
    let audit = stdout(&heyplayer(&data, &["audit", "--json", "--per-page", "0"]));
    let entries: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let captures = entries.iter().filter(|e| e["action"] == "capture").count();
    assert_eq!(captures, wakes);
    for e in &events {
        if let Event::Transcript { text, .. } = e {
            assert!(
                !audit.contains(text.as_str()),
                "transcript {text:?} in the audit log"
            );
        }
    }
    let verify = heyplayer(&data, &["audit", "verify"]);
    assert!(
        verify.status.success() && stdout(&verify).contains("intact"),
        "{}",
        stdout(&verify)
    );

    // export: everything, transcripts included, mode 0600.
    let out = tmp.path().join("export.json");
    assert!(
        heyplayer(&data, &["export", "--out", out.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["records"].as_array().unwrap().len(), records.len());

    // purge: refused without confirmation when it cannot ask, then done.
    let refused = heyplayer(&data, &["purge", "--all"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(heyplayer(&data, &["purge", "--all", "--yes"])
        .status
        .success());
    let st: serde_json::Value =
        serde_json::from_str(&stdout(&heyplayer(&data, &["status", "--json"]))).unwrap();
    assert_eq!(st["records"], 0);
    assert_eq!(st["counts"]["audit"], 1, "one entry records the purge");
    assert_eq!(std::fs::read_dir(data.join("clips")).unwrap().count(), 0);
    assert!(heyplayer(&data, &["audit", "verify"]).status.success());
}

#[test]
fn audit_verify_names_the_entry_that_was_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let none = heyplayer(&data, &["status"]);
    assert!(
        stdout(&none).contains("Nothing is stored"),
        "{}",
        stdout(&none)
    );
    assert!(!data.exists(), "status must not create the store");
    {
        use heyplayer_privacy::{NewCapture, RetentionRules, Store, SystemClock};
        let mut s = Store::open(
            &data,
            RetentionRules::default(),
            std::sync::Arc::new(SystemClock),
        )
        .unwrap();
        for _ in 0..3 {
            s.record_capture(NewCapture {
                wake_score: 0.9,
                ..Default::default()
            })
            .unwrap();
        }
    }
    let conn = rusqlite::Connection::open(data.join("heyplayer.sqlite3")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_append_only; UPDATE audit SET t_ms = t_ms + 1 WHERE seq = 2;",
    )
    .unwrap();
    let v = heyplayer(&data, &["audit", "verify"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("BROKEN at entry 2"), "{}", stdout(&v));
}

#[test]
fn bad_retention_rules_and_times_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(&cfg, "[retention]\ntranscript = \"a while\"\n").unwrap();
    let o = heyplayer(tmp.path(), &["status", "--config", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("retention.transcript"),
        "{err}"
    );
    let o = heyplayer(tmp.path(), &["purge", "--before", "last tuesday", "--yes"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("cannot read time"),
        "{err}"
    );
    let o = heyplayer(tmp.path(), &["purge", "--kind", "voiceprints", "--yes"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("unknown kind"), "{err}");
}

/// Set in the child of the kill -9 test: the store it writes a burst into.
const BURST_ENV: &str = "HEYPLAYER_TEST_BURST_DIR";

/// The writer the kill -9 test runs as a subprocess (it does nothing unless
/// [`BURST_ENV`] is set): commits records as fast as it can, printing each
/// one's id after its commit.
#[test]
fn burst_writer_child() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(BURST_ENV) else {
        return;
    };
    let clock = std::sync::Arc::new(heyplayer_privacy::SystemClock);
    let rules = heyplayer_privacy::RetentionRules::default();
    let mut s = heyplayer_privacy::Store::open(Path::new(&dir), rules, clock).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let c = heyplayer_privacy::NewCapture {
            wake_score: 0.9,
            verified: true,
            phrase: "hey player".into(),
            transcript: Some(format!("burst {i}")),
            command: Some(serde_json::json!({"command": {"action": "next"}, "i": i})),
            ..Default::default()
        };
        let id = s.record_capture(c).unwrap().id.unwrap();
        writeln!(out, "committed {id} {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_during_a_burst_of_writes_loses_nothing_committed() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "privacy::burst_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(BURST_ENV, &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed: Vec<(i64, u64)> = Vec::new();
    let parse = |l: &str, into: &mut Vec<(i64, u64)>| {
        if let Some(rest) = l.strip_prefix("committed ") {
            let (id, i) = rest.split_once(' ').unwrap();
            into.push((id.parse().unwrap(), i.parse().unwrap()));
        }
    };
    while committed.len() < 300 {
        let l = lines.next().expect("the writer ended early").unwrap();
        parse(&l, &mut committed);
    }
    child.kill().unwrap(); // SIGKILL, mid-burst
    child.wait().unwrap();
    for l in lines.map_while(Result::ok) {
        parse(&l, &mut committed);
    }
    let store = heyplayer_privacy::Store::open_existing(
        &data,
        std::sync::Arc::new(heyplayer_privacy::SystemClock),
    )
    .unwrap()
    .unwrap();
    let records = store.records(0).unwrap();
    assert!(records.len() >= committed.len());
    for (id, i) in &committed {
        let r = records
            .iter()
            .find(|r| r.id == *id)
            .unwrap_or_else(|| panic!("record {id} lost"));
        assert_eq!(r.items["transcript"].value, format!("burst {i}"));
        assert_eq!(r.items["command"].value["i"], *i);
    }
    let v = store.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    assert_sqlite_intact(&data);
}

#[test]
fn a_full_disk_is_an_event_listening_goes_on_and_nothing_half_written_remains() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = three_commands(tmp.path());
    let cfg = tmp.path().join("config.toml");
    std::fs::write(&cfg, "[retention]\nraw_audio = \"7d\"\n").unwrap();
    let mount = tmp.path().join("small");
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&mount).unwrap();
    // A 256 KiB tmpfs in a private mount namespace (no root needed): room for
    // the database and about one clip.
    let script = r#"mount -t tmpfs -o size=256k,mode=0700 tmpfs "$1" || exit 97
"$2" listen --input "$3" --config "$4" --data-dir "$1"; rc=$?
cp -a "$1" "$5"; exit $rc"#;
    let run = {
        let _turn = crate::common::whisper_turn();
        Command::new("unshare")
            .args(["-rm", "sh", "-c", script, "sh"])
            .args([&mount, Path::new(BIN), &wav, &cfg, &copy])
            .env("HEYPLAYER_MODELS_DIR", crate::common::config().models_dir)
            .output()
            .unwrap()
    };
    assert_ne!(
        run.status.code(),
        Some(97),
        "cannot mount a tmpfs in a user namespace here"
    );
    let events = crate::common::events_of(&run);
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::StoreError { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert!(!errors.is_empty(), "the full disk must show: {events:?}");
    eprintln!("store errors on the full disk: {errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("space") || e.contains("full")),
        "{errors:?}"
    );
    let commands = events
        .iter()
        .filter(|e| matches!(e, Event::Command { .. }))
        .count();
    assert!(commands >= 2, "capture went on: {events:?}");
    assert!(matches!(
        events.last(),
        Some(Event::AudioStop { .. }) | Some(Event::StoreError { .. })
    ));

    // Nothing half-written: every clip file belongs to a record and is whole,
    // every record's clip exists, and the database and the chain check out.
    let store = heyplayer_privacy::Store::open_existing(
        &copy,
        std::sync::Arc::new(heyplayer_privacy::SystemClock),
    )
    .unwrap()
    .unwrap();
    let mut listed: Vec<PathBuf> = Vec::new();
    for r in store.records(0).unwrap() {
        if let Some(a) = r.items.get("raw_audio") {
            let f = copy.join(a.value["file"].as_str().unwrap());
            let rd = hound::WavReader::open(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(rd.duration() > 16_000, "{} is cut short", f.display());
            listed.push(f);
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(copy.join("clips"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    listed.sort();
    assert_eq!(files, listed, "clip files and records must match");
    assert!(store.verify_audit().unwrap().ok());
    assert_sqlite_intact(&copy);
}

/// SQLite's own check of every page and index of the store in `dir`.
fn assert_sqlite_intact(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join("heyplayer.sqlite3")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn listen_works_without_a_network_and_opens_no_network_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = three_commands(tmp.path());
    let log = tmp.path().join("strace.log");
    // A network namespace with only loopback (down), and every socket call traced.
    let run = {
        let _turn = crate::common::whisper_turn();
        Command::new("unshare")
            .args([
                "-rn",
                "strace",
                "-f",
                "-qq",
                "-e",
                "trace=execve,socket,connect,bind,listen",
                "-o",
            ])
            .arg(&log)
            .arg(BIN)
            .args(["listen", "--input"])
            .arg(&wav)
            .arg("--data-dir")
            .arg(tmp.path().join("store"))
            .env("HEYPLAYER_MODELS_DIR", crate::common::config().models_dir)
            .output()
            .unwrap()
    };
    let events = crate::common::events_of(&run);
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Command { .. }))
            .count()
            >= 2,
        "{events:?}"
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    assert!(
        trace.contains("execve(") && trace.contains("heyplayer"),
        "strace traced nothing: {trace}"
    );
    let inet: Vec<&str> = trace.lines().filter(|l| l.contains("AF_INET")).collect();
    assert!(inet.is_empty(), "network sockets opened: {inet:?}");
    let listening: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(" listen(") || l.contains(" bind("))
        .collect();
    assert!(
        listening.is_empty(),
        "listen only opens no server socket: {listening:?}"
    );
}

#[test]
fn sweep_deletes_what_expired_while_heyplayer_was_not_running() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    {
        // Two days ago (an injected clock): a transcript kept for a day.
        let now = heyplayer_privacy::Clock::now_ms(&heyplayer_privacy::SystemClock);
        let clock = std::sync::Arc::new(heyplayer_privacy::ManualClock::new(now - 2 * 86_400_000));
        let rules = heyplayer_privacy::RetentionRules::default();
        let mut s = heyplayer_privacy::Store::open(&data, rules, clock).unwrap();
        let c = heyplayer_privacy::NewCapture {
            wake_score: 0.9,
            transcript: Some("stale words".into()),
            command: Some(serde_json::json!({"command": {"action": "pause"}})),
            ..Default::default()
        };
        s.record_capture(c).unwrap();
    }
    let o = heyplayer(&data, &["sweep"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "deleted what had expired: 1 transcript");
    let o = heyplayer(&data, &["sweep"]);
    assert_eq!(stdout(&o).trim(), "nothing had expired");
}

/// Issue 30: `heyplayer status` lists every model the listener loaded, as the
/// loader reports them: the context head among them (left out when the list
/// was written by hand), each with its file and sha256 from the manifest.
#[test]
fn issue_30_status_lists_every_model_the_listener_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cafe.wav");
    let mut child = Command::new(BIN)
        .args(["listen", "--input"])
        .arg(&demo)
        .args(["--realtime", "--player", "dry-run", "--data-dir"])
        .arg(&data)
        .env("HEYPLAYER_MODELS_DIR", crate::common::config().models_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let listening = loop {
        let o = heyplayer(&data, &["status", "--json"]);
        let st: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_default();
        if !st["listening"].is_null() && st["listening"].is_array() {
            break st["listening"][0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never showed the listener: {st}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let names: Vec<&str> = listening["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let cfg = crate::common::config();
    for want in [
        "silero-vad",
        "oww-melspectrogram",
        "oww-embedding",
        "hey-player",
        cfg.asr_model.as_str(),
        "yamnet-w8a8",
        "yamnet-class-map",
        "context-head",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for m in listening["models"].as_array().unwrap() {
        let entry = heyplayer::models::entry(m["name"].as_str().unwrap()).unwrap();
        assert_eq!(m["sha256"], entry.sha256.as_str(), "{m}");
        assert!(Path::new(m["file"].as_str().unwrap()).is_file(), "{m}");
    }
}
