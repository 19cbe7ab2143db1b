//! Intents: a transcript becomes a playback [`Command`], or nothing.
//!
//! [`parse`] is a pure function. It normalises the transcript (lower case,
//! punctuation and fillers removed, number words as digits) and tries a fixed
//! list of rules, most specific first ("stop shuffling" before "stop", "play
//! the next song" before "play …"). Anything no rule matches gives `None`:
//! heyplayer reports it as `not_understood` and guesses nothing.
//!
//! The actions are the ones in the shared evaluation format (`../shared/EVAL.md`).

use serde::{Deserialize, Serialize};

mod phrasings;
use phrasings::*;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Play something (with a query) or, with none, start playing.
    Play,
    /// Pause playback.
    Pause,
    /// Resume after a pause.
    Resume,
    /// Stop playback.
    Stop,
    /// Next track.
    Next,
    /// Previous track.
    Previous,
    /// Louder.
    VolumeUp,
    /// Quieter.
    VolumeDown,
    /// Set the volume to `value` (0–100).
    VolumeSet,
    /// Mute.
    Mute,
    /// Unmute.
    Unmute,
    /// Shuffle on.
    ShuffleOn,
    /// Shuffle off.
    ShuffleOff,
    /// Repeat on.
    RepeatOn,
    /// Repeat off.
    RepeatOff,
    /// Like (favourite) the current track.
    Like,
    /// Say what is playing.
    WhatsPlaying,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The action.
    pub action: Action,
    /// For `play`: what to play, as said (normalised), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// For `volume_set`: the volume, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u8>,
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = serde_json::to_value(self.action).map_err(|_| std::fmt::Error)?;
        write!(f, "{}", v.as_str().unwrap_or("?"))?;
        if let Some(q) = &self.query {
            write!(f, " {q:?}")?;
        }
        if let Some(n) = self.value {
            write!(f, " {n}")?;
        }
        Ok(())
    }
}

impl Command {
    fn new(action: Action) -> Self {
        Self {
            action,
            query: None,
            value: None,
        }
    }
}

/// Hesitations, dropped wherever they appear.
const HESITATIONS: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "hm", "mm", "mhm", "ah", "eh", "ehm",
];

/// Politeness and address, dropped only at either end ("please stop",
/// "hey player, skip", "play some jazz please"), so queries keep their words.
const EDGE_WORDS: &[&str] = &[
    "please",
    "pls",
    "okay",
    "ok",
    "alright",
    "hey",
    "player",
    "heyplayer",
    "so",
    "now",
    "just",
    "well",
    "thanks",
    "thank",
    "you",
    "kindly",
    "oh",
    "actually",
];

/// Greetings and hedges dropped at the start only ("yo, skip", "sorry,
/// could you pause"): at the end they could be a title ("play Sorry").
const LEAD_WORDS: &[&str] = &["hi", "hello", "yo", "sorry", "maybe", "and", "but"];

/// Openings dropped at the start ("could you", "i want you to", "would you
/// mind"), with the edge words, as often as they come ("ok so could you
/// please …"). Never inside a query ("play let's dance"). An opening followed
/// by "hear" or "listen" stays: "can you hear me" is not "hear me", and
/// "i want to hear …" is a play verb of its own.
const OPENINGS: &[&str] = &[
    "can you",
    "could you",
    "would you",
    "will you",
    "can u",
    "i want you to",
    "i need you to",
    "i'd like you to",
    "id like you to",
    "i would like you to",
    "go ahead and",
    "you can",
    "let's",
    "lets",
    "i want to",
    "i wanna",
    "i'd like to",
    "id like to",
    "i would like to",
    "i'd love to",
    "i would love to",
    "can we",
    "could we",
    "excuse me",
    "i said",
    "would you mind",
    "do you mind",
];

/// Openings after which the verb comes as "-ing" ("would you mind pausing").
const MIND_OPENINGS: &[&str] = &["would you mind", "do you mind"];

