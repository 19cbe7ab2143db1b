//! The listening daemon on threads (`heyplayer listen`): the same events as
//! the one-thread pipeline, in the same order, plus the listener's states.

use std::process::Command;

use heyplayer::audio::wav::WavSource;
use heyplayer::events::{Event, ListenState};
use heyplayer::pipeline::{collect_all_events, Assistant};

const BIN: &str = env!("CARGO_BIN_EXE_heyplayer");

#[test]
fn listen_on_threads_gives_the_one_thread_events_in_order_plus_states() {
    let tmp = tempfile::tempdir().unwrap();
    // "pause", "volume to seventy": two wakes, two commands.
    let wav = crate::common::spoken_commands(&["pos-005", "pos-021"], &tmp.path().join("two.wav"));
    let cfg = crate::common::config();
    let (threaded, one_thread) = {
        let _turn = crate::common::whisper_turn();
        let out = Command::new(BIN)
            // Every word, to compare with the events in memory.
            .args([
                "listen",
                "--events-content",
                "--player",
                "dry-run",
                "--input",
            ])
            .arg(&wav)
            .arg("--data-dir")
            .arg(tmp.path().join("store"))
            .env("HEYPLAYER_MODELS_DIR", &cfg.models_dir)
            .output()
            .unwrap();
        let threaded = crate::common::events_of(&out);
        let src = WavSource::open(&wav, false).unwrap();
        let one = collect_all_events(src, &cfg, Assistant::new(&cfg).unwrap()).unwrap();
        (threaded, one)
    };
    let names = |evs: &[Event]| evs.iter().map(Event::name).collect::<Vec<_>>().join(" ");
    // What only the daemon adds: states, the store's and the player's events.
    let pipeline_only: Vec<Event> = threaded
        .iter()
        .filter(|e| {
            !matches!(
                e,
                Event::State { .. }
                    | Event::Kept { .. }
                    | Event::ActionResult { .. }
                    | Event::Expired { .. }
            )
        })
        .cloned()
        .collect();
    assert_eq!(
        pipeline_only,
        one_thread,
        "\nthreads:    {}\none thread: {}",
        names(&threaded),
        names(&one_thread)
    );
    let commands = one_thread
        .iter()
        .filter(|e| matches!(e, Event::Command { .. }))
        .count();
    assert_eq!(commands, 2, "{}", names(&one_thread));

    // Each wake: awake at once (within one 80 ms step), then processing, then the command, its
    // context, then the player's result; the states change one at a time and end idle.
    let mut last_state = None;
    let mut seen_wake = None;
    let mut processing = 0;
    for (i, e) in threaded.iter().enumerate() {
        match e {
            Event::State { state, .. } => {
                assert_ne!(Some(*state), last_state, "a state repeated at event {i}");
                if *state == ListenState::Processing {
                    assert_eq!(last_state, Some(ListenState::Awake), "event {i}");
                    processing += 1;
                }
                last_state = Some(*state);
            }
            Event::Wake { t_ms, .. } => seen_wake = Some(*t_ms),
            Event::Command { .. } => {
                assert_eq!(last_state, Some(ListenState::Processing), "event {i}");
                assert!(
                    matches!(threaded[i + 1], Event::Context { .. })
                        && matches!(threaded[i + 2], Event::ActionResult { ok: true, .. }),
                    "after the command: {}",
                    names(&threaded[i..])
                );
            }
            _ => {}
        }
        if let (Some(wake_ms), Event::State { t_ms, .. }) = (seen_wake, e) {
            assert_eq!(
                last_state,
                Some(ListenState::Awake),
                "first state after a wake"
            );
            // The cue a UI or a chime uses (issue 31): within one 80 ms step.
            assert!(
                *t_ms <= wake_ms + 80,
                "awake at {t_ms} ms, the wake at {wake_ms} ms"
            );
            seen_wake = None;
        }
    }
    assert_eq!(processing, 2, "{}", names(&threaded));
    assert_eq!(last_state, Some(ListenState::Idle));
    let t: Vec<u64> = threaded.iter().map(Event::t_ms).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "times go back: {t:?}");

    // Once listening stopped, the store no longer says what it is doing.
    let store = heyplayer_privacy::Store::open_existing(
        &tmp.path().join("store"),
        std::sync::Arc::new(heyplayer_privacy::SystemClock),
    )
    .unwrap()
    .unwrap();
    let st = store.status().unwrap();
    assert!(st.listening.is_none() && st.state.is_none(), "{st:?}");
}

/// The context signal: every subscriber of `--context-socket` gets one JSON
/// line (schema 1) per `context` event, labels only; the example
/// recommender turns it into a mood.
#[test]
fn context_socket_publishes_labels_only_to_every_subscriber() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixStream;
    use std::process::Stdio;

    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("context.sock");
    let cfg = crate::common::config();
    let (samples, rate) = crate::common::read_wav(std::path::Path::new("examples/cafe.wav"));
    assert_eq!(rate, 16_000);
    let _turn = crate::common::whisper_turn();
    let mut child = Command::new(BIN)
        .args([
            "listen",
            "--input",
            "-",
            "--rate",
            "16000",
            "--channels",
            "1",
        ])
        .args(["--player", "dry-run", "--context-socket"])
        .arg(&sock)
        .arg("--data-dir")
        .arg(tmp.path().join("store"))
        .env("HEYPLAYER_MODELS_DIR", &cfg.models_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !sock.exists() {
        assert!(
            t0.elapsed().as_secs() < 60,
            "no socket at {}",
            sock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only this user may subscribe");
    let raw = UnixStream::connect(&sock).unwrap();
    let recommender = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .join("examples/recommender");
    assert!(
        recommender.exists(),
        "{} is missing: build it with `cargo build --example recommender` (`make test` does; \
         cargo test builds examples only as test harnesses)",
        recommender.display()
    );
    let rec = Command::new(&recommender)
        .arg(&sock)
        .arg("--once")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Both subscribers are in before any audio flows.
    std::thread::sleep(std::time::Duration::from_millis(300));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&crate::common::to_s16le(&samples))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let events = crate::common::events_of(&out);
    let contexts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Context { t_ms, .. } => Some(*t_ms),
            _ => None,
        })
        .collect();
    assert_eq!(contexts.len(), 2, "two commands in the café demo");
    let lines: Vec<serde_json::Value> = BufReader::new(raw)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, t) in lines.iter().zip(&contexts) {
        assert_eq!(line["schema"], 1);
        assert_eq!(line["type"], "context");
        assert_eq!(line["t_ms"], *t);
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["context", "schema", "t_ms", "type"]);
        let ctx = line["context"].as_object().unwrap();
        for axis in ["physical", "social", "emotion"] {
            assert!(ctx[axis]["value"].is_string() && ctx[axis]["confidence"].is_number());
        }
        // Labels only: nothing that could carry words, audio or identity.
        let text = line.to_string();
        for banned in [
            "transcript",
            "text",
            "audio",
            "samples",
            "speaker",
            "gender",
            "age",
        ] {
            assert!(
                !text.contains(&format!("\"{banned}\"")),
                "{banned} in {text}"
            );
        }
    }
    let rec = rec.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&rec.stdout);
    assert!(rec.status.success() && said.starts_with("mood: "), "{said}");
    assert!(!sock.exists(), "the socket is removed when heyplayer stops");
}
