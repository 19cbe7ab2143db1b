//! The event stream: what heyplayer tells the world, one event per line.
//!
//! Names follow Wyoming's (`audio_start`, `voice_started`, …) in snake case.
//! Every event carries `t_ms`, the time on the audio sample clock (ms of
//! 16 kHz audio since the stream started), never the wall clock, so the same
//! input always gives the same events.

use std::io::Write;

use serde::{Deserialize, Serialize};

pub use crate::config::EventFormat;

/// One event. Serialised as a JSON object with a `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Audio started flowing.
    AudioStart {
        /// Audio clock, ms.
        t_ms: u64,
        /// `mic`, `file` or `stdin`.
        source: String,
        /// Device name, file path or `-`.
        name: String,
        /// The source's own rate in Hz (resampled to 16 kHz).
        input_rate: u32,
        /// The source's own channel count (downmixed to mono).
        input_channels: u16,
    },
    /// Someone started speaking (start of the speech, pre-roll not included).
    VoiceStarted {
        /// Audio clock, ms.
        t_ms: u64,
    },
    /// The speech ended (end of the last voiced frame, hang-over not included).
    VoiceStopped {
        /// Audio clock, ms.
        t_ms: u64,
        /// Length of the segment in ms.
        duration_ms: u64,
    },
    /// Audio was lost because the listener fell behind the capture callback.
    FramesDropped {
        /// Audio clock, ms (after the gap).
        t_ms: u64,
        /// Audio lost this time, in ms.
        dropped_ms: u64,
        /// Audio lost since the start, in ms.
        total_dropped_ms: u64,
    },
    /// The input device failed or disappeared; heyplayer keeps trying to reopen it.
    DeviceLost {
        /// Audio clock, ms.
        t_ms: u64,
        /// The device.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The input device is back.
    DeviceReopened {
        /// Audio clock, ms.
        t_ms: u64,
        /// The device.
        device: String,
        /// Attempts it took.
        attempts: u32,
    },
    /// The wake word's first stage fired.
    Wake {
        /// Audio clock, ms (end of the 80 ms step that fired).
        t_ms: u64,
        /// The wake phrase.
        phrase: String,
        /// The detector's score, 0 to 1.
        score: f32,
    },
    /// The second stage (Whisper) did not hear the wake phrase: a false wake, dropped.
    /// Its words were not meant for heyplayer: the listener prints them only
    /// with `--debug-rejected-words` (see [`Words`]).
    WakeRejected {
        /// Audio clock, ms.
        t_ms: u64,
        /// What Whisper heard instead (primed with the command prompt); in
        /// memory for `eval` and the tests, left out of the output.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        heard: Option<String>,
        /// What it heard without the prompt, when it tried again that way.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        heard_plain: Option<String>,
        /// Why the phrase was rejected: with `wake.verify_evidence` (the
        /// default) the evidence weighed and its parts (`weak evidence 0.53
        /// (wake score 0.84, phrase forced -1.14, near miss "Hey layer" -0.7)`);
        /// without it "phrase not heard", or the near miss that was likelier
        /// (`near miss "Hey players" likelier by 2.3`).
        #[serde(skip_serializing_if = "String::is_empty", default)]
        why: String,
    },
    /// What Whisper heard after the wake word.
    Transcript {
        /// Audio clock, ms (end of the command's speech).
        t_ms: u64,
        /// The text.
        text: String,
    },
    /// A command understood from the transcript.
    Command {
        /// Audio clock, ms (end of the command's speech).
        t_ms: u64,
        /// The command: `action`, and `query` or `value` when it has one.
        #[serde(flatten)]
        command: crate::intent::Command,
        /// The phrasing guided decoding chose when the transcript itself was
        /// not a command (see `asr::guided`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guided: Option<String>,
    },
    /// Speech after the wake word that is not a command (nothing is guessed).
    NotUnderstood {
        /// Audio clock, ms.
        t_ms: u64,
        /// What was heard ("" if nothing usable).
        text: String,
        /// Why it is not a command.
        reason: String,
    },
    /// Handling a wake failed (Whisper or the context stage): the reason,
    /// never the audio or the words. The wake is audited; listening goes on.
    CommandFailed {
        /// Audio clock, ms (end of the recording).
        t_ms: u64,
        /// The stage that failed: `asr`, `context`, `wake` or `pipeline`.
        stage: String,
        /// What went wrong.
        reason: String,
    },
    /// What executing a command did to the player.
    ActionResult {
        /// Audio clock, ms (of the command).
        t_ms: u64,
        /// The command's action.
        action: crate::intent::Action,
        /// Whether the player did it.
        ok: bool,
        /// Which player (`mpv`, `dry-run`, …).
        player: String,
        /// What happened, or why not.
        detail: String,
    },
    /// What the privacy store kept of a wake event, and until when (its
    /// retention rules decide; see `heyplayer status`).
    Kept {
        /// Audio clock, ms (of the event that closed the capture).
        t_ms: u64,
        /// The record's id (negative: in memory only), if anything was kept.
        record: Option<i64>,
        /// Each kind offered: its rule and, if written to disk, its expiry.
        kept: Vec<heyplayer_privacy::store::KeptKind>,
    },
    /// The expiry sweeper deleted data past its retention.
    Expired {
        /// Audio clock, ms.
        t_ms: u64,
        /// How many of each kind were deleted.
        deleted: std::collections::BTreeMap<String, u64>,
    },
    /// The privacy store could not be written (a full disk, say). Listening
    /// goes on; what could not be written is not kept.
    StoreError {
        /// Audio clock, ms.
        t_ms: u64,
        /// What failed.
        error: String,
    },
    /// What the audio around a command says of the user's surroundings and
    /// mood: labels with confidence and evidence, never audio, words or
    /// identity. Also published on `--context-socket` (schema 1).
    Context {
        /// Audio clock, ms (of the command).
        t_ms: u64,
        /// The labels.
        #[serde(flatten)]
        labels: Box<crate::context::ContextLabels>,
    },
    /// The listener's state changed (`idle`, `listening`, `awake`,
    /// `processing`); `heyplayer status` shows the latest.
    State {
        /// Audio clock, ms.
        t_ms: u64,
        /// The new state.
        state: ListenState,
    },
    /// A worker fell behind and work was dropped rather than holding up the
    /// microphone (never for a file read at full speed: that waits instead).
    WorkDropped {
        /// Audio clock, ms.
        t_ms: u64,
        /// Which worker: `command`.
        stage: String,
        /// What was dropped.
        what: String,
        /// Dropped by this stage over the whole run.
        total: u64,
    },
    /// Audio stopped flowing.
    AudioStop {
        /// Audio clock, ms.
        t_ms: u64,
        /// `end_of_input` or `shutdown`.
        reason: String,
        /// Audio lost to drops over the whole run, in ms.
        total_dropped_ms: u64,
    },
}