/// "-ing" forms after [`MIND_OPENINGS`] and the verbs the rules know.
const GERUNDS: &[(&str, &str)] = &[
    ("pausing", "pause"),
    ("stopping", "stop"),
    ("skipping", "skip"),
    ("turning", "turn"),
    ("playing", "play"),
    ("putting", "put"),
    ("muting", "mute"),
    ("unmuting", "unmute"),
    ("going", "go"),
    ("lowering", "lower"),
    ("raising", "raise"),
    ("resuming", "resume"),
    ("continuing", "continue"),
    ("shuffling", "shuffle"),
    ("repeating", "repeat"),
    ("changing", "change"),
    ("increasing", "increase"),
    ("decreasing", "decrease"),
    ("reducing", "reduce"),
    ("making", "make"),
    ("switching", "switch"),
    ("starting", "start"),
    ("setting", "set"),
];

/// Short spells of time dropped at the end ("pause for a second"). After
/// one of them, a stop is a pause: "stop for a moment" means come back.
const BRIEF_TAILS: &[&str] = &[
    "for a second",
    "for a sec",
    "for a moment",
    "for a minute",
    "for a bit",
    "for a while",
    "for a little while",
    "for a little bit",
    "for a little",
    "for a few minutes",
    "for a few seconds",
    "for a few",
    "for one second",
    "for one minute",
];

/// Other time and politeness dropped at the end ("skip it already", "turn it
/// down if you don't mind"); also at the end of a play query.
const POLITE_TAILS: &[&str] = &[
    "for now",
    "for the moment",
    "for the time being",
    "if you don't mind",
    "if you dont mind",
    "if you can",
    "if you could",
    "if you would",
    "if possible",
    "could you",
    "can you",
    "would you",
    "will you",
    "right now",
    "real quick",
    "quickly",
    "then",
    "already",
    "mate",
    "buddy",
    "dude",
];

/// Degree dropped at the end ("turn it down a bit"); never from a query.
const DEGREE_TAILS: &[&str] = &[
    "a little bit",
    "a little more",
    "a bit more",
    "a little",
    "a bit",
    "a tad",
    "a touch",
    "a notch",
    "a lot",
    "some more",
    "slightly",
];

/// Normalises a transcript: lower case, apostrophes kept inside words, other
/// punctuation dropped, number words as digits, single spaces.
pub fn normalise(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{2019}' | '\u{2018}' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            cleaned.extend(c.to_lowercase());
        } else if c == '%' {
            cleaned.push_str(" percent ");
        } else {
            cleaned.push(' ');
        }
    }
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .collect();
    words_to_digits(&words).join(" ")
}

fn unit(w: &str) -> Option<u32> {
    Some(match w {
        "zero" | "nil" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return None,
    })
}

fn tens(w: &str) -> Option<u32> {
    Some(match w {
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Turns runs of number words ("forty five", "a hundred", "one hundred") into digits.
fn words_to_digits(words: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        // "forty-five" was split on the hyphen already; "a hundred" / "one hundred".
        if (w == "a" || w == "one") && words.get(i + 1) == Some(&"hundred") {
            out.push("100".to_string());
            i += 2;
            continue;
        }
        if w == "hundred" {
            out.push("100".to_string());
            i += 1;
            continue;
        }
        if let Some(t) = tens(w) {
            if let Some(u) = words.get(i + 1).and_then(|n| unit(n)).filter(|u| *u < 10) {
                out.push((t + u).to_string());
                i += 2;
            } else {
                out.push(t.to_string());
                i += 1;
            }
            continue;
        }
        match unit(w) {
            // "one" is often not a number ("next one", "this one").
            Some(1) if w == "one" => out.push(w.to_string()),
            Some(u) => out.push(u.to_string()),
            None => out.push(w.to_string()),
        }
        i += 1;
    }
    out
}

/// Whether `text` ends with the words `tail` (and has words before them).
fn cut_tail<'a>(text: &'a str, tail: &str) -> Option<&'a str> {
    text.strip_suffix(tail)
        .and_then(|s| s.strip_suffix(' '))
        .filter(|s| !s.is_empty())
}

