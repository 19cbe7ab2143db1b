//! The second wake stage, whole: after the first stage fired, Whisper must
//! hear the phrase. The transcript may start with it ([`match_phrase`]:
//! fuzzy, but not loose), or the phrase forced at the start of the transcript
//! must be likely enough; either way it must not be beaten by a near-miss
//! rival ("Hey layer", "Hey players"). Since issue 29 (`wake.verify_evidence`)
//! those pieces of evidence are weighed together instead, with the first
//! stage's score ([`Evidence`]). Its settings and their measured defaults are
//! [`WakeSettings`]; the first stage is [`crate::wake`].

use crate::asr::{capitalise, AsrWorker, Transcript};
use crate::config::WakeSettings;
use crate::intent::normalise;
use crate::Error;

/// How Whisper writes a spoken "hey" that is more than one letter off.
const HEY_HEARD_AS: &[&str] = &["a", "eh", "hi"];

/// Whether `heard` (a transcript) starts with the wake `phrase`. The first
/// word may be one letter off ("hay player") or, for "hey", one of
/// `HEY_HEARD_AS` ("a player"); the others must be exact, or
/// plural ("hey players"), so near-misses ("hey layer", "hey prayer", "okay
/// player") do not pass. Whisper may put up to two words before the phrase.
/// Returns the rest of the transcript (the command) when it matches.
pub fn match_phrase(heard: &str, phrase: &str) -> Option<String> {
    let heard = normalise(heard);
    let phrase = normalise(phrase);
    let want: Vec<&str> = phrase.split_whitespace().collect();
    let words: Vec<&str> = heard.split_whitespace().collect();
    let (first, rest) = want.split_first()?;
    for skip in 0..=2usize {
        let Some(cand) = words.get(skip..skip + want.len()) else {
            break;
        };
        let first_ok = char_distance(cand[0], first) <= 1
            || (*first == "hey" && HEY_HEARD_AS.contains(&cand[0]));
        let rest_ok = cand[1..]
            .iter()
            .zip(rest)
            .all(|(c, w)| c == w || c.strip_suffix('s') == Some(w));
        if first_ok && rest_ok {
            return Some(words[skip + want.len()..].join(" "));
        }
    }
    None
}

/// Levenshtein distance between two words, in characters.
fn char_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    crate::text::edit_distance(&a, &b)
}

/// What the second stage checks: the phrase, how likely Whisper must find it,
/// and the near misses it must beat.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeCheck {
    /// The wake phrase, normalised ("hey player").
    pub phrase: String,
    /// See `wake.verify_min_forced_logprob`.
    pub min_forced: f32,
    /// The ways Whisper writes the phrase at the start of a transcript
    /// ("Hey player,", "Hey, player." ...), then each rival ("Hey layer,").
    leads: Vec<String>,
    /// How many of `leads` are the phrase's.
    own: usize,
    /// See `wake.verify_max_rival_lead`.
    pub max_rival_lead: f32,
    /// See `wake.verify_min_evidence`; `None` when `wake.verify_evidence` is
    /// off (the forced check and the rivals' lead then decide on their own).
    pub min_evidence: Option<f32>,
}

impl WakeCheck {
    /// From the validated settings (the phrase's rivals resolved).
    pub fn new(w: &WakeSettings) -> Self {
        let mut c = Self::with(
            &w.phrase,
            w.verify_min_forced_logprob,
            &w.rivals(),
            w.verify_max_rival_lead,
        );
        // The weights were fit with the rivals weighed: without any, there is
        // no lead to weigh.
        if w.verify_evidence && c.has_rivals() {
            c.min_evidence = Some(w.verify_min_evidence);
        }
        c
    }

    /// `phrase` normalised; `rivals` as Whisper would write them.
    pub fn with(phrase: &str, min_forced: f32, rivals: &[String], max_rival_lead: f32) -> Self {
        let cap = capitalise(phrase.trim());
        let mut own = vec![format!("{cap},"), format!("{cap}.")];
        if let Some((first, rest)) = cap.split_once(' ') {
            own.push(format!("{first}, {rest},"));
            own.push(format!("{first}, {rest}."));
        }
        let n = own.len();
        let mut leads = own;
        leads.extend(rivals.iter().map(|r| format!("{},", r.trim())));
        Self {
            phrase: phrase.to_string(),
            min_forced,
            leads,
            own: n,
            max_rival_lead,
            min_evidence: None,
        }
    }

