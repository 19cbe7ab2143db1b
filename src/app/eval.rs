//! `heyplayer eval`: scores the whole pipeline on a labelled corpus, in the
//! shared format of `../shared/EVAL.md` (JSON Lines; paths relative to the
//! manifest's folder; only the labels present on a line are scored).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::audio::wav::WavSource;
use crate::config::Config;
use crate::events::Event;
use crate::intent::{normalise, Command};
use crate::pipeline::{collect_all_events_with, Assistant};
use crate::text::edit_distance;
use crate::Error;

/// Errors reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The manifest cannot be read.
    #[error("cannot read the manifest {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest has no entries.
    #[error("the manifest {path} has no entries: give one JSON object per line, {{\"id\", \"audio\", \"labels\"}} (../shared/EVAL.md)")]
    Empty {
        /// The file.
        path: String,
    },
    /// A line is not a valid entry.
    #[error("{path}:{line}: not a manifest entry ({detail}); each line is one JSON object with \"id\", \"audio\" and \"labels\" (../shared/EVAL.md)")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// Loading the models or running the pipeline on a file failed.
    #[error(transparent)]
    Pipeline(#[from] Error),
}

/// One manifest line.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// Identifier.
    pub id: String,
    /// Audio file, relative to the manifest's folder.
    pub audio: PathBuf,
    /// Labels; only those present are scored.
    #[serde(default)]
    pub labels: Labels,
}

/// The labels of one file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Labels {
    /// Whether the file holds exactly one wake phrase.
    pub wake: Option<bool>,
    /// The command spoken after the wake phrase.
    pub transcript: Option<String>,
    /// The command's intent.
    pub intent: Option<Command>,
    /// Physical environment (scored from the `context` event).
    pub physical: Option<String>,
    /// Social environment (scored from the `context` event).
    pub social: Option<String>,
    /// Emotion (scored from the `context` event).
    pub emotion: Option<String>,
}

/// Reads a manifest.
pub fn read_manifest(path: &Path) -> Result<Vec<Entry>, EvalError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line).map_err(|e| EvalError::Line {
            path: shown.clone(),
            line: i + 1,
            detail: e.to_string(),
        })?;
        out.push(e);
    }
    if out.is_empty() {
        return Err(EvalError::Empty { path: shown });
    }
    Ok(out)
}

/// Wake-word figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WakeScore {
    /// Files labelled `wake: true`.
    pub positives: usize,
    /// Positives with no wake accepted (both stages).
    pub missed: usize,
    /// missed / positives.
    pub frr: Option<f64>,
    /// Positives the first stage alone missed.
    pub missed_first_stage: usize,
    /// FRR of the first stage alone.
    pub frr_first_stage: Option<f64>,
    /// Hours of `wake: false` audio.
    pub negative_hours: f64,
    /// Wakes accepted on negatives (both stages).
    pub false_accepts: usize,
    /// Per hour.
    pub false_accepts_per_hour: Option<f64>,
    /// First-stage detections on negatives.
    pub false_accepts_first_stage: usize,
    /// Per hour.
    pub false_accepts_per_hour_first_stage: Option<f64>,
    /// Each missed positive: which stage lost it and what Whisper heard.
    pub misses: Vec<WakeMiss>,
    /// Each wake accepted on a negative, and what was transcribed after it.
    pub false_accept_list: Vec<FalseAccept>,
}

/// A positive file with no accepted wake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WakeMiss {
    /// The manifest id.
    pub id: String,
    /// `first_stage` when the detector never fired, `verification` when
    /// Whisper rejected every detection.
    pub stage: &'static str,
    /// What Whisper heard at each rejected detection.
    pub heard: Vec<String>,
}

/// A wake accepted on a negative file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAccept {
    /// The manifest id.
    pub id: String,
    /// Audio clock of the first-stage detection, ms.
    pub t_ms: u64,
    /// The transcript after it, if there was one.
    pub transcript: Option<String>,
}

