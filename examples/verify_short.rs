//! The wake word's second stage on the phrase's own short clip (issue 29),
//! beside today's whole-clip check, on each clip it is given. One JSON line
//! per clip:
//!
//! - `first`: the first stage run over the clip as the daemon runs it
//!   (quiet history before it): `fired` and the time and score of its first
//!   detection, else the time and score of its best step (`t_ms`, `score`);
//! - `whole`: the daemon's second stage on the whole clip (default settings,
//!   as `examples/verify_scores.rs`), with what Whisper heard and the wall
//!   time it took;
//! - `short`: for each margin M (ms after that time) and audio-context floor
//!   C (encoder frames), key `"M/C"`: the second stage on the clip from up
//!   to `wake.preroll_ms` before the detection to M ms after it
//!   (`verify_wake_short`, default settings): the verdict, what Whisper
//!   heard (`heard`, and `plain` when the retry ran), the wall time it took
//!   (`ms`), and for a rejection the forced phrase's mean
//!   log-probability on the last pass (`forced`, to weigh the first stage's
//!   score as evidence).
//!
//! `heyplayer_tools.wake.verify_short` makes the table from this dump.
//!
//!     cargo run --example verify_short -- CLIP.wav...
//!
//! `VERIFY_MARGINS="0,150,300"` (ms) and `VERIFY_CTX="0,512"` (frames) set
//! the grid; `VERIFY_THREADS=N` Whisper's threads (use 1 on a busy
//! machine: with 2, whisper.cpp's threads waiting on each other made one
//! clip take minutes instead of seconds). Progress goes to stderr.

use std::time::Instant;

use anyhow::Context;
use heyplayer::audio::wav::WavSource;
use heyplayer::audio::{read_all, SAMPLE_RATE};
use heyplayer::command::verify::{
    verify_wake_clip, verify_wake_short, wake_lead, WakeCheck, WakeVerdict,
};
use heyplayer::config::Config;
use heyplayer::pipeline::{asr_worker, wake_models};
use heyplayer::wake::WakeDetector;

fn list(var: &str, default: &str) -> anyhow::Result<Vec<usize>> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().parse().with_context(|| format!("{var}: {s:?}")))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!args.is_empty(), "usage: verify_short CLIP.wav...");
    let mut cfg = Config::default();
    if let Ok(n) = std::env::var("VERIFY_THREADS") {
        cfg.asr.threads = n.parse().context("VERIFY_THREADS")?;
    }
    let margins = list("VERIFY_MARGINS", "0,150,300")?;
    let ctxs = list("VERIFY_CTX", "0,512")?;
    let mut asr = asr_worker(&cfg)?;
    let models = wake_models(&cfg)?;
    let check = WakeCheck::new(&cfg.wake);
    let lead = wake_lead(&check.phrase);
    let ms_to_samples = |ms: u64| (ms * u64::from(SAMPLE_RATE) / 1000) as usize;
    for path in &args {
        let clip = read_all(WavSource::open(std::path::Path::new(path), false)?)
            .with_context(|| path.clone())?;
        // The first stage, frame by frame.
        let scan = WakeDetector::new(models.clone(), cfg.wake.detector).scan(&clip)?;
        let fired = scan.first;
        eprintln!("[verify_short] {path}: first stage done");
        let (t_ms, score) = scan.decisive();
        // Today's whole-clip check.
        let started = Instant::now();
        let t = asr.transcribe(&clip).with_context(|| path.clone())?;
        let (v, plain) = verify_wake_clip(&mut asr, &t, &check, score)?;
        let forced = match v {
            WakeVerdict::Heard(_) => None,
            _ => Some(asr.force(&lead)?.lead_avg_logprob),
        };
        let whole = serde_json::json!({
            "forced": forced,
            "heard": t.text,
            "plain": plain.map(|p| p.text),
            "verified": v.why().is_none(),
            "why": v.why(),
            "ms": started.elapsed().as_millis() as u64,
        });
        eprintln!("[verify_short] {path}: whole done");
        let mut short = serde_json::Map::new();
        let start = ms_to_samples(t_ms.saturating_sub(cfg.wake.preroll_ms));
        for &m in &margins {
            let end = ms_to_samples(t_ms + m as u64).min(clip.len());
            let s = &clip[start.min(end)..end];
            for &c in &ctxs {
                let started = Instant::now();
                let (v, heard, plain) = verify_wake_short(&mut asr, s, &check, c, score)?;
                let ms = started.elapsed().as_millis() as u64;
                // What Whisper heard in the pass that decided (the plain one
                // when the prompted one failed), and, for a rejection, the
                // forced phrase's score on it.
                let forced = match v {
                    WakeVerdict::Heard(_) => None,
                    _ => Some(asr.force(&lead)?.lead_avg_logprob),
                };
                short.insert(
                    format!("{m}/{c}"),
                    serde_json::json!({
                        "samples": s.len(),
                        "heard": heard.text,
                        "plain": plain.map(|p| p.text),
                        "verified": v.why().is_none(),
                        "why": v.why(),
                        "forced": forced,
                        "ms": ms,
                    }),
                );
            }
        }
        let row = serde_json::json!({
            "clip": path,
            "first": {"fired": fired.is_some(), "t_ms": t_ms, "score": score},
            "whole": whole,
            "short": short,
        });
        println!("{row}");
    }
    Ok(())
}