    /// The phrase's spellings, then the rivals, as scored.
    pub fn leads(&self) -> &[String] {
        &self.leads
    }

    /// Whether any rival is weighed.
    pub fn has_rivals(&self) -> bool {
        self.leads.len() > self.own
    }
}

/// The second stage, after the first fired on a clip `asr` just transcribed
/// as `t`. The phrase is heard if the transcript starts with it
/// ([`match_phrase`]), or else if the phrase forced at the start of the
/// transcript has a mean token log-probability of at least
/// [`WakeCheck::min_forced`] (accents, "A player." for "hey player"). Either
/// way, it must then not be beaten by a rival ("Hey players", "Play her") by
/// more than [`WakeCheck::max_rival_lead`] in summed log-probability: the
/// fuzzy match and a loose forced score would otherwise let near misses in.
pub fn verify_wake(
    asr: &mut AsrWorker,
    t: &Transcript,
    check: &WakeCheck,
) -> Result<WakeVerdict, Error> {
    let Some(rest) = phrase_heard(asr, t, check)? else {
        return Ok(WakeVerdict::NotHeard);
    };
    if !check.has_rivals() {
        return Ok(WakeVerdict::Heard(rest));
    }
    let (own, rivals) = check.leads.split_at(check.own);
    let own_best = asr
        .lead_logprobs(own)?
        .into_iter()
        .fold(f32::NEG_INFINITY, f32::max);
    // Only a rival that gets within `max_rival_lead` of the phrase can beat
    // it: the others are given up after their first unlikely token, with the
    // same verdict for fewer decoder steps (issue 31).
    let Some((i, rival_best)) = best_rival(asr, rivals, own_best + check.max_rival_lead)? else {
        return Ok(WakeVerdict::Heard(rest));
    };
    let lead = rival_best - own_best;
    Ok(if lead > check.max_rival_lead {
        WakeVerdict::Outranked {
            rival: check.leads[check.own + i].clone(),
            lead,
        }
    } else {
        WakeVerdict::Heard(rest)
    })
}

/// The likeliest of `rivals` at the start of the transcript `asr` last made:
/// its index and summed log-probability, among those scoring above `floor`
/// (the others are given up after their first unlikely token, issue 31);
/// `None` when none does.
fn best_rival(
    asr: &mut AsrWorker,
    rivals: &[String],
    floor: f32,
) -> Result<Option<(usize, f32)>, Error> {
    Ok(asr
        .lead_logprobs_above(rivals, floor)?
        .into_iter()
        .enumerate()
        .filter(|(_, lp)| lp.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1)))
}

/// Weight of the first stage's score (as `ln(s / (1 - s))`, `s` clamped to
/// [`FIRST_SCORE_CLAMP`], 1 - that) in [`Evidence::strength`].
const EVIDENCE_FIRST: f32 = 0.3505;
/// Weight of the best spelling's mean token log-probability, forced.
const EVIDENCE_FORCED: f32 = 0.7879;
/// Weight of the best rival's lead over the best spelling (summed
/// log-probability, floored at [`LEAD_FLOOR`]).
const EVIDENCE_LEAD: f32 = -0.5151;
/// The constant term.
const EVIDENCE_BIAS: f32 = 0.0619;
/// The first stage's score is clamped to [this, 1 - this].
const FIRST_SCORE_CLAMP: f32 = 1e-4;
/// A rival's lead counts down to this (the phrase far ahead of every rival).
const LEAD_FLOOR: f32 = -10.0;

