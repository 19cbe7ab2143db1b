//! What the benchmarks share.

use std::time::Duration;

/// Prints a real-time factor: `audio_s` of audio handled `runs` times in `elapsed`.
pub fn report(name: &str, audio_s: f64, runs: u32, elapsed: Duration) {
    let per = elapsed.as_secs_f64() / runs as f64;
    println!(
        "{name}: {:.0}x real time ({audio_s:.1} s of audio in {:.1} ms)",
        audio_s / per,
        per * 1e3
    );
}