/// Every variant and its name (the JSON `type`): gives [`Event::name`],
/// [`Event::t_ms`] and [`Event::t_ms_mut`].
macro_rules! event_table {
    ($($v:ident => $name:literal,)*) => {
        impl Event {
            /// The event's name, as in the JSON `type` field.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Event::$v { .. } => $name,)*
                }
            }

            /// The event's time on the audio clock.
            pub fn t_ms(&self) -> u64 {
                match self {
                    $(Event::$v { t_ms, .. } => *t_ms,)*
                }
            }

            /// The audio clock of the event, to set (a command heard ahead of
            /// the end of its recording takes the recording's end).
            pub fn t_ms_mut(&mut self) -> &mut u64 {
                match self {
                    $(Event::$v { t_ms, .. } => t_ms,)*
                }
            }
        }
    };
}

event_table! {
    AudioStart => "audio_start",
    VoiceStarted => "voice_started",
    VoiceStopped => "voice_stopped",
    FramesDropped => "frames_dropped",
    DeviceLost => "device_lost",
    DeviceReopened => "device_reopened",
    Wake => "wake",
    WakeRejected => "wake_rejected",
    Transcript => "transcript",
    Command => "command",
    NotUnderstood => "not_understood",
    CommandFailed => "command_failed",
    ActionResult => "action_result",
    Kept => "kept",
    Expired => "expired",
    StoreError => "store_error",
    Context => "context",
    State => "state",
    WorkDropped => "work_dropped",
    AudioStop => "audio_stop",
}

