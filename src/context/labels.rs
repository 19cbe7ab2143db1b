//! What the context stage says about a clip: a verdict per axis with its
//! confidence and evidence, arousal and the prosody behind it.

use serde::Serialize;

use super::prosody::Prosody;
use super::{round3, EVIDENCE_ITEMS, UNKNOWN};

/// One axis's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Label {
    /// The label, or `"unknown"`.
    pub value: String,
    /// Confidence in [0, 1] (of the best label, even when `value` is unknown).
    pub confidence: f32,
    /// The strongest cues: (AudioSet class or feature, weighted score).
    pub evidence: Vec<(String, f32)>,
}

/// Arousal and the prosody behind it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Arousal {
    /// In [0, 1]; `None` when the clip has too little speech.
    pub value: Option<f32>,
    /// The prosodic features.
    pub prosody: Prosody,
    /// The vocal cues: (AudioSet class, signed contribution).
    pub evidence: Vec<(String, f32)>,
    /// The level (issue 33): `calm`, `neutral`, `energetic` or `unknown`
    /// (too little speech, or prosody and the vocal cues disagree), with
    /// its confidence and why ([`super::affect::arousal_level`]). Absent
    /// from events written before it: read as `unknown`.
    #[serde(default = "unknown_level")]
    pub level: Label,
}

fn unknown_level() -> Label {
    Label {
        value: UNKNOWN.into(),
        confidence: 0.0,
        evidence: Vec::new(),
    }
}

/// Everything the stage says about one clip.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ContextLabels {
    /// indoor_quiet, indoor_busy, street, nature, vehicle.
    pub physical: Label,
    /// alone, conversation, crowd.
    pub social: Label,
    /// neutral, happy, sad, angry.
    pub emotion: Label,
    /// Arousal, from prosody and vocal cues.
    pub arousal: Arousal,
    /// Share of the clip's 10 ms frames marked speech.
    pub speech_fraction: f32,
    /// Share of the pre-roll's frames marked speech.
    pub preroll_speech_fraction: f32,
    /// Physical and social were judged on the whole clip (too little non-speech).
    pub whole_clip_fallback: bool,
    /// The most likely AudioSet classes over the clip (for inspection): the
    /// whole-clip scores in the fallback, else the non-speech and speech
    /// scores weighted by their frame counts (guard frames left out).
    pub top_classes: Vec<(String, f32)>,
}

impl ContextLabels {
    /// One line for people: `physical street 0.62 (Traffic noise… 0.61, …) | …`.
    pub fn summary(&self) -> String {
        let label = |name: &str, l: &Label| {
            let ev: Vec<String> = l
                .evidence
                .iter()
                .map(|(c, s)| format!("{c} {s:.2}"))
                .collect();
            format!("{name} {} {:.2} ({})", l.value, l.confidence, ev.join(", "))
        };
        let arousal = match self.arousal.value {
            Some(a) => format!("arousal {a:.2} {}", self.arousal.level.value),
            None => "arousal unknown".into(),
        };
        format!(
            "{} | {} | {} | {arousal}{}",
            label("physical", &self.physical),
            label("social", &self.social),
            label("emotion", &self.emotion),
            if self.whole_clip_fallback {
                " | (little non-speech: physical and social from the whole clip)"
            } else {
                ""
            }
        )
    }
}

/// When what a label is judged on is hidden (music in the background) or
/// absent (no background sound), the label becomes `unknown` with confidence
/// 0, its evidence first `why` with its value, then what would have been said
/// (`learned head: vehicle`, or the mapping's cues).
pub fn mask(label: &mut Label, why: &str, value: f32) {
    if label.value != UNKNOWN {
        for (cue, _) in label
            .evidence
            .iter_mut()
            .filter(|(c, _)| c == "learned head")
        {
            *cue = format!("learned head: {}", label.value);
        }
    }
    label.value = UNKNOWN.into();
    label.confidence = 0.0;
    label.evidence.insert(0, (why.to_string(), round3(value)));
    label.evidence.truncate(EVIDENCE_ITEMS);
}
