//! The first stage alone (openWakeWord features + our head, in tract) on every
//! file of an eval manifest: its real-time factor on this thread, by the wall
//! clock and by the thread's CPU time, and its detections. One JSON object.
//! Used by `make bench-wake` (heyplayer_tools.bench.wake_eval).
//!
//!     cargo run --release --example wake_rtf -- MANIFEST.jsonl

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::audio::FRAME_SAMPLES;
use heyplayer::config::Config;
use heyplayer::pipeline::wake_models;
use heyplayer::wake::WakeDetector;

fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

fn main() -> anyhow::Result<()> {
    let manifest = std::env::args()
        .nth(1)
        .context("usage: wake_rtf MANIFEST.jsonl")?;
    let dir = Path::new(&manifest).parent().unwrap_or(Path::new("."));
    let cfg = Config::default();
    let models = wake_models(&cfg)?;
    let (mut audio_s, mut wall, mut cpu) = (0.0, Duration::ZERO, Duration::ZERO);
    let (mut pos, mut missed, mut neg_s, mut fa) = (0usize, 0usize, 0.0, 0usize);
    for line in std::fs::read_to_string(&manifest)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let file = dir.join(v["audio"].as_str().context("audio")?);
        let x = read_all(WavSource::open(&file, false)?)?;
        let mut d = WakeDetector::new(models.clone(), cfg.wake.detector);
        let (c0, t0) = (thread_cpu(), Instant::now());
        let mut n = 0;
        for f in x.chunks_exact(FRAME_SAMPLES) {
            n += d.push(f.try_into()?)?.is_some() as usize;
        }
        wall += t0.elapsed();
        if let (Some(a), Some(b)) = (c0, thread_cpu()) {
            cpu += b - a;
        }
        let secs = x.len() as f64 / 16_000.0;
        audio_s += secs;
        match v["labels"]["wake"].as_bool() {
            Some(true) => {
                pos += 1;
                missed += (n == 0) as usize;
            }
            Some(false) => {
                neg_s += secs;
                fa += n;
            }
            None => {}
        }
    }
    let out = serde_json::json!({
        "audio_seconds": audio_s,
        "wall_seconds": wall.as_secs_f64(),
        "cpu_seconds": cpu.as_secs_f64(),
        "rtf_wall": audio_s / wall.as_secs_f64().max(1e-9),
        "rtf_cpu": audio_s / cpu.as_secs_f64().max(1e-9),
        "threshold": cfg.wake.detector.threshold,
        "positives": pos,
        "frr": missed as f64 / pos.max(1) as f64,
        "negative_hours": neg_s / 3600.0,
        "false_accepts": fa,
        "false_accepts_per_hour": fa as f64 / (neg_s / 3600.0).max(1e-9),
    });
    println!("{out}");
    Ok(())
}
