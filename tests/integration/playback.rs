//! Spoken commands drive a real mpv (Debian's, headless: --ao=null) through
//! its JSON IPC socket, all the way from a WAV file through the wake word,
//! Whisper and the intent parser. Checks the player's own state afterwards.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heyplayer::events::Event;
use heyplayer::playback::mpv::Mpv;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_heyplayer");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A 20 s tone, so nothing ends while the test runs.
/// Long enough that no track ends during a test, however slow Whisper is on
/// a busy machine (an ended track moves the playlist on by itself).
const TRACK_SECONDS: usize = 180;

fn tone(path: &Path, hz: f32) {
    let x = (0..16_000 * TRACK_SECONDS).map(|i| {
        ((2.0 * std::f32::consts::PI * hz * i as f32 / 16_000.0).sin() * 0.2 * 32767.0) as i16
    });
    crate::common::write_wav16(path, x);
}

/// `dir/music` with a tone named NAME.wav for each name (a different pitch each).
fn music_dir(dir: &Path, names: &[&str]) -> PathBuf {
    let music = dir.join("music");
    std::fs::create_dir(&music).unwrap();
    for (i, name) in names.iter().enumerate() {
        tone(&music.join(format!("{name}.wav")), 330.0 + 110.0 * i as f32);
    }
    music
}

