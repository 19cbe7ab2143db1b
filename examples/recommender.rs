//! A small recommender that follows heyplayer's context signal.
//!
//! It subscribes to the Unix socket `heyplayer listen --context-socket PATH`
//! publishes (JSON Lines, `"schema": 1`), keeps the latest context, and picks
//! a playlist mood from it with a short reason a person can read:
//!
//! ```text
//! cargo run --example recommender -- /run/user/1000/heyplayer-context.sock
//! mood: acoustic, mellow | You sound calm and you're outdoors (nature), so: acoustic, mellow.
//! ```
//!
//! The signal carries labels only (surroundings, company, mood, each with a
//! confidence and the sounds behind it): never audio, words or identity.
//! With `--once` it exits after the first context.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The schema this consumer understands.
const SCHEMA: u64 = 1;
/// Arousal above this sounds energetic, below [`CALM_BELOW`] calm.
const ENERGETIC_ABOVE: f64 = 0.6;
/// See [`ENERGETIC_ABOVE`].
const CALM_BELOW: f64 = 0.4;

/// A label's value, or `None` when heyplayer was not sure ("unknown").
fn value<'a>(ctx: &'a Value, axis: &str) -> Option<&'a str> {
    ctx[axis]["value"].as_str().filter(|v| *v != "unknown")
}

/// The mood and why, from one context.
fn pick(ctx: &Value) -> (Vec<&'static str>, String) {
    let mut mood = Vec::new();
    let mut why = Vec::new();
    let arousal = ctx["arousal"]["value"].as_f64();
    match (value(ctx, "emotion"), arousal) {
        (Some("sad"), _) => {
            why.push("you sound a little down".to_string());
            mood.push("comforting");
        }
        (Some("angry"), _) => {
            why.push("you sound wound up".to_string());
            mood.push("cathartic");
        }
        (Some("happy"), _) => {
            why.push("you sound cheerful".to_string());
            mood.push("feel-good");
        }
        (_, Some(a)) if a > ENERGETIC_ABOVE => {
            why.push("you sound energetic".to_string());
            mood.push("upbeat");
        }
        (_, Some(a)) if a < CALM_BELOW => {
            why.push("you sound calm".to_string());
            mood.push("mellow");
        }
        _ => {}
    }
    match value(ctx, "physical") {
        Some("nature") => {
            why.push("you're outdoors (nature)".into());
            mood.push("acoustic");
        }
        Some("street") => {
            why.push("you're out in the street".into());
            mood.push("driving beat");
        }
        Some("vehicle") => {
            why.push("you're on the move".into());
            mood.push("road trip");
        }
        Some("indoor_busy") => {
            why.push("it's busy around you".into());
            mood.push("background");
        }
        Some("indoor_quiet") => {
            why.push("it's quiet indoors".into());
            mood.push("soft");
        }
        _ => {}
    }
    match value(ctx, "social") {
        Some("conversation") | Some("crowd") => {
            why.push("people are talking nearby".into());
            mood.push("instrumental");
        }
        Some("alone") => why.push("you seem to be on your own".into()),
        _ => {}
    }
    if mood.is_empty() {
        return (
            vec!["your usual"],
            "heyplayer was not sure of your surroundings or mood, so: your usual.".into(),
        );
    }
    let mut text = why.join(" and ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    let mood_text = mood.join(", ");
    (mood, format!("{text}, so: {mood_text}."))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        bail!("usage: recommender SOCKET [--once]\n  SOCKET: the path given to `heyplayer listen --context-socket`");
    };
    let once = args.any(|a| a == "--once");
    let sock = UnixStream::connect(&path).with_context(|| {
        format!("cannot connect to {path}: is `heyplayer listen --context-socket {path}` running?")
    })?;
    eprintln!("recommender: following {path}");
    let mut latest: Option<Value> = None;
    for line in BufReader::new(sock).lines() {
        let line = line.context("reading the context socket")?;
        let msg: Value =
            serde_json::from_str(&line).with_context(|| format!("bad line {line:?}"))?;
        match msg["schema"].as_u64() {
            Some(SCHEMA) => {}
            other => bail!("schema {other:?} is not {SCHEMA}: update this recommender"),
        }
        let ctx = &msg["context"];
        let (mood, why) = pick(ctx);
        println!("mood: {} | {why}", mood.join(", "));
        latest = Some(ctx.clone());
        if once {
            break;
        }
    }
    if latest.is_none() {
        eprintln!("recommender: heyplayer stopped before any context");
    }
    Ok(())
}
