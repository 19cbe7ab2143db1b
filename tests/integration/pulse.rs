//! The capture path with a real audio server.
//!
//! A private, user-space PulseAudio daemon gets a null sink; `paplay` plays
//! the demo recording into it, and `heyplayer listen --input mic` records the
//! sink's monitor through cpal's ALSA host (`default` device, which Debian's
//! `libasound2-plugins` routes to PulseAudio). The speech segments it finds
//! in real time must match the ones it finds in the file.
//!
//! The daemon, `paplay` and the ALSA plugin are installed by `make test`; if
//! they are missing this test fails, it does not skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use heyplayer::events::Event;

use crate::common::{file_events, segments};

/// How far a live segment's duration, or the gap between two live segment
/// starts, may be from the file's.
const LIVE_TOLERANCE_MS: i64 = 150;
/// How long to wait for the listener's first event.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A private PulseAudio daemon, killed on drop.
struct Pulse {
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

impl Pulse {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pulse { dir, daemon: None };
        p.spawn_daemon();
        p
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("native")
    }

    /// Environment that points a client at this daemon.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PULSE_SERVER", format!("unix:{}", self.socket().display())),
            ("PULSE_SOURCE", "hp_sink.monitor".into()),
            ("PULSE_SINK", "hp_sink".into()),
            ("XDG_RUNTIME_DIR", self.dir.path().display().to_string()),
            ("HOME", self.dir.path().display().to_string()),
            ("HEYPLAYER_DATA_DIR", self.store().display().to_string()),
        ]
    }

    /// The privacy store the listener writes to.
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn spawn_daemon(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let native = format!(
            "module-native-protocol-unix auth-anonymous=1 socket={}",
            self.socket().display()
        );
        let mut cmd = Command::new("pulseaudio");
        cmd.args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disable-shm=yes",
            "--log-target=stderr",
            "-L",
            &native,
            "-L",
            "module-null-sink sink_name=hp_sink",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("pulseaudio is not installed: run `make test`, which installs it");
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut info = Command::new("pactl");
            info.arg("info").stdout(Stdio::null()).stderr(Stdio::null());
            for (k, v) in self.env() {
                info.env(k, v);
            }
            if info.status().map(|s| s.success()).unwrap_or(false) {
                break;
            }
            assert!(Instant::now() < deadline, "pulseaudio did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn play(&self, wav: &Path) {
        let mut cmd = Command::new("paplay");
        cmd.arg(wav);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let st = cmd
            .status()
            .expect("paplay is not installed: run `make test`");
        assert!(st.success(), "paplay failed: {st}");
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.kill_daemon();
    }
}

/// `heyplayer listen --input mic` on the daemon, its events read as they come.
struct Listener {
    child: Child,
    events: mpsc::Receiver<Event>,
    seen: Vec<Event>,
}

impl Listener {
    fn start(pulse: &Pulse) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_heyplayer"));
        cmd.args(["listen", "--input", "mic", "--host", "alsa", "--vad-only"])
            .env("HEYPLAYER_MODELS_DIR", crate::common::config().models_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in pulse.env() {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ev: Event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad event line {line:?}: {e}"));
                if tx.send(ev).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits for an event matching `want`, keeping everything seen.
    fn wait_for(&mut self, what: &str, timeout: Duration, want: impl Fn(&Event) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) => {
                    let hit = want(&ev);
                    self.seen.push(ev);
                    if hit {
                        return;
                    }
                }
                Err(_) => panic!("no {what} within {timeout:?}; events: {:?}", self.seen),
            }
        }
    }

    /// Sends SIGINT and collects the rest of the events; checks a clean exit.
    fn interrupt(mut self) -> Vec<Event> {
        let st = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "listener ignored SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.events.iter());
        assert!(status.success(), "listener exited with {status}");
        self.seen
    }
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.wav")
}

#[test]
fn live_capture_through_pulseaudio_matches_the_file() {
    let want = segments(&file_events(&demo()));
    assert_eq!(want.len(), 4, "demo.wav should hold four sentences");

    let pulse = Pulse::start();
    let mut listener = Listener::start(&pulse);
    listener.wait_for("audio_start", START_TIMEOUT, |e| {
        matches!(e, Event::AudioStart { .. })
    });
    pulse.play(&demo());
    // The monitor lags the player a little; give the last segment time to close.
    std::thread::sleep(Duration::from_millis(1500));
    // While it listens, `heyplayer status` says what it is doing.
    let status = Command::new(env!("CARGO_BIN_EXE_heyplayer"))
        .args(["status", "--json", "--data-dir"])
        .arg(pulse.store())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(st["listening"][1], true, "{st:#}");
    assert_eq!(st["state"]["state"], "idle", "{st:#}");
    let events = listener.interrupt();

    match events.last() {
        Some(Event::AudioStop { reason, .. }) => assert_eq!(reason, "shutdown"),
        other => panic!("last event should be audio_stop, got {other:?}"),
    }
    // Ctrl-C is audited: listening started on the microphone and stopped on shutdown.
    let store = heyplayer_privacy::Store::open_existing(
        &pulse.store(),
        std::sync::Arc::new(heyplayer_privacy::SystemClock),
    )
    .unwrap()
    .expect("the listener made its store");
    let st = store.status().unwrap();
    assert!(st.listening.is_none(), "still marked as listening: {st:?}");
    assert_eq!(st.last_stop.unwrap()["reason"], "shutdown");
    let (log, _) = store.audit_entries(&Default::default()).unwrap();
    let acts: Vec<_> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(acts, ["config", "config", "listen_start", "listen_stop"]);
    assert!(
        log[1].detail.contains("alsa") || log[1].detail.contains("mic"),
        "{}",
        log[1].detail
    );
    assert!(store.verify_audit().unwrap().ok());
    let got = segments(&events);
    assert_eq!(got.len(), want.len(), "live {got:?} vs file {want:?}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let (gd, wd) = ((g.1 - g.0) as i64, (w.1 - w.0) as i64);
        assert!(
            (gd - wd).abs() <= LIVE_TOLERANCE_MS,
            "segment {i}: live {gd} ms vs file {wd} ms"
        );
        if i > 0 {
            let gg = (g.0 - got[i - 1].0) as i64;
            let wg = (w.0 - want[i - 1].0) as i64;
            assert!(
                (gg - wg).abs() <= LIVE_TOLERANCE_MS,
                "gap before segment {i}: live {gg} ms vs file {wg} ms"
            );
        }
    }
}

#[test]
fn losing_the_audio_server_is_reported_and_recovered() {
    let mut pulse = Pulse::start();
    let mut listener = Listener::start(&pulse);
    listener.wait_for("audio_start", START_TIMEOUT, |e| {
        matches!(e, Event::AudioStart { .. })
    });
    pulse.kill_daemon();
    // A stream error or the stall watchdog (5 s) reports the loss.
    listener.wait_for("device_lost", Duration::from_secs(15), |e| {
        matches!(e, Event::DeviceLost { .. })
    });
    pulse.spawn_daemon();
    listener.wait_for("device_reopened", Duration::from_secs(30), |e| {
        matches!(e, Event::DeviceReopened { .. })
    });
    let events = listener.interrupt();
    assert!(
        matches!(events.last(), Some(Event::AudioStop { .. })),
        "{events:?}"
    );
}