/// A headless mpv with its IPC socket at `sock`; on `bus`, with the MPRIS plugin.
fn start_mpv(sock: &Path, bus: Option<&SessionBus>) -> Killed {
    assert!(
        Path::new("/usr/bin/mpv").exists(),
        "mpv is missing: `make test` installs Debian's mpv"
    );
    let mut cmd = Command::new("mpv");
    cmd.args([
        "--no-config",
        "--idle=yes",
        "--ao=null",
        "--vo=null",
        "--no-terminal",
        "--volume=50",
    ])
    .arg(format!("--input-ipc-server={}", sock.display()))
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(bus) = bus {
        let plugin = "/usr/lib/mpv-mpris/mpris.so";
        assert!(
            Path::new(plugin).exists(),
            "mpv-mpris is missing: `make test` installs it"
        );
        cmd.arg(format!("--script={plugin}"))
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    }
    let child = Killed(cmd.spawn().unwrap());
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "mpv did not open its socket"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// `heyplayer listen` on `wav` with `extra` flags (and the private bus, if any).
fn listen(wav: &Path, extra: &[&str], data: &Path, bus: Option<&SessionBus>) -> Vec<Event> {
    let mut cmd = Command::new(BIN);
    // The results' details name what was played: words, printed only when asked.
    cmd.arg("listen")
        .arg("--events-content")
        .arg("--input")
        .arg(wav)
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("HEYPLAYER_MODELS_DIR", crate::common::config().models_dir);
    if let Some(bus) = bus {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    }
    let out = {
        let _turn = crate::common::whisper_turn();
        cmd.output().unwrap()
    };
    crate::common::events_of(&out)
}

fn results(events: &[Event]) -> Vec<(String, bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ActionResult {
                action, ok, detail, ..
            } => Some((format!("{action:?}"), *ok, detail.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn spoken_commands_drive_a_real_mpv_over_its_ipc_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let music = music_dir(tmp.path(), &["rock_anthem", "rock_ballad", "jazz_standard"]);
    let sock = tmp.path().join("mpv.sock");
    let _mpv = start_mpv(&sock, None);
    // "put on some rock music", "volume to seventy", "skip this song", "pause".
    let wav = crate::common::spoken_commands(
        &["pos-001", "pos-021", "pos-013", "pos-005"],
        &tmp.path().join("commands.wav"),
    );
    let events = listen(
        &wav,
        &[
            "--mpv-socket",
            sock.to_str().unwrap(),
            "--music-dir",
            music.to_str().unwrap(),
        ],
        &tmp.path().join("store"),
        None,
    );
    let r = results(&events);
    assert_eq!(r.len(), 4, "{events:?}");
    assert!(r.iter().all(|x| x.1), "{r:?}");
    assert!(
        r[0].2.contains("2 track(s)") && r[0].2.contains("rock_anthem"),
        "{r:?}"
    );

    // The player's own state.
    let mut mpv = Mpv::new(sock.clone(), None);
    let get = |m: &mut Mpv, p: &str| m.request(json!(["get_property", p])).unwrap();
    assert_eq!(get(&mut mpv, "playlist-count"), 2);
    assert_eq!(
        get(&mut mpv, "playlist-pos"),
        1,
        "skipped to the second rock track"
    );
    assert!(get(&mut mpv, "path")
        .as_str()
        .unwrap()
        .ends_with("rock_ballad.wav"));
    assert_eq!(get(&mut mpv, "volume").as_f64().unwrap().round(), 70.0);
    assert_eq!(get(&mut mpv, "pause"), true);

    // The outcome is kept with the command.
    let store = heyplayer_privacy::Store::open_existing(
        &tmp.path().join("store"),
        std::sync::Arc::new(heyplayer_privacy::SystemClock),
    )
    .unwrap()
    .unwrap();
    let recs = store.records(0).unwrap();
    let outcomes: Vec<_> = recs
        .iter()
        .filter_map(|r| {
            r.items
                .get("command")
                .map(|c| c.value["outcome"]["ok"].clone())
        })
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes.iter().all(|o| *o == true), "{outcomes:?}");
}

#[test]
fn a_missing_player_is_a_failed_action_result_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = crate::common::spoken_commands(&["pos-005"], &tmp.path().join("pause.wav"));
    let gone: PathBuf = tmp.path().join("no-mpv-here.sock");
    let events = listen(
        &wav,
        &["--mpv-socket", gone.to_str().unwrap()],
        &tmp.path().join("store"),
        None,
    );
    let r = results(&events);
    assert_eq!(r.len(), 1, "{events:?}");
    assert!(!r[0].1);
    assert!(
        r[0].2.contains("cannot reach mpv") && r[0].2.contains("--input-ipc-server"),
        "{r:?}"
    );
    assert!(matches!(events.last(), Some(Event::AudioStop { .. })));
}

/// A private `dbus-daemon --session`, stopped on drop.
struct SessionBus {
    address: String,
    _daemon: Killed,
}

impl SessionBus {
    fn start() -> SessionBus {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new("dbus-daemon")
            .args([
                "--config-file=/usr/share/dbus-1/session.conf",
                "--print-address=1",
                "--nofork",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian's dbus package; `make test` installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:"), "dbus-daemon printed {line:?}");
        SessionBus {
            address: line.trim().to_string(),
            _daemon: Killed(child),
        }
    }
}

#[test]
fn spoken_commands_drive_mpv_through_mpris_on_a_private_session_bus() {
    let tmp = tempfile::tempdir().unwrap();
    let music = music_dir(tmp.path(), &["rock_anthem", "jazz_standard"]);
    let bus = SessionBus::start();
    let sock = tmp.path().join("mpv.sock");
    let _mpv = start_mpv(&sock, Some(&bus));
    // Wait until mpv is on the bus.
    let t0 = Instant::now();
    loop {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
            ])
            .arg("org.freedesktop.DBus.ListNames")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("org.mpris.MediaPlayer2.mpv") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "mpv never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // "put on some rock music", "volume to seventy", "pause".
    let wav = crate::common::spoken_commands(
        &["pos-001", "pos-021", "pos-005"],
        &tmp.path().join("c.wav"),
    );
    let events = listen(
        &wav,
        &["--player", "auto", "--music-dir", music.to_str().unwrap()],
        &tmp.path().join("store"),
        Some(&bus),
    );
    let r = results(&events);
    assert_eq!(r.len(), 3, "{events:?}");
    assert!(r.iter().all(|x| x.1), "{r:?}");
    assert!(r[0].2.contains("rock_anthem.wav"), "{r:?}");
    assert_eq!(r[1].2, "volume 70");

    // What mpv itself says (over its IPC socket, independent of MPRIS).
    let mut m = Mpv::new(sock, None);
    let get = |m: &mut Mpv, p: &str| m.request(json!(["get_property", p])).unwrap();
    assert!(get(&mut m, "path")
        .as_str()
        .unwrap()
        .ends_with("rock_anthem.wav"));
    assert_eq!(get(&mut m, "volume").as_f64().unwrap().round(), 70.0);
    assert_eq!(get(&mut m, "pause"), true);
    // And the player's MPRIS status.
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.mpris.MediaPlayer2.mpv",
            "/org/mpris/MediaPlayer2",
        ])
        .args([
            "org.freedesktop.DBus.Properties.Get",
            "string:org.mpris.MediaPlayer2.Player",
            "string:PlaybackStatus",
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"Paused\""),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn an_absent_mpris_player_is_a_clear_action_result() {
    let tmp = tempfile::tempdir().unwrap();
    let bus = SessionBus::start();
    let wav = crate::common::spoken_commands(&["pos-005"], &tmp.path().join("pause.wav"));
    let events = listen(
        &wav,
        &["--player", "vlc"],
        &tmp.path().join("store"),
        Some(&bus),
    );
    let r = results(&events);
    assert_eq!(r.len(), 1, "{events:?}");
    assert!(
        !r[0].1
            && r[0]
                .2
                .contains("org.mpris.MediaPlayer2.vlc is not on the session bus"),
        "{r:?}"
    );
}
