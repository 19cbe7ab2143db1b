//! Arousal's level and the emotion label (issue 33, part 3), decided by the
//! rule written in `[affect]` of models/context/mapping.toml: from prosody
//! and the backbone's vocal-effort cues, and `unknown` whenever the speech is
//! too short, the cues are weak or they disagree. Nothing here is fitted (no
//! labelled emotional speech exists in the packages we can reach); the
//! evidence of every verdict says why it was given.
//!
//! Nothing here describes who speaks: the pitch level is not used (see
//! [`super::prosody::prosodic_arousal`]), and the mapping refuses the
//! classes that name a person's age or sex.

use super::labels::Label;
use super::mapping::Affect;
use super::prosody::Prosody;
use super::{round3, EVIDENCE_ITEMS, UNKNOWN};

/// Arousal levels.
pub const CALM: &str = "calm";
/// The level between calm and energetic.
pub const NEUTRAL: &str = "neutral";
/// High arousal.
pub const ENERGETIC: &str = "energetic";

/// Evidence: the speech was too short, with its length in seconds.
pub const TOO_SHORT_CUE: &str = "too little speech, s";
/// Evidence: prosody and the vocal cues vote for opposite levels.
pub const DISAGREE_CUE: &str = "prosody and vocal cues disagree";
/// Evidence: the vocal cues vote both ways.
pub const CUES_DISAGREE_CUE: &str = "vocal cues both ways";
/// Evidence: two emotions' strong cues at once.
pub const EMOTIONS_DISAGREE_CUE: &str = "strong cues of two emotions";
/// Evidence: a strong class heard, but not strongly enough.
pub const WEAK_CUE: &str = "vocal cue too weak to name";
/// Evidence of `neutral`: the strongest strong-cue score, which was low.
pub const NO_STRONG_CUE: &str = "no strong vocal cue";

/// What arousal's level is decided from, for one clip.
#[derive(Debug, Clone, Copy)]
pub struct ArousalInputs<'a> {
    /// The prosody of the speech frames.
    pub prosody: &'a Prosody,
    /// Prosodic arousal in [0, 1] ([`super::prosody::prosodic_arousal`]).
    pub prosodic: f32,
    /// Noisy-OR of the mapping's high-arousal cues on the speech part.
    pub high: f32,
    /// Noisy-OR of its low-arousal cues.
    pub low: f32,
    /// The 0..1 arousal value (prosody and cues mixed).
    pub value: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Vote {
    Calm,
    Energetic,
    None,
    Both,
}

fn level_of(x: f32, rule: &Affect) -> Vote {
    if x >= rule.energetic_from {
        Vote::Energetic
    } else if x <= rule.calm_below {
        Vote::Calm
    } else {
        Vote::None
    }
}

fn unknown(confidence: f32, evidence: Vec<(String, f32)>) -> Label {
    Label {
        value: UNKNOWN.into(),
        confidence: round3(confidence.clamp(0.0, 1.0)),
        evidence,
    }
}

/// Arousal's level: `calm`, `neutral`, `energetic` or `unknown` (the rule in
/// models/context/mapping.toml, `[affect]`). Confidence: how far the value
/// lies into its level's band (0 at a line, 1 at 0 or 1; for `neutral`, 1 at
/// 0.5). Evidence: the prosodic arousal and the cues' 0..1 arousal first,
/// or the reason for `unknown`.
pub fn arousal_level(rule: &Affect, a: &ArousalInputs<'_>) -> Label {
    let seconds = a.prosody.frames as f32 / 100.0;
    if a.prosody.frames < rule.min_speech_frames {
        return unknown(0.0, vec![(TOO_SHORT_CUE.into(), round3(seconds))]);
    }
    let cue_value = (0.5 + 0.5 * (a.high - a.low)).clamp(0.0, 1.0);
    let base = vec![
        ("prosody".to_string(), round3(a.prosodic)),
        ("vocal cues".to_string(), round3(cue_value)),
    ];
    let cues = match (a.high >= rule.cue_votes, a.low >= rule.cue_votes) {
        (true, true) => Vote::Both,
        (true, false) => Vote::Energetic,
        (false, true) => Vote::Calm,
        (false, false) => Vote::None,
    };
    if cues == Vote::Both {
        let mut ev = vec![(CUES_DISAGREE_CUE.to_string(), round3(a.high.min(a.low)))];
        ev.extend(base);
        ev.truncate(EVIDENCE_ITEMS);
        return unknown(0.0, ev);
    }
    let prosody = level_of(a.prosodic, rule);
    if matches!(
        (prosody, cues),
        (Vote::Calm, Vote::Energetic) | (Vote::Energetic, Vote::Calm)
    ) {
        let mut ev = vec![(
            DISAGREE_CUE.to_string(),
            round3((a.prosodic - cue_value).abs()),
        )];
        ev.extend(base);
        ev.truncate(EVIDENCE_ITEMS);
        return unknown(0.0, ev);
    }
    let v = a.value.clamp(0.0, 1.0);
    let (value, confidence) = match level_of(v, rule) {
        Vote::Energetic => (
            ENERGETIC,
            (v - rule.energetic_from) / (1.0 - rule.energetic_from),
        ),
        Vote::Calm => (CALM, (rule.calm_below - v) / rule.calm_below),
        _ => {
            let half = if v >= 0.5 {
                rule.energetic_from - 0.5
            } else {
                0.5 - rule.calm_below
            };
            (NEUTRAL, 1.0 - (v - 0.5).abs() / half.max(1e-6))
        }
    };
    Label {
        value: value.into(),
        confidence: round3(confidence.clamp(0.0, 1.0)),
        evidence: base,
    }
}

