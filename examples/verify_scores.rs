//! The wake word's second stage on each clip it is given: whether it accepts
//! the phrase with the default settings (`verified`, the daemon's
//! `verify_wake_clip`), what Whisper hears, whether the transcript starts with
//! the phrase, and the mean log-probability of the phrase forced at its start
//! (the score `wake.verify_min_forced_logprob` is compared with). One JSON
//! line per clip. Used to choose that threshold on
//! clips of the training voices (`heyplayer_tools.wake.verify_tune`).
//!
//!     cargo run --release --example verify_scores -- [--phrase "hey player"] CLIP.wav...
//!
//! `VERIFY_THREADS=N` sets Whisper's threads (1 lets two runs share two
//! cores without spinning on each other); `VERIFY_PROMPT=TEXT` replaces the
//! initial prompt, to see what another prompt would do to the scores.
//! `VERIFY_LEADS="Hey player,|Hey layer,|..."` adds the summed log-probability
//! of each of these texts as the transcript's start (`leads`), and
//! `VERIFY_PLAIN=1` the same scores after a pass without the prompt (`plain`).

use anyhow::Context;
use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::command::verify::{match_phrase, verify_wake_clip, wake_lead, WakeCheck};
use heyplayer::config::Config;
use heyplayer::pipeline::asr_worker;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut phrase = heyplayer::config::DEFAULT_WAKE_PHRASE.to_string();
    if let Some(i) = args.iter().position(|a| a == "--phrase") {
        phrase = args.get(i + 1).context("--phrase needs a value")?.clone();
        args.drain(i..i + 2);
    }
    anyhow::ensure!(
        !args.is_empty(),
        "usage: verify_scores [--phrase P] CLIP.wav..."
    );
    let mut cfg = Config::default();
    if let Ok(p) = std::env::var("VERIFY_PROMPT") {
        cfg.asr.initial_prompt = p;
    }
    if let Ok(n) = std::env::var("VERIFY_THREADS") {
        cfg.asr.threads = n.parse().context("VERIFY_THREADS")?;
        anyhow::ensure!(cfg.asr.threads >= 1, "VERIFY_THREADS must be at least 1");
    }
    let mut asr = asr_worker(&cfg)?;
    let lead = wake_lead(&phrase);
    cfg.wake.phrase = heyplayer::intent::normalise(&phrase);
    let check = WakeCheck::new(&cfg.wake);
    let extra: Vec<String> = std::env::var("VERIFY_LEADS")
        .map(|v| v.split('|').map(str::to_string).collect())
        .unwrap_or_default();
    for path in &args {
        let clip = read_all(WavSource::open(std::path::Path::new(path), false)?)
            .with_context(|| path.clone())?;
        let t = asr.transcribe(&clip).with_context(|| path.clone())?;
        let matched = match_phrase(&t.text, &phrase).is_some();
        let forced = asr.force(&lead)?;
        let leads = lead_scores(&mut asr, &extra)?;
        // On the same prompted encoding; it transcribes again without the
        // prompt only when the prompted check fails.
        let (verified, _) = verify_wake_clip(&mut asr, &t, &check)?;
        let mut row = serde_json::json!({
            "clip": path,
            "heard": t.text,
            "matched": matched,
            "forced_logprob": forced.lead_avg_logprob,
            "verified": verified.why().is_none(),
            "why": verified.why(),
            "leads": leads,
        });
        if asr.has_prompt() && std::env::var_os("VERIFY_PLAIN").is_some() {
            let p = asr.transcribe_plain(&clip).with_context(|| path.clone())?;
            let pf = asr.force(&lead)?;
            row["plain"] = serde_json::json!({
                "heard": p.text,
                "matched": match_phrase(&p.text, &phrase).is_some(),
                "forced_logprob": pf.lead_avg_logprob,
                "leads": lead_scores(&mut asr, &extra)?,
            });
        }
        println!("{row}");
    }
    Ok(())
}

/// The summed log-probability of each lead in `leads` on the clip last transcribed.
fn lead_scores(
    asr: &mut heyplayer::asr::AsrWorker,
    leads: &[String],
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let lp = asr.lead_logprobs(leads)?;
    Ok(leads
        .iter()
        .cloned()
        .zip(lp.into_iter().map(Into::into))
        .collect())
}