/// The words of `text` without hesitations, and without openings, edge and
/// lead words at its start and edge words at its end.
fn strip(text: &str) -> String {
    let mut words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !HESITATIONS.contains(w))
        .collect();
    loop {
        let before = words.len();
        // The longest opening that starts the text.
        let opening = OPENINGS
            .iter()
            .filter(|o| {
                let n = o.split_whitespace().count();
                words.len() > n
                    && words[..n].iter().copied().eq(o.split_whitespace())
                    && !matches!(words[n], "hear" | "listen")
            })
            .max_by_key(|o| o.len());
        if let Some(o) = opening {
            words.drain(..o.split_whitespace().count());
            if MIND_OPENINGS.contains(o) {
                if let Some((_, base)) = GERUNDS.iter().find(|(g, _)| *g == words[0]) {
                    words[0] = base;
                }
            }
        }
        // One word at a time: "ok you can stop" has the opening "you can".
        else if words
            .first()
            .is_some_and(|w| EDGE_WORDS.contains(w) || LEAD_WORDS.contains(w))
        {
            words.remove(0);
        }
        if words.len() == before {
            break;
        }
    }
    // "for now" stays whole, for the fillers ([`strip_tails`]).
    while words.len() > 1
        && words.last().is_some_and(|w| EDGE_WORDS.contains(w))
        && words[words.len() - 2] != "for"
    {
        words.pop();
    }
    words.join(" ")
}

/// `text` without fillers at its end (edge words, [`BRIEF_TAILS`],
/// [`POLITE_TAILS`] and, unless `query`, [`DEGREE_TAILS`]), and whether a
/// brief spell of time was among them.
fn strip_tails(text: &str, query: bool) -> (String, bool) {
    let mut t = text;
    let mut brief = false;
    loop {
        let before = t.len();
        while let Some((rest, last)) = t.rsplit_once(' ') {
            if !EDGE_WORDS.contains(&last) || rest == "for" || rest.ends_with(" for") {
                break;
            }
            t = rest;
        }
        let lists: &[&[&str]] = if query {
            &[BRIEF_TAILS, POLITE_TAILS]
        } else {
            &[BRIEF_TAILS, POLITE_TAILS, DEGREE_TAILS]
        };
        for (k, list) in lists.iter().enumerate() {
            if let Some(rest) = list.iter().find_map(|tail| cut_tail(t, tail)) {
                brief |= k == 0;
                t = rest;
                break;
            }
        }
        if t.len() == before {
            break;
        }
    }
    (t.to_string(), brief)
}

/// Whether `phrase` occurs in `text` as whole words.
fn has(text: &str, phrase: &str) -> bool {
    format!(" {text} ").contains(&format!(" {phrase} "))
}

fn any(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| has(text, p))
}

/// Whether `text` is exactly one of `phrases` after dropping trailing
/// "the music/song/track/it/this/playback".
fn only(text: &str, phrases: &[&str]) -> bool {
    if phrases.contains(&text) {
        return true;
    }
    let mut t = text;
    for tail in [
        " the music",
        " the song",
        " the track",
        " the tune",
        " the sound",
        " the audio",
        " this song",
        " this track",
        " this one",
        " that one",
        " the current song",
        " the current track",
        " the playback",
        " playback",
        " the player",
        " everything",
        " music",
        " it",
        " this",
        " that",
    ] {
        if let Some(s) = t.strip_suffix(tail) {
            t = s;
            break;
        }
    }
    phrases.contains(&t)
}

/// The first number in `text`, if any.
fn number(text: &str) -> Option<u32> {
    text.split_whitespace().find_map(|w| w.parse().ok())
}