impl Event {
    /// Every event's name, as [`Event::name`] gives it (`heyplayer listen --help`
    /// lists them all; a test checks both).
    pub const NAMES: [&'static str; 20] = [
        "audio_start",
        "voice_started",
        "voice_stopped",
        "frames_dropped",
        "device_lost",
        "device_reopened",
        "wake",
        "wake_rejected",
        "transcript",
        "command",
        "not_understood",
        "command_failed",
        "action_result",
        "kept",
        "expired",
        "store_error",
        "context",
        "state",
        "work_dropped",
        "audio_stop",
    ];

    /// One human-readable line, e.g. `   1.230 s  voice_started`.
    pub fn to_text(&self) -> String {
        let detail = match self {
            Event::AudioStart {
                source,
                name,
                input_rate,
                input_channels,
                ..
            } => format!("{source} {name} ({input_rate} Hz, {input_channels} ch -> 16000 Hz mono)"),
            Event::VoiceStarted { .. } => String::new(),
            Event::VoiceStopped { duration_ms, .. } => {
                format!("after {:.2} s of speech", *duration_ms as f64 / 1000.0)
            }
            Event::FramesDropped {
                dropped_ms,
                total_dropped_ms,
                ..
            } => format!("lost {dropped_ms} ms of audio ({total_dropped_ms} ms in all): the listener fell behind"),
            Event::DeviceLost { device, reason, .. } => {
                format!("{device}: {reason}; trying to reopen it")
            }
            Event::DeviceReopened {
                device, attempts, ..
            } => format!("{device} after {attempts} attempt(s)"),
            Event::Wake { phrase, score, .. } => format!("{phrase:?} (score {score:.2})"),
            Event::WakeRejected {
                heard,
                heard_plain,
                why,
                ..
            } => {
                let plain = heard_plain
                    .as_ref()
                    .map(|p| format!(" (without the prompt: {p:?})"))
                    .unwrap_or_default();
                let why = if why.is_empty() { String::new() } else { format!(": {why}") };
                match heard {
                    Some(h) => format!("Whisper heard {h:?}{plain}, not the wake phrase{why}"),
                    None => format!("not the wake phrase{why}"),
                }
            }
            Event::Transcript { text, .. } => format!("{text:?}"),
            Event::Command {
                command,
                guided: None,
                ..
            } => command.to_string(),
            Event::Command {
                command,
                guided: Some(g),
                ..
            } => format!("{command} (guided: {g:?})"),
            Event::NotUnderstood { text, reason, .. } => format!("{text:?}: {reason}"),
            Event::CommandFailed { stage, reason, .. } => {
                format!("{stage}: {reason} (this wake is dropped; listening goes on)")
            }
            Event::ActionResult {
                ok, player, detail, ..
            } => format!("{player}: {}{detail}", if *ok { "" } else { "FAILED: " }),
            Event::Kept { record, kept, .. } => {
                let what: Vec<String> = kept
                    .iter()
                    .map(|k| format!("{} {}", k.kind, k.rule))
                    .collect();
                match record {
                    Some(id) => format!("record {id}: {}", what.join(", ")),
                    None => format!("nothing kept ({})", what.join(", ")),
                }
            }
            Event::StoreError { error, .. } => format!("{error} (listening goes on; this was not kept)"),
            Event::Context { labels, .. } => labels.summary(),
            Event::State { state, .. } => state.as_str().to_string(),
            Event::WorkDropped {
                stage, what, total, ..
            } => format!("the {stage} worker fell behind: dropped {what} ({total} in all)"),
            Event::Expired { deleted, .. } => {
                format!("deleted {}", heyplayer_privacy::store::describe_counts(deleted))
            }
            Event::AudioStop {
                reason,
                total_dropped_ms,
                ..
            } => format!("{reason}, {total_dropped_ms} ms dropped in all"),
        };
        let t = self.t_ms() as f64 / 1000.0;
        if detail.is_empty() {
            format!("{t:>9.3} s  {}", self.name())
        } else {
            format!("{t:>9.3} s  {:<16} {detail}", self.name())
        }
    }
}