/// What the second stage weighs when `wake.verify_evidence` is on (issue 29):
/// a logistic regression over the first stage's score, the best of the
/// phrase's spellings forced at the start of the transcript, and the best
/// rival's lead over it. Fit on the wake model's training voices only
/// (`heyplayer_tools.wake.verify_study`, the model card): positives (with a
/// pause, a comma and fluent) against near misses and the training speakers'
/// real speech (scored as if the first stage had fired at full confidence).
/// The plain retry can only add evidence: the better forced score and the
/// smaller lead of the two passes count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The first stage's score, 0 to 1.
    pub first_score: f32,
    /// Best mean token log-probability of the phrase's spellings, forced.
    pub forced: f32,
    /// Summed log-probability by which the best rival beats the best spelling.
    pub lead: f32,
}

impl Evidence {
    /// How likely the phrase is, 0 to 1 (compared with `wake.verify_min_evidence`).
    pub fn strength(&self) -> f32 {
        let z = Self::scores_term(self.first_score, self.forced)
            + EVIDENCE_LEAD * self.lead.max(LEAD_FLOOR)
            + EVIDENCE_BIAS;
        1.0 / (1.0 + (-z).exp())
    }

    /// The largest rival lead at which a pass with this first-stage score and
    /// forced score still reaches strength `min` (+inf or -inf at the ends).
    pub fn max_lead(first_score: f32, forced: f32, min: f32) -> f32 {
        let target = (min / (1.0 - min)).ln();
        // EVIDENCE_LEAD is negative: a larger lead lowers the strength.
        let rest = Self::scores_term(first_score, forced) + EVIDENCE_BIAS;
        (target - rest) / EVIDENCE_LEAD
    }

    /// The first stage's and the forced phrase's terms of the strength's
    /// log-odds (added in the order the strength adds them).
    fn scores_term(first_score: f32, forced: f32) -> f32 {
        let s = first_score.clamp(FIRST_SCORE_CLAMP, 1.0 - FIRST_SCORE_CLAMP);
        EVIDENCE_FIRST * (s / (1.0 - s)).ln() + EVIDENCE_FORCED * forced
    }

    /// The evidence of two passes on the same clip: the better of each.
    pub fn best_of(self, other: Evidence) -> Evidence {
        Evidence {
            first_score: self.first_score.max(other.first_score),
            forced: self.forced.max(other.forced),
            lead: self.lead.min(other.lead),
        }
    }
}

/// Kept below [`Evidence::max_lead`] when rivals are given up, so that
/// rounding never gives up one that would have decided.
const PRUNE_MARGIN: f32 = 0.05;

/// The evidence of the pass `asr` last made, and the best rival's text, for
/// the decision at strength `min`; `prior` is the prompted pass's evidence
/// when this is the plain retry (the better of both then counts). Rivals
/// that cannot change that decision are given up early (issue 31): those
/// further behind the phrase than the largest lead that still lets it stand
/// ([`Evidence::max_lead`]), or than [`LEAD_FLOOR`]. The decision is the
/// one all rivals would give; when every rival was given up, the lead is
/// given as [`LEAD_FLOOR`] and the rival as "" (the phrase then stands).
fn weigh(
    asr: &mut AsrWorker,
    check: &WakeCheck,
    first_score: f32,
    min: f32,
    prior: Option<Evidence>,
) -> Result<(Evidence, String), Error> {
    let (own_leads, rival_leads) = check.leads.split_at(check.own);
    let own = asr.lead_logprobs(own_leads)?;
    let (mut forced, mut own_best) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for (lead, &sum) in own_leads.iter().zip(&own) {
        let n = asr.lead_tokens(lead)?.max(1);
        forced = forced.max(sum / n as f32);
        own_best = own_best.max(sum);
    }
    let (s, f) = match prior {
        Some(p) => (first_score.max(p.first_score), forced.max(p.forced)),
        None => (first_score, forced),
    };
    let decisive = (Evidence::max_lead(s, f, min) - PRUNE_MARGIN).max(LEAD_FLOOR);
    let (rival, lead) = match best_rival(asr, rival_leads, own_best + decisive)? {
        Some((i, lp)) => (rival_leads[i].clone(), (lp - own_best).max(LEAD_FLOOR)),
        None => (String::new(), LEAD_FLOOR),
    };
    let e = Evidence {
        first_score,
        forced,
        lead,
    };
    Ok((e, rival))
}