/// A phrasing the guided search may choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// The words, lower case, as the intent parser reads them.
    pub text: String,
    /// Whether free words follow (a query, a number).
    pub open: bool,
}

/// The phrasings guided decoding may choose from when the free transcript is
/// not a command (see `asr::guided`): every fixed phrasing above, and, open
/// (followed by free words), the play verbs and the volume-setting openings.
/// Each of them parses to a command (tested).
pub fn guide_phrases() -> Vec<Phrase> {
    let closed = [
        WHATS_PLAYING,
        WHATS_PLAYING_EXACT,
        UNMUTE,
        UNMUTE_EXACT,
        MUTE,
        VOLUME_UP,
        VOLUME_UP_EXACT,
        VOLUME_DOWN,
        VOLUME_DOWN_EXACT,
        VOLUME_MAX,
        VOLUME_HALF,
        SHUFFLE_OFF,
        SHUFFLE_ON,
        SHUFFLE_ON_ANY,
        REPEAT_OFF,
        REPEAT_ON,
        REPEAT_ON_ANY,
        LIKE,
        LIKE_EXACT,
        PREVIOUS,
        PREVIOUS_EXACT,
        NEXT,
        NEXT_EXACT,
        PAUSE,
        PAUSE_ANY,
        RESUME,
        RESUME_ANY,
        STOP,
        STOP_ANY,
    ];
    let mut out: Vec<Phrase> = Vec::new();
    let mut add = |text: &str, open: bool| {
        // Spelling variants without the apostrophe would only compete with
        // the ones Whisper writes.
        let apostrophe_free = [
            "whats", "cant", "dont", "thats", "id", "im", "lets", "un mute", "un pause",
        ];
        if apostrophe_free.iter().any(|w| has(text, w)) {
            return;
        }
        if !out.iter().any(|p| p.text == text && p.open == open) {
            out.push(Phrase {
                text: text.to_string(),
                open,
            });
        }
    };
    for list in closed {
        for p in list {
            add(p, false);
        }
    }
    for p in PLAY_VERBS.iter().chain(VOLUME_SET_OPENINGS) {
        add(p, true);
    }
    out
}

/// Parses a transcript into a command; `None` if it is not one.
///
/// The rules see the text twice if need be: as said (without hesitations,
/// openings and politeness at its ends), then also without fillers at its end
/// ("pause for a second", "turn it down a bit", "skip it if you can"). A play
/// request keeps its degree words ("play a little bit of jazz").
pub fn parse(transcript: &str) -> Option<Command> {
    let norm = normalise(transcript);
    let t = strip(&norm);
    if t.is_empty() {
        return None;
    }
    let (core, brief) = strip_tails(&t, false);
    let found = rules(&t).or_else(|| if core != t { rules(&core) } else { None });
    if let Some(mut c) = found {
        // "stop for a second": back soon, so a pause.
        if brief && c.action == Action::Stop {
            c.action = Action::Pause;
        }
        return Some(c);
    }
    let (t, _) = strip_tails(&t, true);
    play(&t)
}

