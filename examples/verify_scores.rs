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
//! initial prompt, to see what another prompt would do to the scores;
//! `VERIFY_MODEL=NAME` another Whisper model (`heyplayer models list`).
//! `VERIFY_LEADS="Hey player,|Hey layer,|..."` adds the summed log-probability
//! of each of these texts as the transcript's start (`leads`), and
//! `VERIFY_PLAIN=1` the same scores after a pass without the prompt (`plain`).
//!
//! `VERIFY_EVIDENCE=1` dumps all the evidence the second stage could weigh,
//! to rescore it offline without running Whisper again
//! (`heyplayer_tools.wake.verify_study`): `first`, the first stage run over
//! the clip (`fired`, and the time and score of its first detection, else of
//! its best step), and `passes.prompted` / `passes.plain`, each pass (the
//! plain one always runs) with its transcript (`text`, `avg_logprob`,
//! `logprob`, `no_speech_prob`, `matched`), the forced phrase's mean
//! log-probability (`forced`), and the summed log-probability and token
//! count (`leads`, `tokens`) of the phrase's spellings, its rivals, the
//! `VERIFY_LEADS` texts and the transcript's own first two words (`heard2`).
//!
//! `VERIFY_FIRST_ONLY=1` runs only the first stage (no Whisper): one line per
//! clip with `first` as above, so a dump can be rescored with another head
//! (`HEYPLAYER_MODELS_DIR` naming its models) without hearing the clips again.

use anyhow::Context;
use heyplayer::audio::read_all;
use heyplayer::audio::wav::WavSource;
use heyplayer::command::verify::{match_phrase, verify_wake_clip, wake_lead, WakeCheck};
use heyplayer::config::Config;
use heyplayer::pipeline::{asr_worker, wake_models};
use heyplayer::wake::WakeDetector;

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
    if let Ok(m) = std::env::var("VERIFY_MODEL") {
        cfg.asr_model = m;
    }
    if let Ok(n) = std::env::var("VERIFY_THREADS") {
        cfg.asr.threads = n.parse().context("VERIFY_THREADS")?;
        anyhow::ensure!(cfg.asr.threads >= 1, "VERIFY_THREADS must be at least 1");
    }
    if std::env::var_os("VERIFY_FIRST_ONLY").is_some() {
        return first_stage_only(&cfg, &args);
    }
    let mut asr = asr_worker(&cfg)?;
    let lead = wake_lead(&phrase);
    cfg.wake.phrase = heyplayer::intent::normalise(&phrase);
    let check = WakeCheck::new(&cfg.wake);
    let extra: Vec<String> = std::env::var("VERIFY_LEADS")
        .map(|v| v.split('|').map(str::to_string).collect())
        .unwrap_or_default();
    let evidence = std::env::var_os("VERIFY_EVIDENCE").is_some();
    // The second stage weighs the first stage's score: run it over each clip.
    let models = wake_models(&cfg)?;
    // The phrase's spellings, its rivals and the extra texts, as leads.
    let mut scored: Vec<String> = check.leads().to_vec();
    scored.extend(extra.iter().cloned());
    for path in &args {
        let clip = read_all(WavSource::open(std::path::Path::new(path), false)?)
            .with_context(|| path.clone())?;
        let t = asr.transcribe(&clip).with_context(|| path.clone())?;
        let (first, score) = first_stage(&models, &cfg, &clip)?;
        if evidence {
            let prompted = pass_evidence(&mut asr, &t, &phrase, &lead, &scored)?;
            let (verified, plain) = verify_wake_clip(&mut asr, &t, &check, score)?;
            // The retry left the plain encoding in place; else make it.
            let p = match plain {
                Some(p) => p,
                None => asr.transcribe_plain(&clip).with_context(|| path.clone())?,
            };
            let plain = pass_evidence(&mut asr, &p, &phrase, &lead, &scored)?;
            let row = serde_json::json!({
                "clip": path,
                "first": first,
                "verified": verified.why().is_none(),
                "why": verified.why(),
                "weighed": check.min_evidence.is_some(),
                "passes": {"prompted": prompted, "plain": plain},
            });
            println!("{row}");
            continue;
        }
        let matched = match_phrase(&t.text, &phrase).is_some();
        let forced = asr.force(&lead)?;
        let leads = lead_scores(&mut asr, &extra)?;
        // On the same prompted encoding; it transcribes again without the
        // prompt only when the prompted check fails.
        let (verified, _) = verify_wake_clip(&mut asr, &t, &check, score)?;
        let mut row = serde_json::json!({
            "clip": path,
            "heard": t.text,
            "matched": matched,
            "forced_logprob": forced.lead_avg_logprob,
            "verified": verified.why().is_none(),
            "why": verified.why(),
            "first_score": score,
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

/// The first stage run over a clip: whether it fired, and the time and score
/// of its first detection, else of its best step (as JSON, and the score).
fn first_stage(
    models: &heyplayer::wake::WakeModels,
    cfg: &Config,
    clip: &[f32],
) -> anyhow::Result<(serde_json::Value, f32)> {
    let scan = WakeDetector::new(models.clone(), cfg.wake.detector).scan(clip)?;
    let (t_ms, score) = scan.decisive();
    let first = serde_json::json!({"fired": scan.first.is_some(), "t_ms": t_ms, "score": score});
    Ok((first, score))
}

/// `VERIFY_FIRST_ONLY`: the first stage on each clip, without Whisper.
fn first_stage_only(cfg: &Config, clips: &[String]) -> anyhow::Result<()> {
    let models = wake_models(cfg)?;
    for path in clips {
        let clip = read_all(WavSource::open(std::path::Path::new(path), false)?)
            .with_context(|| path.clone())?;
        let (first, _) = first_stage(&models, cfg, &clip)?;
        println!("{}", serde_json::json!({"clip": path, "first": first}));
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

/// Everything one pass (the clip last transcribed, as `t`) offers the second
/// stage: the transcript's scores, the forced phrase, and each of `leads`
/// and the transcript's own first two words scored as the transcript's start.
fn pass_evidence(
    asr: &mut heyplayer::asr::AsrWorker,
    t: &heyplayer::asr::Transcript,
    phrase: &str,
    lead: &str,
    leads: &[String],
) -> anyhow::Result<serde_json::Value> {
    let forced = asr.force(lead)?;
    let heard2: Vec<&str> = t.text.split_whitespace().take(2).collect();
    let heard2 = heard2.join(" ");
    let mut all = leads.to_vec();
    if !heard2.is_empty() {
        all.push(heard2.clone());
    }
    let scores = lead_scores(asr, &all)?;
    let mut tokens = serde_json::Map::new();
    for l in &all {
        tokens.insert(l.clone(), asr.lead_tokens(l)?.into());
    }
    Ok(serde_json::json!({
        "text": t.text,
        "avg_logprob": t.avg_logprob,
        "logprob": t.logprob,
        "no_speech_prob": t.no_speech_prob,
        "matched": match_phrase(&t.text, phrase).is_some(),
        "forced": forced.lead_avg_logprob,
        "heard2": heard2,
        "leads": scores,
        "tokens": tokens,
    }))
}