/// What the listener is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenState {
    /// Hearing no speech.
    Idle,
    /// Hearing speech, waiting for the wake word (audio goes no further).
    Listening,
    /// The wake word was heard: recording the command.
    Awake,
    /// Whisper is working on a command.
    Processing,
}

impl ListenState {
    /// The state's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenState::Idle => "idle",
            ListenState::Listening => "listening",
            ListenState::Awake => "awake",
            ListenState::Processing => "processing",
        }
    }
}

/// What stands in an event's field for words the output leaves out.
pub const WORDS_HIDDEN: &str = "(words hidden)";

/// Which words the printed events may carry. Words follow the retention
/// rules everywhere: stdout piped into a file or the journal would keep them
/// out of reach of `heyplayer purge` and of the transcript rule, so by
/// default only a terminal sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Words {
    /// What was said after a wake: transcripts, `not_understood` text, a
    /// command's query and guided phrasing, and what the player did with it.
    pub commands: bool,
    /// What Whisper heard in a rejected wake: speech not meant for
    /// heyplayer. Only with an explicit debugging opt-in.
    pub rejected: bool,
}

impl Event {
    /// The event as printed under `words`: the same event when it carries no
    /// words that `words` leaves out; else a copy with them replaced by
    /// [`WORDS_HIDDEN`] (a rejected wake's are left out altogether).
    pub fn printable(&self, words: Words) -> std::borrow::Cow<'_, Event> {
        use std::borrow::Cow;
        let hide = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                WORDS_HIDDEN.to_string()
            }
        };
        match self {
            Event::WakeRejected {
                t_ms,
                heard,
                heard_plain,
                why,
            } if !words.rejected && (heard.is_some() || heard_plain.is_some()) => {
                Cow::Owned(Event::WakeRejected {
                    t_ms: *t_ms,
                    heard: None,
                    heard_plain: None,
                    why: why.clone(),
                })
            }
            _ if words.commands => Cow::Borrowed(self),
            Event::Transcript { t_ms, text } => Cow::Owned(Event::Transcript {
                t_ms: *t_ms,
                text: hide(text),
            }),
            Event::NotUnderstood { t_ms, text, reason } => Cow::Owned(Event::NotUnderstood {
                t_ms: *t_ms,
                text: hide(text),
                reason: reason.clone(),
            }),
            Event::Command {
                t_ms,
                command,
                guided,
            } if command.query.is_some() || guided.is_some() => {
                let mut command = command.clone();
                command.query = command.query.as_deref().map(hide);
                Cow::Owned(Event::Command {
                    t_ms: *t_ms,
                    command,
                    guided: guided.as_deref().map(hide),
                })
            }
            Event::ActionResult {
                t_ms,
                action: action @ crate::intent::Action::Play,
                ok,
                player,
                detail,
            } => Cow::Owned(Event::ActionResult {
                t_ms: *t_ms,
                action: *action,
                ok: *ok,
                player: player.clone(),
                detail: hide(detail),
            }),
            _ => Cow::Borrowed(self),
        }
    }
}

/// Writes events to a stream in the chosen format, flushing after each one,
/// with the words [`Words`] allows.
pub struct EventWriter<W: Write> {
    out: W,
    format: EventFormat,
    words: Words,
}

impl<W: Write> EventWriter<W> {
    /// Writes to `out` in `format`, with no words (see [`EventWriter::with_words`]).
    pub fn new(out: W, format: EventFormat) -> Self {
        Self {
            out,
            format,
            words: Words::default(),
        }
    }

    /// Prints only the words `words` allows.
    pub fn with_words(mut self, words: Words) -> Self {
        self.words = words;
        self
    }