/// The emotion label: `happy`, `sad` or `angry` only on a strong vocal cue
/// (laughter, crying or sobbing, shouting: `[affect.strong]` in the
/// mapping) in the speech part's class scores `p`; `neutral` when the
/// speech is long enough and no such cue is heard at all; else `unknown`.
/// Confidence: the strong cue's score (for `neutral`, 1 less the strongest
/// of them). `speech_frames`: the clip's speech, 10 ms frames.
pub fn emotion_label(rule: &Affect, p: &[f32], classes: &[String], speech_frames: usize) -> Label {
    // The strongest class of each emotion.
    let best: Vec<(&str, usize, f32)> = rule
        .strong
        .iter()
        .filter_map(|(label, idx)| {
            idx.iter()
                .map(|&c| (c, p.get(c).copied().unwrap_or(0.0)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(c, s)| (label.as_str(), c, s))
        })
        .collect();
    let cue = |&(_, c, s): &(&str, usize, f32)| (classes[c].clone(), round3(s));
    let strong: Vec<&(&str, usize, f32)> = best.iter().filter(|b| b.2 >= rule.strong_cue).collect();
    match strong.as_slice() {
        [one] => {
            return Label {
                value: one.0.into(),
                confidence: round3(one.2.clamp(0.0, 1.0)),
                evidence: vec![cue(one)],
            }
        }
        [_, _, ..] => {
            let mut ev = vec![(EMOTIONS_DISAGREE_CUE.to_string(), strong.len() as f32)];
            ev.extend(strong.iter().map(|b| cue(b)));
            ev.truncate(EVIDENCE_ITEMS);
            return unknown(0.0, ev);
        }
        [] => {}
    }
    let top = best.iter().max_by(|a, b| a.2.total_cmp(&b.2));
    if let Some(t) = top.filter(|t| t.2 >= rule.weak_cue) {
        return unknown(t.2, vec![(WEAK_CUE.into(), round3(t.2)), cue(t)]);
    }
    if speech_frames < rule.min_speech_frames {
        return unknown(
            0.0,
            vec![(TOO_SHORT_CUE.into(), round3(speech_frames as f32 / 100.0))],
        );
    }
    let s = top.map_or(0.0, |t| t.2);
    Label {
        value: NEUTRAL.into(),
        confidence: round3((1.0 - s).clamp(0.0, 1.0)),
        evidence: vec![(NO_STRONG_CUE.into(), round3(s))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Affect {
        Affect {
            min_speech_frames: 50,
            calm_below: 0.4,
            energetic_from: 0.6,
            cue_votes: 0.3,
            strong_cue: 0.5,
            weak_cue: 0.2,
            strong: vec![
                ("happy".into(), vec![0, 1]),
                ("sad".into(), vec![2]),
                ("angry".into(), vec![3, 4]),
            ],
        }
    }

    fn classes() -> Vec<String> {
        [
            "Laughter",
            "Giggle",
            "Crying, sobbing",
            "Shout",
            "Yell",
            "Speech",
        ]
        .map(String::from)
        .to_vec()
    }

    fn prosody(frames: usize) -> Prosody {
        Prosody {
            frames,
            voiced_ratio: 0.5,
            pitch_median_hz: 150.0,
            pitch_range_st: 5.0,
            level_dbfs: -25.0,
            level_above_background_db: 20.0,
        }
    }

    fn inputs(p: &Prosody, prosodic: f32, high: f32, low: f32, value: f32) -> ArousalInputs<'_> {
        ArousalInputs {
            prosody: p,
            prosodic,
            high,
            low,
            value,
        }
    }

    #[test]
    fn arousal_levels_follow_the_value_when_the_votes_agree() {
        let p = prosody(120);
        let l = arousal_level(&rule(), &inputs(&p, 0.8, 0.6, 0.0, 0.8));
        assert_eq!(l.value, ENERGETIC);
        assert!((l.confidence - 0.5).abs() < 1e-3, "{l:?}");
        assert_eq!(l.evidence[0], ("prosody".to_string(), 0.8));
        assert_eq!(l.evidence[1], ("vocal cues".to_string(), 0.8));
        let l = arousal_level(&rule(), &inputs(&p, 0.2, 0.0, 0.5, 0.2));
        assert_eq!(l.value, CALM);
        assert!((l.confidence - 0.5).abs() < 1e-3, "{l:?}");
        let l = arousal_level(&rule(), &inputs(&p, 0.5, 0.0, 0.0, 0.5));
        assert_eq!(l.value, NEUTRAL);
        assert_eq!(l.confidence, 1.0);
        // Prosody alone can make it energetic; a cue that does not vote
        // does not stop it.
        let l = arousal_level(&rule(), &inputs(&p, 0.7, 0.1, 0.0, 0.64));
        assert_eq!(l.value, ENERGETIC);
        // At the line itself: the level, with confidence 0.
        let l = arousal_level(&rule(), &inputs(&p, 0.6, 0.0, 0.0, 0.6));
        assert_eq!((l.value.as_str(), l.confidence), (ENERGETIC, 0.0));
    }

    #[test]
    fn arousal_is_unknown_when_too_short_or_the_cues_disagree() {
        let short = prosody(49);
        let l = arousal_level(&rule(), &inputs(&short, 0.9, 0.9, 0.0, 0.9));
        assert_eq!(l.value, UNKNOWN);
        assert_eq!(l.evidence, vec![(TOO_SHORT_CUE.to_string(), 0.49)]);
        let p = prosody(50);
        // Calm prosody, a shout: disagree.
        let l = arousal_level(&rule(), &inputs(&p, 0.2, 0.7, 0.0, 0.4));
        assert_eq!(l.value, UNKNOWN, "{l:?}");
        assert_eq!(l.evidence[0].0, DISAGREE_CUE);
        // Energetic prosody, a whisper: disagree.
        let l = arousal_level(&rule(), &inputs(&p, 0.9, 0.0, 0.6, 0.6));
        assert_eq!(l.value, UNKNOWN);
        // Cues both ways (a laugh and a sigh).
        let l = arousal_level(&rule(), &inputs(&p, 0.5, 0.4, 0.35, 0.5));
        assert_eq!(l.value, UNKNOWN);
        assert_eq!(l.evidence[0], (CUES_DISAGREE_CUE.to_string(), 0.35));
        // Neutral prosody and a shout agree well enough: energetic.
        let l = arousal_level(&rule(), &inputs(&p, 0.5, 0.9, 0.0, 0.68));
        assert_eq!(l.value, ENERGETIC);
    }

    #[test]
    fn an_arousal_written_before_the_level_reads_as_unknown() {
        let old = r#"{"value":0.4,"prosody":{"frames":120,"voiced_ratio":0.6,
            "pitch_median_hz":140.0,"pitch_range_st":4.5,"level_dbfs":-24.0,
            "level_above_background_db":12.0},"evidence":[["Shout",0.1]]}"#;
        let a: crate::context::Arousal = serde_json::from_str(old).unwrap();
        assert_eq!(a.value, Some(0.4));
        assert_eq!(a.level.value, UNKNOWN);
        assert!(a.level.evidence.is_empty());
    }

    #[test]
    fn emotions_need_a_strong_vocal_cue() {
        let c = classes();
        let mut p = vec![0.0f32; c.len()];
        // Plain speech: neutral, with the strongest strong cue as evidence.
        p[5] = 0.9;
        p[0] = 0.05;
        let l = emotion_label(&rule(), &p, &c, 80);
        assert_eq!(l.value, NEUTRAL);
        assert_eq!(l.confidence, 0.95);
        assert_eq!(l.evidence, vec![(NO_STRONG_CUE.to_string(), 0.05)]);
        // Too short for neutral.
        assert_eq!(emotion_label(&rule(), &p, &c, 40).value, UNKNOWN);
        // A giggle: happy, by the strongest of its classes.
        p[1] = 0.7;
        let l = emotion_label(&rule(), &p, &c, 40);
        assert_eq!(l.value, "happy");
        assert_eq!(l.evidence, vec![("Giggle".to_string(), 0.7)]);
        // And a yell at once: unknown.
        p[4] = 0.55;
        let l = emotion_label(&rule(), &p, &c, 80);
        assert_eq!(l.value, UNKNOWN);
        assert_eq!(l.evidence[0], (EMOTIONS_DISAGREE_CUE.to_string(), 2.0));
        // Sobbing alone: sad; a shout alone: angry.
        let mut p = vec![0.0f32; c.len()];
        p[2] = 0.5;
        assert_eq!(emotion_label(&rule(), &p, &c, 80).value, "sad");
        let mut p = vec![0.0f32; c.len()];
        p[3] = 0.8;
        assert_eq!(emotion_label(&rule(), &p, &c, 80).value, "angry");
        // A shout heard weakly: unknown, not angry and not neutral.
        p[3] = 0.3;
        let l = emotion_label(&rule(), &p, &c, 80);
        assert_eq!(l.value, UNKNOWN);
        assert_eq!(l.evidence[0], (WEAK_CUE.to_string(), 0.3));
        assert_eq!(l.evidence[1], ("Shout".to_string(), 0.3));
    }
}