/// Every rule but a play request, on stripped text `t`.
fn rules(t: &str) -> Option<Command> {
    let cmd = Command::new;
    let t = t.trim();
    if any(t, WHATS_PLAYING) || only(t, WHATS_PLAYING_EXACT) {
        return Some(cmd(Action::WhatsPlaying));
    }
    let set = |n: u8| Command {
        action: Action::VolumeSet,
        query: None,
        value: Some(n),
    };
    if any(t, VOLUME_MAX) {
        return Some(set(100));
    }
    if any(t, VOLUME_HALF) {
        return Some(set(50));
    }
    // Volume set: "volume to 40", "set the volume to 40", "turn it down to 20", "40 percent".
    if let Some(n) = number(t) {
        let about_volume = has(t, "volume")
            || has(t, "percent")
            || any(
                t,
                &[
                    "turn it",
                    "turn up to",
                    "turn down to",
                    "turn the music",
                    "set it",
                ],
            );
        // "turn it up by 10": louder, not to 10.
        let by = has(t, &format!("by {n}"));
        if about_volume && by {
            if any(t, &["up", "louder", "increase", "raise"]) {
                return Some(cmd(Action::VolumeUp));
            }
            if any(t, &["down", "quieter", "lower", "decrease", "reduce"]) {
                return Some(cmd(Action::VolumeDown));
            }
        } else if about_volume && n <= 100 {
            return Some(set(n as u8));
        }
    }
    if any(t, UNMUTE) || only(t, UNMUTE_EXACT) {
        return Some(cmd(Action::Unmute));
    }
    if only(t, MUTE)
        || any(
            t,
            &[
                "mute the music",
                "mute it",
                "mute the sound",
                "mute the volume",
            ],
        )
    {
        return Some(cmd(Action::Mute));
    }
    if any(t, VOLUME_UP) || only(t, VOLUME_UP_EXACT) {
        return Some(cmd(Action::VolumeUp));
    }
    if any(t, VOLUME_DOWN) || only(t, VOLUME_DOWN_EXACT) {
        return Some(cmd(Action::VolumeDown));
    }
    if any(t, SHUFFLE_OFF) {
        return Some(cmd(Action::ShuffleOff));
    }
    if has(t, "shuffle") && any(t, &["turn on", "enable", "on", "put on", "set"])
        || only(t, SHUFFLE_ON)
        || any(t, SHUFFLE_ON_ANY)
    {
        return Some(cmd(Action::ShuffleOn));
    }
    if any(t, REPEAT_OFF) {
        return Some(cmd(Action::RepeatOff));
    }
    if !any(t, REPEAT_NOT)
        && ((has(t, "repeat") || has(t, "loop"))
            && any(t, &["turn on", "enable", "on", "put", "set"])
            || only(t, REPEAT_ON)
            || any(t, REPEAT_ON_ANY))
    {
        return Some(cmd(Action::RepeatOn));
    }
    if (any(t, PREVIOUS) || only(t, PREVIOUS_EXACT)) && !has(t, "back on") {
        return Some(cmd(Action::Previous));
    }
    if (any(t, NEXT) || only(t, NEXT_EXACT)) && !any(t, &["next to", "skip to my lou"]) {
        return Some(cmd(Action::Next));
    }
    if only(t, LIKE_EXACT) || (any(t, LIKE) && !any(t, &["don't", "dont", "not"])) {
        return Some(cmd(Action::Like));
    }
    if only(t, PAUSE) || any(t, PAUSE_ANY) {
        return Some(cmd(Action::Pause));
    }
    if only(t, RESUME) || any(t, RESUME_ANY) {
        return Some(cmd(Action::Resume));
    }
    if only(t, STOP) || any(t, STOP_ANY) {
        return Some(cmd(Action::Stop));
    }
    // "put some jazz on" (after "put it on hold / repeat / shuffle" above).
    if let Some(mid) = t.strip_prefix("put ").and_then(|r| r.strip_suffix(" on")) {
        return Some(match mid {
            "it" | "the music" | "music" => cmd(Action::Resume),
            q => Command {
                action: Action::Play,
                query: Some(q.to_string()),
                value: None,
            },
        });
    }
    None
}

/// A play request: a play verb, then what to play, if anything.
fn play(t: &str) -> Option<Command> {
    for verb in PLAY_VERBS {
        if let Some(rest) = t
            .strip_prefix(verb)
            .filter(|r| r.is_empty() || r.starts_with(' '))
        {
            let q = rest
                .trim()
                .trim_end_matches(" for me")
                .trim_end_matches(" for us")
                .trim();
            return Some(Command {
                action: Action::Play,
                query: (!q.is_empty()).then(|| q.to_string()),
                value: None,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests;
