//! How the backbone's scores become labels: the documented mapping's cues
//! (noisy-OR per label, see models/context/mapping.toml), the learned head's
//! verdicts, and arousal's vocal cues, each with its evidence.

use super::*;

fn noisy_or(cues: &[Cue], p: &[f32], skip: &[usize]) -> f32 {
    1.0 - cues
        .iter()
        .filter(|c| !skip.contains(&c.class))
        .map(|c| 1.0 - c.weight * p[c.class])
        .product::<f32>()
}

/// Scores an axis (see models/context/mapping.toml for the rule).
/// `extra`: an additional (label, score) noisy-OR'd into that label's score.
/// `skip`: classes not to count.
pub(super) fn judge(
    rules: &[LabelRule],
    p: &[f32],
    classes: &[String],
    factor: f32,
    extra: Option<(&str, f32)>,
    skip: &[usize],
) -> (Label, Vec<f32>) {
    let cue_scores: Vec<f32> = rules
        .iter()
        .map(|r| {
            let s = noisy_or(&r.cues, p, skip);
            match extra {
                Some((label, e)) if label == r.label => 1.0 - (1.0 - s) * (1.0 - e),
                _ => s,
            }
        })
        .collect();
    let mut scores = cue_scores.clone();
    for (i, r) in rules.iter().enumerate() {
        if r.absence > 0.0 {
            let others = cue_scores
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &s)| s)
                .fold(0.0, f32::max);
            scores[i] = scores[i].max(r.absence * (1.0 - others));
        }
    }
    let best = (0..rules.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    let total: f32 = scores.iter().sum();
    let confidence = if total > 0.0 {
        factor * (scores[best] / total) * (scores[best] / FULL_EVIDENCE).min(1.0)
    } else {
        0.0
    };
    let rule = &rules[best];
    let absent = (rule.absence > 0.0 && scores[best] > cue_scores[best])
        .then(|| scores[best] / rule.absence);
    let evidence = cue_evidence(rule, p, classes, extra, skip, absent);
    let confidence = round3(confidence.clamp(0.0, 1.0));
    let label = Label {
        value: if confidence >= MIN_CONFIDENCE {
            rule.label.clone()
        } else {
            UNKNOWN.into()
        },
        confidence,
        evidence,
    };
    (label, scores)
}

/// The strongest cues of `rule` (weighted scores), the extra score if it is
/// this label's, and "nothing else heard" when the absence rule spoke.
fn cue_evidence(
    rule: &LabelRule,
    p: &[f32],
    classes: &[String],
    extra: Option<(&str, f32)>,
    skip: &[usize],
    absent: Option<f32>,
) -> Vec<(String, f32)> {
    let mut evidence: Vec<(String, f32)> = rule
        .cues
        .iter()
        .filter(|c| !skip.contains(&c.class))
        .map(|c| (classes[c.class].clone(), round3(c.weight * p[c.class])))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    if let Some((label, e)) = extra {
        if label == rule.label && e > 0.0 {
            evidence.push(("pre-roll speech".into(), round3(e)));
        }
    }
    if let Some(others) = absent {
        evidence.push(("nothing else heard".into(), round3(others)));
    }
    evidence.sort_by(|a, b| b.1.total_cmp(&a.1));
    evidence.truncate(EVIDENCE_ITEMS);
    evidence
}

/// The learned head's verdict on an axis: its most probable label, the
/// probability as the confidence (`unknown` under `min_confidence`, the
/// head's abstention threshold for the axis), and the mapping's cues for that
/// label as evidence.
#[allow(clippy::too_many_arguments)]
pub(super) fn head_label(
    rules: &[LabelRule],
    names: &[&str],
    probs: &[f32],
    p: &[f32],
    classes: &[String],
    extra: Option<(&str, f32)>,
    skip: &[usize],
    min_confidence: f32,
) -> Label {
    let best = (0..probs.len())
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    let name = names.get(best).copied().unwrap_or(UNKNOWN);
    let confidence = round3(probs.get(best).copied().unwrap_or(0.0).clamp(0.0, 1.0));
    let mut evidence = rules
        .iter()
        .find(|r| r.label == name)
        .map(|r| cue_evidence(r, p, classes, extra, skip, None))
        .unwrap_or_default();
    evidence.truncate(EVIDENCE_ITEMS - 1);
    evidence.insert(0, ("learned head".into(), confidence));
    if confidence < min_confidence {
        evidence.insert(1, ("under the head's threshold".into(), min_confidence));
        evidence.truncate(EVIDENCE_ITEMS);
    }
    Label {
        value: if confidence >= min_confidence {
            name.to_string()
        } else {
            UNKNOWN.into()
        },
        confidence,
        evidence,
    }
}

/// Arousal's vocal cues: the noisy-OR of the mapping's high cues and of its
/// low cues (arousal from cues alone is `0.5 + 0.5 (high - low)`), and the
/// cues themselves, signed.
pub(super) fn arousal_cues(
    mapping: &Mapping,
    p: &[f32],
    classes: &[String],
) -> (f32, f32, Vec<(String, f32)>) {
    let high = noisy_or(&mapping.arousal_high, p, &[]);
    let low = noisy_or(&mapping.arousal_low, p, &[]);
    let mut evidence: Vec<(String, f32)> = mapping
        .arousal_high
        .iter()
        .map(|c| (classes[c.class].clone(), round3(c.weight * p[c.class])))
        .chain(
            mapping
                .arousal_low
                .iter()
                .map(|c| (classes[c.class].clone(), -round3(c.weight * p[c.class]))),
        )
        .filter(|(_, s)| *s != 0.0)
        .collect();
    evidence.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    evidence.truncate(EVIDENCE_ITEMS);
    (high, low, evidence)
}