/// The wake outcome of one file's events: the first-stage detections, and
/// for each whether Whisper rejected it (what it heard) and the transcript
/// that followed an accepted one.
fn wake_outcomes(events: &[Event]) -> Vec<(u64, Result<Option<String>, String>)> {
    let mut out: Vec<(u64, Result<Option<String>, String>)> = Vec::new();
    for ev in events {
        match ev {
            Event::Wake { t_ms, .. } => out.push((*t_ms, Ok(None))),
            Event::WakeRejected {
                heard,
                heard_plain,
                why,
                ..
            } => {
                if let Some(last) = out.last_mut() {
                    // What was heard, without the prompt too, and why it failed.
                    let mut h = heard.clone().unwrap_or_default();
                    if let Some(p) = heard_plain {
                        h += &format!(" / plain: {p}");
                    }
                    if !why.is_empty() {
                        h += &format!(" ({why})");
                    }
                    last.1 = Err(h);
                }
            }
            Event::CommandFailed { stage, reason, .. } => {
                if let Some(last) = out.last_mut() {
                    last.1 = Err(format!("handling failed ({stage}): {reason}"));
                }
            }
            Event::Transcript { text, .. } => {
                if let Some((_, Ok(t @ None))) = out.last_mut() {
                    *t = Some(text.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// Command figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommandScore {
    /// Files with a transcript label.
    pub transcripts: usize,
    /// Word errors / reference words (a missed wake counts every word as deleted).
    pub wer: Option<f64>,
    /// Files with an intent label.
    pub intents: usize,
    /// Action (and value) right.
    pub intent_correct: usize,
    /// intent_correct / intents.
    pub intent_accuracy: Option<f64>,
    /// Mean word overlap of the query (for `play` with a query).
    pub query_overlap: Option<f64>,
}

/// Speed figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Perf {
    /// Audio processed, s.
    pub audio_seconds: f64,
    /// Wall-clock processing, s.
    pub processing_seconds: f64,
    /// audio / processing.
    pub real_time_factor: f64,
    /// Peak resident memory, MB (Linux VmHWM).
    pub peak_rss_mb: Option<f64>,
    /// End of the command's speech to the `command` event: audio clock
    /// (hang-over) plus Whisper's processing time, ms, median.
    pub latency_p50_ms: Option<u64>,
    /// Same, 95th percentile.
    pub latency_p95_ms: Option<u64>,
}

/// Answer counted when a file labelled for context got no `context` event
/// (no wake, or no command understood).
pub const NO_CONTEXT: &str = "none";

/// Figures of one context axis (physical, social or emotion).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AxisScore {
    /// Files with this label.
    pub labelled: usize,
    /// Files whose `context` event gave the labelled value (`unknown` and
    /// no event count as wrong).
    pub correct: usize,
    /// correct / labelled.
    pub accuracy: Option<f64>,
    /// truth -> answer -> files; answers include `unknown` and `none` (no event).
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

impl AxisScore {
    /// Counts one file.
    pub fn add(&mut self, truth: &str, answer: &str) {
        self.labelled += 1;
        if truth == answer {
            self.correct += 1;
        }
        *self
            .confusion
            .entry(truth.to_string())
            .or_default()
            .entry(answer.to_string())
            .or_default() += 1;
        self.accuracy = ratio(self.correct, self.labelled);
    }

    /// Per-class accuracy (recall): truth -> (correct, files).
    pub fn per_class(&self) -> BTreeMap<String, (usize, usize)> {
        self.confusion
            .iter()
            .map(|(t, row)| {
                let n = row.values().sum();
                (t.clone(), (row.get(t).copied().unwrap_or(0), n))
            })
            .collect()
    }
}

/// Context figures, from the `context` events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContextScore {
    /// Physical environment.
    pub physical: AxisScore,
    /// Social environment.
    pub social: AxisScore,
    /// Emotion.
    pub emotion: AxisScore,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Files scored.
    pub files: usize,
    /// Wake word.
    pub wake: WakeScore,
    /// Commands.
    pub command: CommandScore,
    /// Context labels (physical, social, emotion).
    pub context: ContextScore,
    /// Labels present but not scored (context labels when the context stage is off).
    pub not_scored: Vec<String>,
    /// Speed.
    pub perf: Perf,
    /// Files that could not be scored, with why (the rest are scored).
    pub errors: Vec<FileError>,
}

/// A file `eval` could not score.
#[derive(Debug, Clone, Serialize)]
pub struct FileError {
    /// The manifest id.
    pub id: String,
    /// The audio file, as in the manifest.
    pub audio: String,
    /// What went wrong.
    pub error: String,
}

/// WER normalisation (EVAL.md): lower case, punctuation stripped, numbers as
/// digits ("one" too, which the intent parser keeps as a word).
pub fn wer_words(s: &str) -> Vec<String> {
    normalise(s)
        .split_whitespace()
        .map(|w| match w {
            "one" => "1".to_string(),
            w => w.replace('\'', ""),
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Scores every file of the manifest; `progress` is called after each file.
pub fn evaluate(
    manifest: &Path,
    config: &Config,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Report, EvalError> {
    let entries = read_manifest(manifest)?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut assistant = Assistant::new(config)?;
    let mut r = Report::default();
    let (mut word_errors, mut ref_words) = (0usize, 0usize);
    let (mut overlap_sum, mut overlap_n) = (0.0f64, 0usize);
    let mut latencies = Vec::new();
    let started = Instant::now();
    for (i, e) in entries.iter().enumerate() {
        let ran = WavSource::open(&base.join(&e.audio), false)
            .map_err(Error::from)
            .and_then(|src| collect_all_events_with(src, config, &mut assistant));
        let events = match ran {
            Ok(events) => events,
            Err(err) => {
                // One bad file costs its own result only.
                r.errors.push(FileError {
                    id: e.id.clone(),
                    audio: e.audio.display().to_string(),
                    error: err.to_string(),
                });
                progress(i + 1, entries.len(), &e.id);
                continue;
            }
        };
        let audio_s = events.last().map(|ev| ev.t_ms()).unwrap_or(0) as f64 / 1000.0;
        r.perf.audio_seconds += audio_s;
        let outcomes = wake_outcomes(&events);
        let first = outcomes.len();
        let accepted = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
        let transcript = events.iter().find_map(|ev| match ev {
            Event::Transcript { text, .. } => Some(text.clone()),
            _ => None,
        });
        let command = events.iter().find_map(|ev| match ev {
            Event::Command { t_ms, command, .. } => Some((*t_ms, command.clone())),
            _ => None,
        });
        if let Some((t_cmd, _)) = &command {
            let speech_end = events
                .iter()
                .filter_map(|ev| match ev {
                    Event::VoiceStopped { t_ms, .. } if t_ms <= t_cmd => Some(*t_ms),
                    _ => None,
                })
                .max();
            if let Some(end) = speech_end {
                latencies.push(t_cmd - end + assistant.last_wait_ms());
            }
        }
        match e.labels.wake {
            Some(true) => {
                r.wake.positives += 1;
                if accepted == 0 {
                    r.wake.missed += 1;
                    r.wake.misses.push(WakeMiss {
                        id: e.id.clone(),
                        stage: if first == 0 {
                            "first_stage"
                        } else {
                            "verification"
                        },
                        heard: outcomes
                            .iter()
                            .filter_map(|(_, o)| o.as_ref().err().cloned())
                            .collect(),
                    });
                }
                if first == 0 {
                    r.wake.missed_first_stage += 1;
                }
            }
            Some(false) => {
                r.wake.negative_hours += audio_s / 3600.0;
                r.wake.false_accepts += accepted;
                r.wake.false_accepts_first_stage += first;
                for (t_ms, o) in &outcomes {
                    if let Ok(transcript) = o {
                        r.wake.false_accept_list.push(FalseAccept {
                            id: e.id.clone(),
                            t_ms: *t_ms,
                            transcript: transcript.clone(),
                        });
                    }
                }
            }
            None => {}
        }
        if let Some(want) = &e.labels.transcript {
            r.command.transcripts += 1;
            let w = wer_words(want);
            let h = transcript.as_deref().map(wer_words).unwrap_or_default();
            word_errors += edit_distance(&w, &h);
            ref_words += w.len();
        }
        if let Some(want) = &e.labels.intent {
            r.command.intents += 1;
            if let Some((_, got)) = &command {
                if got.action == want.action && got.value == want.value {
                    r.command.intent_correct += 1;
                }
                if let Some(q) = &want.query {
                    let w = wer_words(q);
                    let h = got.query.as_deref().map(wer_words).unwrap_or_default();
                    let hit = w.iter().filter(|x| h.contains(x)).count();
                    overlap_sum += hit as f64 / w.len().max(1) as f64;
                }
            }
            if want.query.is_some() {
                overlap_n += 1;
            }
        }
        let context = events.iter().find_map(|ev| match ev {
            Event::Context { labels, .. } => Some(labels),
            _ => None,
        });
        for (name, want, score) in [
            ("physical", &e.labels.physical, &mut r.context.physical),
            ("social", &e.labels.social, &mut r.context.social),
            ("emotion", &e.labels.emotion, &mut r.context.emotion),
        ] {
            let Some(want) = want else { continue };
            if !config.context_enabled {
                if !r.not_scored.iter().any(|n| n == name) {
                    r.not_scored.push(name.to_string());
                }
                continue;
            }
            let got = context.map_or(NO_CONTEXT, |l| match name {
                "physical" => l.physical.value.as_str(),
                "social" => l.social.value.as_str(),
                _ => l.emotion.value.as_str(),
            });
            score.add(want, got);
        }
        r.files += 1;
        progress(i + 1, entries.len(), &e.id);
    }
    r.perf.processing_seconds = started.elapsed().as_secs_f64();
    r.perf.real_time_factor = r.perf.audio_seconds / r.perf.processing_seconds.max(1e-9);
    r.perf.peak_rss_mb = peak_rss_mb();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
    };
    r.perf.latency_p50_ms = pct(0.5);
    r.perf.latency_p95_ms = pct(0.95);
    r.wake.frr = ratio(r.wake.missed, r.wake.positives);
    r.wake.frr_first_stage = ratio(r.wake.missed_first_stage, r.wake.positives);
    let per_hour =
        |n: usize| (r.wake.negative_hours > 0.0).then(|| n as f64 / r.wake.negative_hours);
    r.wake.false_accepts_per_hour = per_hour(r.wake.false_accepts);
    r.wake.false_accepts_per_hour_first_stage = per_hour(r.wake.false_accepts_first_stage);
    r.command.wer = ratio(word_errors, ref_words);
    r.command.intent_accuracy = ratio(r.command.intent_correct, r.command.intents);
    r.command.query_overlap = (overlap_n > 0).then(|| overlap_sum / overlap_n as f64);
    Ok(r)
}

/// Misses and false accepts shown by name in the text summary.
const SHOWN: usize = 5;

impl Report {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let pc = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
        let f2 = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.2}"));
        let ms = |x: Option<u64>| x.map_or("n/a".to_string(), |v| format!("{v} ms"));
        let w = &self.wake;
        let c = &self.command;
        let p = &self.perf;
        let mut s = format!(
            "files: {}\n\
             wake: {} positives, FRR {} (first stage alone {}); {:.2} h of negatives, \
             {} false accepts = {}/h (first stage alone {} = {}/h)\n\
             command: WER {} on {} transcripts; intent accuracy {} ({}/{}); query word overlap {}\n\
             perf: {:.1} s of audio in {:.1} s ({:.1}x real time), peak RSS {} MB, \
             latency end of speech -> command p50 {}, p95 {}\n",
            self.files,
            w.positives,
            pc(w.frr),
            pc(w.frr_first_stage),
            w.negative_hours,
            w.false_accepts,
            f2(w.false_accepts_per_hour),
            w.false_accepts_first_stage,
            f2(w.false_accepts_per_hour_first_stage),
            pc(c.wer),
            c.transcripts,
            pc(c.intent_accuracy),
            c.intent_correct,
            c.intents,
            pc(c.query_overlap),
            p.audio_seconds,
            p.processing_seconds,
            p.real_time_factor,
            f2(p.peak_rss_mb),
            ms(p.latency_p50_ms),
            ms(p.latency_p95_ms),
        );
        let by_stage = |stage: &str| w.misses.iter().filter(|m| m.stage == stage).count();
        if !w.misses.is_empty() {
            s.push_str(&format!(
                "wake misses: {} by the first stage, {} rejected by verification\n",
                by_stage("first_stage"),
                by_stage("verification")
            ));
            for m in w.misses.iter().filter(|m| !m.heard.is_empty()).take(SHOWN) {
                s.push_str(&format!(
                    "  {}: Whisper heard {:?}\n",
                    m.id,
                    m.heard.join(" | ")
                ));
            }
        }
        for fa in w.false_accept_list.iter().take(SHOWN) {
            s.push_str(&format!(
                "false accept: {} at {} ms, then {:?}\n",
                fa.id,
                fa.t_ms,
                fa.transcript.as_deref().unwrap_or("")
            ));
        }
        if w.misses.len() > SHOWN || w.false_accept_list.len() > SHOWN {
            s.push_str("(--json lists every miss and false accept)\n");
        }
        for (name, a) in [
            ("physical", &self.context.physical),
            ("social", &self.context.social),
            ("emotion", &self.context.emotion),
        ] {
            if a.labelled == 0 {
                continue;
            }
            let classes: Vec<String> = a
                .per_class()
                .iter()
                .map(|(t, (c, n))| format!("{t} {c}/{n}"))
                .collect();
            s.push_str(&format!(
                "{name}: accuracy {} ({}/{}); per class: {}\n",
                pc(a.accuracy),
                a.correct,
                a.labelled,
                classes.join(", ")
            ));
            for (t, row) in &a.confusion {
                let cells: Vec<String> = row.iter().map(|(g, n)| format!("{g} {n}")).collect();
                s.push_str(&format!("  {t} -> {}\n", cells.join(", ")));
            }
        }
        if !self.not_scored.is_empty() {
            s.push_str(&format!(
                "not scored (context stage off): {}\n",
                self.not_scored.join(", ")
            ));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!(
                "not scored ({} file(s) failed; the figures above are of the rest):\n",
                self.errors.len()
            ));
            for e in &self.errors {
                s.push_str(&format!("  {} ({}): {}\n", e.id, e.audio, e.error));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_parse_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.jsonl");
        std::fs::write(
            &m,
            "{\"id\":\"p\",\"audio\":\"a.wav\",\"labels\":{\"wake\":true,\"transcript\":\"play some jazz\",\"intent\":{\"action\":\"play\",\"query\":\"some jazz\"},\"physical\":\"street\"}}\n\n{\"id\":\"n\",\"audio\":\"b.wav\",\"labels\":{\"wake\":false}}\n",
        )
        .unwrap();
        let e = read_manifest(&m).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0].labels.intent.as_ref().unwrap().query.as_deref(),
            Some("some jazz")
        );
        assert_eq!(e[1].labels.wake, Some(false));
        std::fs::write(&m, "{\"id\":1}\n").unwrap();
        let err = read_manifest(&m).unwrap_err().to_string();
        assert!(err.contains("m.jsonl:1"), "{err}");
        // Nothing to score is an error, not a report of zeros.
        std::fs::write(&m, "\n  \n").unwrap();
        let err = read_manifest(&m).unwrap_err();
        assert!(matches!(err, EvalError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("has no entries"), "{err}");
    }

    #[test]
    fn wake_outcomes_pair_each_detection_with_its_verdict() {
        let wake = |t_ms| Event::Wake {
            t_ms,
            phrase: "hey player".into(),
            score: 0.9,
        };
        let events = [
            wake(1000),
            Event::WakeRejected {
                t_ms: 1500,
                heard: Some("Hey, layer.".into()),
                heard_plain: Some("Hey layer.".into()),
                why: "phrase not heard".into(),
            },
            wake(4000),
            Event::Transcript {
                t_ms: 5000,
                text: "play some jazz".into(),
            },
            wake(9000),
        ];
        assert_eq!(
            wake_outcomes(&events),
            vec![
                (
                    1000,
                    Err("Hey, layer. / plain: Hey layer. (phrase not heard)".to_string())
                ),
                (4000, Ok(Some("play some jazz".to_string()))),
                (9000, Ok(None)),
            ]
        );
        assert!(wake_outcomes(&[]).is_empty());
    }

    #[test]
    fn context_axes_count_accuracy_and_confusion() {
        let mut a = AxisScore::default();
        a.add("street", "street");
        a.add("street", "vehicle");
        a.add("street", NO_CONTEXT);
        a.add("nature", "nature");
        assert_eq!((a.labelled, a.correct), (4, 2));
        assert!((a.accuracy.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(a.confusion["street"]["vehicle"], 1);
        assert_eq!(a.confusion["street"][NO_CONTEXT], 1);
        assert_eq!(a.per_class()["street"], (1, 3));
        assert_eq!(a.per_class()["nature"], (1, 1));
        let r = Report {
            context: ContextScore {
                physical: a,
                ..Default::default()
            },
            ..Default::default()
        };
        let t = r.to_text();
        assert!(t.contains("physical: accuracy 50.0% (2/4)"), "{t}");
        assert!(t.contains("street -> none 1, street 1, vehicle 1"), "{t}");
        assert!(!t.contains("social:"), "{t}");
    }

    #[test]
    fn wer_words_and_distance() {
        assert_eq!(
            wer_words("Set the volume to forty!"),
            vec!["set", "the", "volume", "to", "40"]
        );
        assert_eq!(
            edit_distance(&wer_words("play some jazz"), &wer_words("play jazz")),
            1
        );
    }
}
