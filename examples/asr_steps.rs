//! Where a command's Whisper time goes (issue 31): for each clip, the wall
//! time of each step the command worker runs after a wake, with the default
//! settings: the primed transcription (encoder + free decoding), the second
//! wake stage (forced phrase, rival leads, the retry without the prompt when
//! it runs; the first stage's score from a scan of the clip) and
//! understanding (guided decoding when the free text is not a command).
//! One JSON line per clip (wall and this thread's CPU time per step), then
//! the medians of the CPU times on stderr: with `ASR_THREADS=1`
//! Whisper computes on this thread, so those are the work itself, which a
//! shared machine does not distort as it does wall time.
//!
//!     cargo run --release --example asr_steps -- CLIP.wav...
//!
//! `ASR_THREADS=N` sets Whisper's threads; `ASR_MIN_CTX=N` the audio-context
//! floor (encoder frames); `ASR_PROMPT` the initial prompt (empty: none).

use std::time::Instant;

use anyhow::Context;
use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::command::verify::{verify_wake_clip, wake_lead, WakeCheck};
use heyplayer::config::Config;
use heyplayer::pipeline::{asr_worker, wake_models};
use heyplayer::wake::WakeDetector;

/// On-CPU time of this thread so far, ms (`/proc/thread-self/schedstat`):
/// with one Whisper thread, the work itself, whatever else the machine runs.
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e6)
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!args.is_empty(), "usage: asr_steps CLIP.wav...");
    let mut cfg = Config::default();
    if let Ok(n) = std::env::var("ASR_THREADS") {
        cfg.asr.threads = n.parse().context("ASR_THREADS")?;
    }
    if let Ok(p) = std::env::var("ASR_PROMPT") {
        cfg.asr.initial_prompt = p;
    }
    if let Ok(n) = std::env::var("ASR_MIN_CTX") {
        cfg.asr.min_audio_ctx = n.parse().context("ASR_MIN_CTX")?;
    }
    let mut asr = asr_worker(&cfg)?;
    let models = wake_models(&cfg)?;
    let check = WakeCheck::new(&cfg.wake);
    let (mut enc, mut ver, mut und, mut all) = (vec![], vec![], vec![], vec![]);
    for path in &args {
        let clip = read_all(WavSource::open(std::path::Path::new(path), false)?)
            .with_context(|| path.clone())?;
        // The first stage's score, which the second stage weighs.
        let scan = WakeDetector::new(models.clone(), cfg.wake.detector).scan(&clip)?;
        let (_, score) = scan.decisive();
        let (t0, c0) = (Instant::now(), cpu_ms());
        let t = asr.transcribe(&clip)?;
        let (t1, c1) = (Instant::now(), cpu_ms());
        let (v, plain) = verify_wake_clip(&mut asr, &t, &check, score)?;
        let (t2, c2) = (Instant::now(), cpu_ms());
        let retried = plain.is_some();
        let text = plain.as_ref().unwrap_or(&t);
        let stood = v.command();
        let mut guided = false;
        let mut intent = None;
        if let Some(rest) = &stood {
            let u = asr.understand(text, rest, &wake_lead(&check.phrase))?;
            guided = u.guess.is_some();
            intent = u.command.map(|c| format!("{:?}", c.action));
        }
        let (t3, c3) = (Instant::now(), cpu_ms());
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        enc.push(c1 - c0);
        ver.push(c2 - c1);
        und.push(c3 - c2);
        all.push(c3 - c0);
        println!(
            "{}",
            serde_json::json!({
                "clip": path,
                "audio_ms": t.audio_ms,
                "heard": t.text,
                "stood": stood.is_some(),
                "retried": retried,
                "guided": guided,
                "intent": intent,
                "transcribe_ms": ms(t0, t1),
                "verify_ms": ms(t1, t2),
                "understand_ms": ms(t2, t3),
                "total_ms": ms(t0, t3),
                "cpu_ms": [c1 - c0, c2 - c1, c3 - c2],
            })
        );
    }
    eprintln!(
        "medians of this thread's CPU time over {} clips: transcribe {:.0} ms, verify {:.0} ms, understand {:.0} ms, total {:.0} ms",
        all.len(),
        median(&mut enc),
        median(&mut ver),
        median(&mut und),
        median(&mut all)
    );
    Ok(())
}