    /// Writes one event.
    pub fn write(&mut self, ev: &Event) -> std::io::Result<()> {
        let ev = ev.printable(self.words);
        match self.format {
            EventFormat::Json => {
                serde_json::to_writer(&mut self.out, &*ev)?;
                self.out.write_all(b"\n")?;
            }
            EventFormat::Text => writeln!(self.out, "{}", ev.to_text())?,
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_type_and_t_ms() {
        let ev = Event::VoiceStopped {
            t_ms: 1230,
            duration_ms: 800,
        };
        let s = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            s,
            r#"{"type":"voice_stopped","t_ms":1230,"duration_ms":800}"#
        );
        assert_eq!(ev.name(), "voice_stopped");
    }

    #[test]
    fn names_match_serde_tags() {
        let all = [
            Event::AudioStart {
                t_ms: 0,
                source: "file".into(),
                name: "x".into(),
                input_rate: 8000,
                input_channels: 1,
            },
            Event::VoiceStarted { t_ms: 1 },
            Event::VoiceStopped {
                t_ms: 2,
                duration_ms: 1,
            },
            Event::FramesDropped {
                t_ms: 3,
                dropped_ms: 30,
                total_dropped_ms: 30,
            },
            Event::DeviceLost {
                t_ms: 4,
                device: "d".into(),
                reason: "r".into(),
            },
            Event::DeviceReopened {
                t_ms: 5,
                device: "d".into(),
                attempts: 2,
            },
            Event::Wake {
                t_ms: 10,
                phrase: "hey player".into(),
                score: 0.5,
            },
            Event::WakeRejected {
                t_ms: 11,
                heard: Some("hey layer".into()),
                heard_plain: Some("Hey, layer.".into()),
                why: "phrase not heard".into(),
            },
            Event::Transcript {
                t_ms: 7,
                text: "Skip.".into(),
            },
            Event::Command {
                t_ms: 8,
                command: crate::intent::parse("volume to forty").unwrap(),
                guided: None,
            },
            Event::Command {
                t_ms: 8,
                command: crate::intent::parse("stop").unwrap(),
                guided: Some("Stop".into()),
            },
            Event::NotUnderstood {
                t_ms: 9,
                text: "hello".into(),
                reason: "not a command".into(),
            },
            Event::CommandFailed {
                t_ms: 9,
                stage: "asr".into(),
                reason: "the audio is too short to transcribe (70 ms; at least 100 ms is needed)"
                    .into(),
            },
            Event::Kept {
                t_ms: 10,
                record: Some(3),
                kept: vec![heyplayer_privacy::store::KeptKind {
                    kind: "transcript".into(),
                    rule: "1d".into(),
                    expires_ms: Some(86_400_000),
                }],
            },
            Event::ActionResult {
                t_ms: 13,
                action: crate::intent::Action::Pause,
                ok: true,
                player: "mpv".into(),
                detail: "paused".into(),
            },
            Event::StoreError {
                t_ms: 12,
                error: "disk full".into(),
            },
            Event::Expired {
                t_ms: 11,
                deleted: [("transcript".to_string(), 2)].into_iter().collect(),
            },
            Event::Context {
                t_ms: 14,
                labels: Box::new(crate::context::ContextLabels {
                    physical: crate::context::Label {
                        value: "street".into(),
                        confidence: 0.62,
                        evidence: vec![("Traffic noise, roadway noise".into(), 0.61)],
                    },
                    social: crate::context::Label {
                        value: "unknown".into(),
                        confidence: 0.3,
                        evidence: vec![],
                    },
                    emotion: crate::context::Label {
                        value: "neutral".into(),
                        confidence: 0.5,
                        evidence: vec![],
                    },
                    arousal: crate::context::Arousal {
                        value: Some(0.4),
                        prosody: crate::context::prosody::Prosody {
                            frames: 120,
                            voiced_ratio: 0.6,
                            pitch_median_hz: 140.0,
                            pitch_range_st: 4.5,
                            level_dbfs: -24.0,
                            level_above_background_db: 12.0,
                        },
                        evidence: vec![],
                        level: crate::context::Label {
                            value: "neutral".into(),
                            confidence: 0.5,
                            evidence: vec![("prosody".into(), 0.45)],
                        },
                    },
                    speech_fraction: 0.5,
                    preroll_speech_fraction: 0.0,
                    whole_clip_fallback: false,
                    top_classes: vec![("Speech".into(), 0.9)],
                }),
            },
            Event::State {
                t_ms: 15,
                state: ListenState::Awake,
            },
            Event::WorkDropped {
                t_ms: 16,
                stage: "command".into(),
                what: "a command clip".into(),
                total: 1,
            },
            Event::AudioStop {
                t_ms: 6,
                reason: "end_of_input".into(),
                total_dropped_ms: 0,
            },
        ];
        let mut names: Vec<&str> = all.iter().map(Event::name).collect();
        names.sort_unstable();
        names.dedup();
        let mut listed = Event::NAMES.to_vec();
        listed.sort_unstable();
        assert_eq!(names, listed, "Event::NAMES and the events here differ");
        for ev in &all {
            let v: serde_json::Value = serde_json::to_value(ev).unwrap();
            assert_eq!(v["type"], ev.name());
            assert_eq!(v["t_ms"], ev.t_ms());
            assert!(ev.to_text().contains(ev.name()));
            let back: Event = serde_json::from_value(v).unwrap();
            assert_eq!(&back, ev);
        }
    }

    /// Issue 32: words are printed only where `Words` allows: a rejected
    /// wake's never by default; a command's words only when asked (a
    /// terminal, or `--events-content`).
    #[test]
    fn issue_32_printed_events_carry_only_the_words_allowed() {
        let said = [
            Event::WakeRejected {
                t_ms: 1,
                heard: Some("tell grandma the news".into()),
                heard_plain: Some("tell grandma".into()),
                why: "phrase not heard".into(),
            },
            Event::Transcript {
                t_ms: 2,
                text: "play the secret song".into(),
            },
            Event::Command {
                t_ms: 2,
                command: crate::intent::parse("play the secret song").unwrap(),
                guided: Some("play the secret song".into()),
            },
            Event::NotUnderstood {
                t_ms: 3,
                text: "the secret plan".into(),
                reason: "not a command".into(),
            },
            Event::ActionResult {
                t_ms: 2,
                action: crate::intent::Action::Play,
                ok: true,
                player: "dry-run".into(),
                detail: "would play the secret song".into(),
            },
        ];
        let print = |words: Words, format: EventFormat| {
            let mut buf = Vec::new();
            let mut w = EventWriter::new(&mut buf, format).with_words(words);
            for ev in &said {
                w.write(ev).unwrap();
            }
            String::from_utf8(buf).unwrap()
        };
        for format in [EventFormat::Json, EventFormat::Text] {
            let none = print(Words::default(), format);
            for word in ["grandma", "secret"] {
                assert!(!none.contains(word), "{word} printed: {none}");
            }
            assert!(
                none.contains("phrase not heard") && none.contains(WORDS_HIDDEN),
                "{none}"
            );
            let commands = print(
                Words {
                    commands: true,
                    rejected: false,
                },
                format,
            );
            assert!(!commands.contains("grandma"), "{commands}");
            assert!(commands.contains("secret plan") && commands.contains("secret song"));
            let all = print(
                Words {
                    commands: true,
                    rejected: true,
                },
                format,
            );
            assert!(all.contains("tell grandma the news"), "{all}");
        }
        // The events in memory (eval, the tests) keep everything.
        assert!(matches!(
            &said[0],
            Event::WakeRejected { heard: Some(_), .. }
        ));
    }

    #[test]
    fn text_format_is_one_line() {
        let mut buf = Vec::new();
        let mut w = EventWriter::new(&mut buf, EventFormat::Text);
        w.write(&Event::VoiceStarted { t_ms: 1230 }).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "    1.230 s  voice_started\n"
        );
    }
}