/// The command text after the phrase in `t`, the pass `asr` last made: what
/// follows the phrase when the transcript starts with it, else what Whisper
/// writes after the phrase forced at the start.
fn command_after(asr: &mut AsrWorker, t: &Transcript, check: &WakeCheck) -> Result<String, Error> {
    if let Some(rest) = match_phrase(&t.text, &check.phrase) {
        return Ok(rest);
    }
    Ok(normalise(&asr.force(&wake_lead(&check.phrase))?.rest))
}

/// What the second stage made of one transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum WakeVerdict {
    /// The phrase stood: the command text after it.
    Heard(String),
    /// Neither the transcript's start nor the forced phrase was close enough.
    NotHeard,
    /// The phrase was heard, but the near miss `rival` was likelier, by
    /// `lead` in summed log-probability.
    Outranked {
        /// The rival's text, as in [`WakeCheck::leads`].
        rival: String,
        /// How much likelier than the phrase's best form.
        lead: f32,
    },
    /// The evidence weighed together ([`Evidence`]) fell short of
    /// `wake.verify_min_evidence`.
    Weak {
        /// Its strength, 0 to 1.
        strength: f32,
        /// The evidence (of both passes when the retry ran).
        evidence: Evidence,
        /// The best rival, as in [`WakeCheck::leads`].
        rival: String,
    },
}

impl WakeVerdict {
    /// The command text when the phrase stood.
    pub fn command(self) -> Option<String> {
        match self {
            WakeVerdict::Heard(rest) => Some(rest),
            _ => None,
        }
    }

    /// Why the phrase was rejected, in words (`None` when it stood).
    pub fn why(&self) -> Option<String> {
        match self {
            WakeVerdict::Heard(_) => None,
            WakeVerdict::NotHeard => Some("phrase not heard".into()),
            WakeVerdict::Outranked { rival, lead } => Some(format!(
                "near miss {:?} likelier by {lead:.1}",
                rival.trim_end_matches([',', '.'])
            )),
            WakeVerdict::Weak {
                strength,
                evidence: e,
                rival,
            } => Some(format!(
                "weak evidence {strength:.2} (wake score {:.2}, phrase forced {:.2}, {})",
                e.first_score,
                e.forced,
                match rival.trim_end_matches([',', '.']) {
                    "" => format!("no near miss within {:.0}", -LEAD_FLOOR),
                    r => format!("near miss {r:?} {:+.1}", e.lead),
                }
            )),
        }
    }
}

/// [`verify_wake`] without the rivals: the command text after the phrase if
/// the transcript starts with it or the forced phrase is likely enough.
pub fn phrase_heard(
    asr: &mut AsrWorker,
    t: &Transcript,
    check: &WakeCheck,
) -> Result<Option<String>, Error> {
    if let Some(rest) = match_phrase(&t.text, &check.phrase) {
        return Ok(Some(rest));
    }
    let f = asr.force(&wake_lead(&check.phrase))?;
    Ok((f.lead_avg_logprob >= check.min_forced).then(|| normalise(&f.rest)))
}

