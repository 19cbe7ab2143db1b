//! Golden event files: the events for a committed recording, byte for byte.
//!
//! To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test --test integration golden`,
//! then review the diff of tests/golden/ before committing it.

use std::path::Path;

use crate::common::file_events;

fn check(wav: &str, golden: &str) {
    let events = file_events(Path::new(wav));
    let got: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    let golden_path = Path::new(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden_path, &got).unwrap();
    }
    let want = std::fs::read_to_string(golden_path)
        .unwrap_or_else(|e| panic!("{golden}: {e} (create it with UPDATE_GOLDEN=1)"));
    if got != want {
        let out = Path::new("tests/out");
        std::fs::create_dir_all(out).unwrap();
        let actual = out.join(golden_path.file_name().unwrap());
        std::fs::write(&actual, &got).unwrap();
        panic!(
            "events for {wav} differ from {golden}; actual events in {}:\n{got}",
            actual.display()
        );
    }
}

#[test]
fn demo_recording_events() {
    check("examples/demo.wav", "tests/golden/demo.events.jsonl");
}
