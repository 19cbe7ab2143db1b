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
            .args(["listen", "--player", "dry-run", "--input"])
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

    // Each wake: awake at once, then processing, then the command, then the
    // player's result; the states change one at a time and end idle.
    let mut last_state = None;
    let mut seen_wake = false;
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
            Event::Wake { .. } => seen_wake = true,
            Event::Command { .. } => {
                assert_eq!(last_state, Some(ListenState::Processing), "event {i}");
                assert!(
                    matches!(threaded[i + 1], Event::ActionResult { ok: true, .. }),
                    "after the command: {}",
                    names(&threaded[i..])
                );
            }
            _ => {}
        }
        if seen_wake && matches!(e, Event::State { .. }) {
            assert_eq!(
                last_state,
                Some(ListenState::Awake),
                "first state after a wake"
            );
            seen_wake = false;
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