/// The whole second stage on the clip `asr` just transcribed (primed with
/// the prompt, audio context at least `asr.min_audio_ctx`) as `t`:
/// [`verify_wake`] on that transcript, and when it fails, once more on a
/// transcript made without the prompt. Primed with the
/// command vocabulary, Whisper often writes "hey player" as "Play." or "K.
/// Player."; on the held-out corpus the retry took verified FRR from 70.6% to
/// 66.9% with no false accept. The retry decodes the clip's encoding again
/// ([`AsrWorker::transcribe_plain_again`]) instead of encoding it again
/// (issue 31). Returns the command text when the phrase was
/// heard, and the plain transcript when the retry ran (the command then comes
/// from it). A rejection carries the verdict of the last transcript checked.
///
/// With [`WakeCheck::min_evidence`] (`wake.verify_evidence`, the default) the
/// same pieces are weighed together with `first_score`, the first stage's
/// score ([`Evidence`]): the phrase stands when their strength reaches it,
/// on the prompted pass or on both passes together.
pub fn verify_wake_clip(
    asr: &mut AsrWorker,
    t: &Transcript,
    check: &WakeCheck,
    first_score: f32,
) -> Result<(WakeVerdict, Option<Transcript>), Error> {
    let Some(min) = check.min_evidence else {
        let first = verify_wake(asr, t, check)?;
        if matches!(first, WakeVerdict::Heard(_)) || !asr.has_prompt() {
            return Ok((first, None));
        }
        let plain = asr.transcribe_plain_again()?;
        let v = verify_wake(asr, &plain, check)?;
        return Ok((v, Some(plain)));
    };
    // The evidence weighed together, on the prompted pass, then on both.
    let (e, rival) = weigh(asr, check, first_score, min, None)?;
    if e.strength() >= min {
        return Ok((WakeVerdict::Heard(command_after(asr, t, check)?), None));
    }
    let weak = |evidence: Evidence, rival: String| WakeVerdict::Weak {
        strength: evidence.strength(),
        evidence,
        rival,
    };
    if !asr.has_prompt() {
        return Ok((weak(e, rival), None));
    }
    let plain = asr.transcribe_plain_again()?;
    let (p, plain_rival) = weigh(asr, check, first_score, min, Some(e))?;
    let both = e.best_of(p);
    let v = if both.strength() >= min {
        WakeVerdict::Heard(command_after(asr, &plain, check)?)
    } else {
        // The rival named is the one that led on the pass with the smaller lead.
        weak(both, if p.lead <= e.lead { plain_rival } else { rival })
    };
    Ok((v, Some(plain)))
}

/// The second stage on the wake phrase's own clip (issue 29): `short` is the
/// audio from the pre-roll's start to just after the first stage fired, for
/// Whisper to hear "... hey player" without the command that can pull it
/// into "Hey play a ...". Transcribed with an audio context sized to it (at
/// least `min_ctx` encoder frames), then [`verify_wake_clip`]'s checks and
/// retry. Synchronous and on the short clip alone: it can run while the
/// command is still being spoken. The verdict's command text is what
/// followed the phrase in the short clip (usually nothing); a command would
/// come from the whole recording. Also returns what Whisper heard in it, and
/// without the prompt when the retry ran. Measured on the training voices
/// and held out, not used by the daemon (the model card, issue 29):
/// `examples/verify_short.rs` runs it.
pub fn verify_wake_short(
    asr: &mut AsrWorker,
    short: &[f32],
    check: &WakeCheck,
    min_ctx: usize,
    first_score: f32,
) -> Result<(WakeVerdict, Transcript, Option<Transcript>), Error> {
    let t = asr.transcribe_ctx(short, true, min_ctx)?;
    let (v, plain) = verify_wake_clip(asr, &t, check, first_score)?;
    Ok((v, t, plain))
}

/// The wake phrase as Whisper writes it before a command ("Hey player,"),
/// forced before the phrasings in guided decoding.
pub fn wake_lead(phrase: &str) -> String {
    match phrase.trim() {
        "" => String::new(),
        p => format!("{},", capitalise(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_grows_with_each_piece_and_the_retry_only_adds() {
        let e = Evidence {
            first_score: 0.9,
            forced: -2.0,
            lead: 0.0,
        };
        let s = e.strength();
        assert!(s > 0.0 && s < 1.0);
        let more = |f: fn(&mut Evidence)| {
            let mut x = e;
            f(&mut x);
            x.strength()
        };
        assert!(more(|x| x.first_score = 0.999) > s);
        assert!(more(|x| x.forced = -1.0) > s);
        assert!(more(|x| x.lead = -2.0) > s);
        // A score of 1 (or 0) is clamped, not infinite; a rival far behind counts as -10.
        assert!(more(|x| x.first_score = 1.0).is_finite());
        assert_eq!(more(|x| x.lead = -50.0), more(|x| x.lead = LEAD_FLOOR));
        let other = Evidence {
            first_score: 0.9,
            forced: -3.0,
            lead: -1.0,
        };
        let both = e.best_of(other);
        assert_eq!((both.forced, both.lead), (-2.0, -1.0));
        assert!(both.strength() >= e.strength().max(other.strength()));
        // The weights as fit (`verify_study`, pooled training-voice clips): a
        // clear "hey player" passes the default minimum, a near miss a rival
        // beats by 3 does not.
        let min = crate::config::WakeSettings::default().verify_min_evidence;
        let clear = Evidence {
            first_score: 0.99,
            forced: -0.5,
            lead: -4.0,
        };
        assert!(clear.strength() >= min);
        let near = Evidence {
            first_score: 0.99,
            forced: -2.5,
            lead: 3.0,
        };
        assert!(near.strength() < min);
    }

    /// Issue 31: rivals are given up below the largest lead that lets the
    /// phrase stand; at that lead the strength is the minimum, just under it
    /// the phrase stands, just over it it does not.
    #[test]
    fn issue_31_max_lead_is_where_the_strength_crosses_the_minimum() {
        for (first_score, forced, min) in [(0.9, -1.0, 0.71), (0.6, -2.5, 0.71), (0.99, -0.2, 0.5)]
        {
            let l = Evidence::max_lead(first_score, forced, min);
            let at = |lead: f32| {
                Evidence {
                    first_score,
                    forced,
                    lead,
                }
                .strength()
            };
            assert!((at(l) - min).abs() < 1e-4, "{first_score} {forced}: {l}");
            assert!(at(l - 0.01) >= min && at(l + 0.01) < min);
        }
    }

    #[test]
    fn a_wake_verdict_says_why_it_rejected() {
        let heard = WakeVerdict::Heard("play jazz".into());
        assert_eq!(heard.why(), None);
        assert_eq!(heard.command().as_deref(), Some("play jazz"));
        assert_eq!(
            WakeVerdict::NotHeard.why().as_deref(),
            Some("phrase not heard")
        );
        let v = WakeVerdict::Outranked {
            rival: "Hey players,".into(),
            lead: 2.34,
        };
        assert_eq!(
            v.why().as_deref(),
            Some("near miss \"Hey players\" likelier by 2.3")
        );
        assert_eq!(v.command(), None);
    }

    #[test]
    fn wake_check_weighs_the_phrase_as_whisper_writes_it_against_its_rivals() {
        let c = WakeCheck::with("hey player", -2.0, &["Hey layer".into()], 1.0);
        assert_eq!(
            c.leads,
            [
                "Hey player,",
                "Hey player.",
                "Hey, player,",
                "Hey, player.",
                "Hey layer,"
            ]
        );
        assert_eq!(c.own, 4);
        assert!(c.has_rivals());
        // A one-word phrase has no comma inside; no rivals, nothing to weigh.
        let c = WakeCheck::with("computer", -2.0, &[], 1.0);
        assert_eq!(c.leads, ["Computer,", "Computer."]);
        assert!(!c.has_rivals());
    }

    #[test]
    fn phrase_matching_is_fuzzy_but_not_loose() {
        assert_eq!(
            match_phrase("Hey player, play some jazz.", "hey player").as_deref(),
            Some("play some jazz")
        );
        assert_eq!(
            match_phrase("Hey, player!", "hey player").as_deref(),
            Some("")
        );
        assert_eq!(
            match_phrase("Hey players, skip.", "hey player").as_deref(),
            Some("skip")
        );
        assert_eq!(
            match_phrase("Hay player, pause.", "hey player").as_deref(),
            Some("pause")
        );
        assert_eq!(match_phrase("Hey layer", "hey player"), None);
        assert_eq!(match_phrase("Hey prayer, play", "hey player"), None);
        assert_eq!(match_phrase("Okay player", "hey player"), None);
        assert_eq!(
            match_phrase("Okay, hey player stop", "hey player").as_deref(),
            Some("stop")
        );
        assert_eq!(
            match_phrase("Hey computer, next song", "hey computer").as_deref(),
            Some("next song")
        );
        assert_eq!(match_phrase("Hey there, how are you?", "hey player"), None);
        assert_eq!(match_phrase("Play some jazz", "hey player"), None);
        assert_eq!(match_phrase("Hey Siri", "hey player"), None);
        assert_eq!(match_phrase("Hey Jarvis", "hey player"), None);
        assert_eq!(match_phrase("", "hey player"), None);
    }
}
