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

/// Asking what is playing, anywhere in the text.
const WHATS_PLAYING: &[&str] = &[
    "what's playing",
    "whats playing",
    "what is playing",
    "what's this song",
    "whats this song",
    "what is this song",
    "what song is this",
    "what song is playing",
    "what song is that",
    "what's this track",
    "what is this track",
    "what track is this",
    "what's the name of this song",
    "what is the name of this song",
    "what's the name of this track",
    "name of this song",
    "name of the song",
    "what's the song called",
    "what is the song called",
    "what's this called",
    "what is this called",
    "who is this",
    "who's this",
    "who is singing",
    "who's singing",
    "who sings this",
    "who is playing",
    "who's the artist",
    "who is the artist",
    "what band is this",
    "which band is this",
    "what artist is this",
    "which artist is this",
    "what album is this",
    "what am i listening to",
    "what are we listening to",
    "currently playing",
    "which song is this",
];
/// Asking what is playing, as the whole text (anywhere they mean other things).
const WHATS_PLAYING_EXACT: &[&str] = &[
    "what's on",
    "whats on",
    "what song",
    "what's this",
    "what is this",
];

const UNMUTE: &[&str] = &[
    "unmute",
    "un mute",
    "sound on",
    "sound back on",
    "turn the sound back on",
    "turn the sound on",
    "turn the volume back on",
    "volume back on",
];
const UNMUTE_EXACT: &[&str] = &["volume on", "sound back"];
const MUTE: &[&str] = &[
    "mute",
    "sound off",
    "turn off the sound",
    "turn the sound off",
    "volume off",
    "turn the volume off",
    "turn off the volume",
    "silence",
    "silence the music",
    "no sound",
    "kill the sound",
];

/// Louder, anywhere in the text.
const VOLUME_UP: &[&str] = &[
    "louder",
    "make it louder",
    "volume up",
    "turn it up",
    "turn the volume up",
    "turn the music up",
    "turn the sound up",
    "turn up the volume",
    "turn up the music",
    "turn up the sound",
    "crank it up",
    "crank it",
    "crank up the volume",
    "crank the volume",
    "pump it up",
    "bump it up",
    "raise the volume",
    "raise volume",
    "increase the volume",
    "increase volume",
    "boost the volume",
    "more volume",
    "up the volume",
    "volume higher",
    "turn the volume higher",
    "can't hear",
    "cant hear",
    "can barely hear",
    "too quiet",
    "too soft",
    "a bit up",
];
/// Louder, as the whole text.
const VOLUME_UP_EXACT: &[&str] = &[
    "up",
    "turn up",
    "sound up",
    "raise it",
    "increase it",
    "crank up",
    "make it loud",
];

/// Quieter, anywhere in the text.
const VOLUME_DOWN: &[&str] = &[
    "quieter",
    "make it quieter",
    "make it softer",
    "softer",
    "less loud",
    "volume down",
    "turn it down",
    "turn the volume down",
    "turn the music down",
    "turn the sound down",
    "turn down the volume",
    "turn down the music",
    "turn down the sound",
    "lower the volume",
    "lower volume",
    "lower the music",
    "lower the sound",
    "lower it",
    "decrease the volume",
    "decrease volume",
    "reduce the volume",
    "reduce volume",
    "bring the volume down",
    "bring down the volume",
    "less volume",
    "volume lower",
    "turn the volume lower",
    "too loud",
    "keep it down",
    "not so loud",
    "bring it down",
    "tone it down",
    "quiet down",
    "down a bit",
];
/// Quieter, as the whole text.
const VOLUME_DOWN_EXACT: &[&str] = &[
    "down",
    "turn down",
    "sound down",
    "decrease it",
    "reduce it",
    "make it quiet",
];

/// The loudest: volume 100.
const VOLUME_MAX: &[&str] = &[
    "full volume",
    "max volume",
    "maximum volume",
    "volume to max",
    "volume to the max",
    "volume to maximum",
    "volume all the way up",
    "turn it all the way up",
    "turn the volume all the way up",
];
/// Half: volume 50.
const VOLUME_HALF: &[&str] = &["half volume", "volume to half", "volume at half"];

const SHUFFLE_OFF: &[&str] = &[
    "shuffle off",
    "stop shuffling",
    "turn off shuffle",
    "turn shuffle off",
    "turn off shuffling",
    "disable shuffle",
    "no shuffle",
    "no more shuffle",
    "no more shuffling",
    "unshuffle",
    "don't shuffle",
    "dont shuffle",
    "shuffle mode off",
    "stop the shuffle",
    "play in order",
];
const SHUFFLE_ON: &[&str] = &[
    "shuffle",
    "shuffle on",
    "mix it up",
    "random order",
    "randomize",
    "randomise",
];
/// Shuffle on, anywhere in the text.
const SHUFFLE_ON_ANY: &[&str] = &[
    "shuffle my music",
    "shuffle the playlist",
    "shuffle my playlist",
    "shuffle this playlist",
    "shuffle the songs",
    "shuffle my songs",
    "shuffle play",
    "shuffle all",
    "shuffle mode",
    "in random order",
    "play randomly",
];

const REPEAT_OFF: &[&str] = &[
    "repeat off",
    "stop repeating",
    "turn off repeat",
    "turn repeat off",
    "disable repeat",
    "no repeat",
    "don't repeat",
    "dont repeat",
    "repeat mode off",
    "no more repeating",
    "stop looping",
    "loop off",
    "turn off loop",
    "turn off looping",
    "no loop",
    "don't loop",
    "dont loop",
    "stop the loop",
    "no more repeat",
];
const REPEAT_ON: &[&str] = &[
    "repeat",
    "on repeat",
    "loop",
    "loop this",
    "loop it",
    "put it on loop",
    "keep repeating",
    "repeat mode",
    "repeat one",
];
/// Repeat on, anywhere in the text.
const REPEAT_ON_ANY: &[&str] = &[
    "repeat this song",
    "repeat this track",
    "repeat the song",
    "repeat this one",
    "loop this one",
];
/// Not a request for the repeat mode: "can you repeat that" asks to say it again.
const REPEAT_NOT: &[&str] = &["repeat that", "repeat after me", "repeat what you said"];

/// Like, anywhere in the text (not after a "don't" or "not").
const LIKE: &[&str] = &[
    "like this song",
    "like this track",
    "i like this",
    "i like it",
    "i love this",
    "i love it",
    "love this song",
    "thumbs up",
    "favorite this",
    "favourite this",
    "add this to my favorites",
    "add this to my favourites",
    "add this song to my favorites",
    "add this song to my favourites",
    "add to favorites",
    "add to favourites",
    "add it to my favorites",
    "add it to my favourites",
    "save this song",
    "save this track",
    "heart this",
    "i like this song",
    "like the song",
];
/// Like, as the whole text.
const LIKE_EXACT: &[&str] = &[
    "like",
    "like this",
    "love this",
    "like it",
    "love it",
    "save this",
    "save it",
    "favorite",
    "favourite",
];

/// Previous, anywhere in the text.
const PREVIOUS: &[&str] = &[
    "skip back",
    "skip backwards",
    "skip backward",
    "previous song",
    "previous track",
    "previous one",
    "the one before",
    "song before",
    "play that again",
    "play the last song",
    "play the last one",
    "play the previous song",
    "play the previous track",
    "go to the previous song",
    "go to the previous track",
    "go to the last song",
    "go back one",
    "go back a song",
    "go back a track",
    "go back to the previous",
    "go back to the last song",
    "back one song",
    "back a song",
    "rewind",
];
/// Previous, as the whole text ("go back home" is not one).
const PREVIOUS_EXACT: &[&str] = &[
    "previous",
    "go back",
    "back",
    "back one",
    "last song",
    "last track",
    "last one",
    "the last one",
    "the previous one",
];

/// Next, anywhere in the text.
const NEXT: &[&str] = &[
    "next one",
    "next song",
    "next track",
    "skip this",
    "skip it",
    "skip song",
    "skip the song",
    "skip the track",
    "skip that",
    "skip this song",
    "skip this track",
    "skip this one",
    "skip ahead",
    "skip forward",
    "skip to the next",
    "play the next song",
    "play the next track",
    "play the next one",
    "play next",
    "go to the next song",
    "go to the next track",
    "play something else",
    "play another song",
    "play another one",
    "play a different song",
    "change the song",
    "change song",
    "change track",
    "change the track",
    "i don't like this",
    "i dont like this",
    "i don't like this song",
];
/// Next, as the whole text ("what's next", "skip breakfast" are not one).
const NEXT_EXACT: &[&str] = &[
    "next",
    "skip",
    "the next",
    "move on",
    "something else",
    "something different",
    "another song",
    "another one",
    "a different song",
    "different song",
    "new song",
    "go forward",
    "forward",
];

/// Pause, as the whole text.
const PAUSE: &[&str] = &[
    "pause",
    "hold on",
    "hold it",
    "hold that",
    "wait",
    "pause the music",
    "pause it",
    "pause playback",
    "pause this",
    "put it on hold",
    "hang on",
    "one moment",
    "one second",
    "one sec",
    "a second",
    "a sec",
    "a moment",
    "give me a second",
    "give me a sec",
    "give me a minute",
    "give me a moment",
    "wait a second",
    "wait a sec",
    "wait a minute",
    "wait a moment",
    "hold on a second",
    "hold on a sec",
    "hold on a minute",
    "hold on a moment",
    "hang on a second",
    "hang on a sec",
    "hang on a minute",
    "hang on a moment",
];
/// Pause, anywhere in the text.
const PAUSE_ANY: &[&str] = &[
    "pause the music",
    "pause the song",
    "pause the track",
    "pause playback",
    "put it on hold",
];

/// Resume, as the whole text.
const RESUME: &[&str] = &[
    "resume",
    "continue",
    "unpause",
    "un pause",
    "keep playing",
    "keep going",
    "keep it going",
    "keep the music going",
    "carry on",
    "go on",
    "play on",
    "play",
    "play again",
    "press play",
    "hit play",
    "start playing",
    "start playing again",
    "start the music",
    "start the music again",
    "start again",
    "start it again",
    "resume playback",
    "resume the music",
    "continue playing",
    "continue the music",
    "back on",
    "play the music",
    "play music",
];
/// Resume, anywhere in the text.
const RESUME_ANY: &[&str] = &[
    "resume",
    "unpause",
    "keep playing",
    "continue playing",
    "press play",
    "hit play",
];

/// Stop, as the whole text.
const STOP: &[&str] = &[
    "stop",
    "stop it",
    "stop the music",
    "stop playing",
    "stop playback",
    "stop the song",
    "turn it off",
    "turn off",
    "turn off the music",
    "turn the music off",
    "switch it off",
    "switch off the music",
    "switch the music off",
    "shut off the music",
    "shut the music off",
    "enough",
    "that's enough",
    "thats enough",
    "end",
    "end the music",
    "shut it off",
    "kill the music",
    "kill it",
    "cut the music",
    "quit playing",
    "no more music",
    "shut up",
];
/// Stop, anywhere in the text.
const STOP_ANY: &[&str] = &["stop the music", "stop playing", "stop playback"];

/// Verbs that start a `play` request, longest first.
const PLAY_VERBS: &[&str] = &[
    "i would like to listen to",
    "i'd like to listen to",
    "id like to listen to",
    "i want to listen to",
    "i wanna listen to",
    "i would like to hear",
    "i'd like to hear",
    "id like to hear",
    "i want to hear",
    "i wanna hear",
    "i would love to hear",
    "i'd love to hear",
    "id love to hear",
    "i'd love to listen to",
    "i feel like listening to",
    "i feel like hearing",
    "i'm in the mood for",
    "im in the mood for",
    "in the mood for",
    "can i hear",
    "can i listen to",
    "can we hear",
    "can we listen to",
    "could i hear",
    "could we hear",
    "let's hear",
    "lets hear",
    "let's listen to",
    "lets listen to",
    "let me hear",
    "put on",
    "throw on",
    "listen to",
    "start playing",
    "queue up",
    "queue",
    "play me",
    "play us",
    "play",
];

/// Openings after which a number sets the volume ("set the volume to 40").
const VOLUME_SET_OPENINGS: &[&str] = &[
    "set the volume to",
    "set volume to",
    "volume to",
    "volume",
    "turn the volume to",
    "turn it up to",
    "turn it down to",
];

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
mod tests {
    use super::*;

    fn a(action: Action) -> Option<Command> {
        Some(Command::new(action))
    }
    fn play(q: &str) -> Option<Command> {
        Some(Command {
            action: Action::Play,
            query: Some(q.to_string()),
            value: None,
        })
    }
    fn vol(v: u8) -> Option<Command> {
        Some(Command {
            action: Action::VolumeSet,
            query: None,
            value: Some(v),
        })
    }

    #[test]
    fn normalises_case_punctuation_and_numbers() {
        assert_eq!(normalise("Volume to Forty-Five!"), "volume to 45");
        assert_eq!(normalise("What's playing?"), "what's playing");
        assert_eq!(normalise("Set it to 30%."), "set it to 30 percent");
        assert_eq!(normalise("a hundred"), "100");
        assert_eq!(normalise("the next one"), "the next one");
        assert_eq!(normalise("twenty"), "20");
        assert_eq!(normalise("“Skip”  this…"), "skip this");
    }

    #[test]
    fn phrasings_table() {
        use Action::*;
        let table: Vec<(&str, Option<Command>)> = vec![
            // play with a query
            ("play some jazz", play("some jazz")),
            ("Play some jazz.", play("some jazz")),
            ("put on some jazz", play("some jazz")),
            ("Put on some jazz, please.", play("some jazz")),
            (
                "play something by Miles Davis",
                play("something by miles davis"),
            ),
            ("play Miles Davis", play("miles davis")),
            ("play the Beatles", play("the beatles")),
            ("play Bohemian Rhapsody", play("bohemian rhapsody")),
            ("play me some rock", play("some rock")),
            ("play some relaxing music", play("some relaxing music")),
            ("I want to hear some blues", play("some blues")),
            ("I'd like to hear Mozart", play("mozart")),
            ("I wanna listen to Taylor Swift", play("taylor swift")),
            ("listen to classical music", play("classical music")),
            (
                "can you play some country music",
                play("some country music"),
            ),
            ("could you play Bob Marley please", play("bob marley")),
            ("um play uh some jazz", play("some jazz")),
            ("uh, please play some reggae", play("some reggae")),
            ("throw on some hip hop", play("some hip hop")),
            ("play my workout playlist", play("my workout playlist")),
            ("play songs by Adele", play("songs by adele")),
            (
                "play the album Kind of Blue",
                play("the album kind of blue"),
            ),
            ("queue up some techno", play("some techno")),
            ("let me hear some piano music", play("some piano music")),
            ("play some music for me", play("some music")),
            ("Hey player, play some jazz", play("some jazz")),
            ("play lo-fi beats", play("lo fi beats")),
            ("play Coldplay", play("coldplay")),
            ("play some eighties pop", play("some eighties pop")),
            ("play the radio", play("the radio")),
            // pause
            ("pause", a(Pause)),
            ("Pause.", a(Pause)),
            ("pause the music", a(Pause)),
            ("pause it", a(Pause)),
            ("pause playback", a(Pause)),
            ("hold on", a(Pause)),
            ("wait", a(Pause)),
            ("um, pause please", a(Pause)),
            ("could you pause the music", a(Pause)),
            ("hang on", a(Pause)),
            ("pause this song", a(Pause)),
            // resume
            ("resume", a(Resume)),
            ("Resume.", a(Resume)),
            ("continue", a(Resume)),
            ("unpause", a(Resume)),
            ("keep playing", a(Resume)),
            ("carry on", a(Resume)),
            ("play", a(Resume)),
            ("resume the music", a(Resume)),
            ("resume playback", a(Resume)),
            ("start playing again", a(Resume)),
            ("continue playing", a(Resume)),
            ("play the music", a(Resume)),
            // stop
            ("stop", a(Stop)),
            ("Stop.", a(Stop)),
            ("stop the music", a(Stop)),
            ("stop playing", a(Stop)),
            ("turn it off", a(Stop)),
            ("turn off the music", a(Stop)),
            ("that's enough", a(Stop)),
            ("please stop", a(Stop)),
            ("stop playback", a(Stop)),
            ("stop it", a(Stop)),
            ("uh stop the music please", a(Stop)),
            // next
            ("skip", a(Next)),
            ("Skip.", a(Next)),
            ("next", a(Next)),
            ("next one", a(Next)),
            ("the next one", a(Next)),
            ("next song", a(Next)),
            ("next track", a(Next)),
            ("skip this", a(Next)),
            ("skip this song", a(Next)),
            ("skip this one", a(Next)),
            ("play the next song", a(Next)),
            ("go to the next track", a(Next)),
            ("something else", a(Next)),
            ("play something else", a(Next)),
            ("I don't like this song", a(Next)),
            ("change the song", a(Next)),
            ("skip it please", a(Next)),
            ("Next song, please.", a(Next)),
            // previous
            ("previous", a(Previous)),
            ("go back", a(Previous)),
            ("back", a(Previous)),
            ("previous song", a(Previous)),
            ("previous track", a(Previous)),
            ("play the previous song", a(Previous)),
            ("skip back", a(Previous)),
            ("last song", a(Previous)),
            ("play that again", a(Previous)),
            ("go back one song", a(Previous)),
            ("Go back.", a(Previous)),
            // volume up
            ("louder", a(VolumeUp)),
            ("Louder!", a(VolumeUp)),
            ("turn it up", a(VolumeUp)),
            ("volume up", a(VolumeUp)),
            ("turn up the volume", a(VolumeUp)),
            ("turn the volume up", a(VolumeUp)),
            ("increase the volume", a(VolumeUp)),
            ("raise the volume", a(VolumeUp)),
            ("a bit louder please", a(VolumeUp)),
            ("crank it up", a(VolumeUp)),
            ("I can't hear it", a(VolumeUp)),
            ("make it louder", a(VolumeUp)),
            // volume down
            ("quieter", a(VolumeDown)),
            ("turn it down", a(VolumeDown)),
            ("Turn it down.", a(VolumeDown)),
            ("volume down", a(VolumeDown)),
            ("lower the volume", a(VolumeDown)),
            ("turn down the volume", a(VolumeDown)),
            ("decrease the volume", a(VolumeDown)),
            ("too loud", a(VolumeDown)),
            ("it's too loud", a(VolumeDown)),
            ("softer", a(VolumeDown)),
            ("a little quieter please", a(VolumeDown)),
            ("reduce the volume", a(VolumeDown)),
            ("make it quieter", a(VolumeDown)),
            // volume set
            ("volume to forty", vol(40)),
            ("Volume to 40.", vol(40)),
            ("set the volume to forty", vol(40)),
            ("set the volume to 40%", vol(40)),
            ("set volume to seventy five", vol(75)),
            ("volume fifty", vol(50)),
            ("volume 50", vol(50)),
            ("turn the volume to twenty", vol(20)),
            ("turn it down to 20", vol(20)),
            ("turn it up to eighty", vol(80)),
            ("set the volume to a hundred", vol(100)),
            ("volume at thirty percent", vol(30)),
            ("change the volume to ten", vol(10)),
            ("volume zero", vol(0)),
            ("set the volume to sixty-five please", vol(65)),
            // mute / unmute
            ("mute", a(Mute)),
            ("Mute.", a(Mute)),
            ("mute the music", a(Mute)),
            ("mute it", a(Mute)),
            ("sound off", a(Mute)),
            ("unmute", a(Unmute)),
            ("Unmute.", a(Unmute)),
            ("unmute the music", a(Unmute)),
            ("sound on", a(Unmute)),
            ("turn the sound back on", a(Unmute)),
            // shuffle
            ("shuffle", a(ShuffleOn)),
            ("shuffle on", a(ShuffleOn)),
            ("turn on shuffle", a(ShuffleOn)),
            ("turn shuffle on", a(ShuffleOn)),
            ("enable shuffle", a(ShuffleOn)),
            ("shuffle my music", a(ShuffleOn)),
            ("mix it up", a(ShuffleOn)),
            ("shuffle off", a(ShuffleOff)),
            ("turn off shuffle", a(ShuffleOff)),
            ("stop shuffling", a(ShuffleOff)),
            ("disable shuffle", a(ShuffleOff)),
            ("play in order", a(ShuffleOff)),
            // repeat
            ("repeat", a(RepeatOn)),
            ("repeat on", a(RepeatOn)),
            ("turn on repeat", a(RepeatOn)),
            ("repeat this song", a(RepeatOn)),
            ("put it on repeat", a(RepeatOn)),
            ("loop this", a(RepeatOn)),
            ("repeat off", a(RepeatOff)),
            ("turn off repeat", a(RepeatOff)),
            ("stop repeating", a(RepeatOff)),
            ("don't repeat", a(RepeatOff)),
            ("no more repeat", a(RepeatOff)),
            // like
            ("like this song", a(Like)),
            ("I like this song", a(Like)),
            ("I love this song", a(Like)),
            ("like", a(Like)),
            ("thumbs up", a(Like)),
            ("add this to my favorites", a(Like)),
            ("save this song", a(Like)),
            ("love this", a(Like)),
            // what's playing
            ("what's playing", a(WhatsPlaying)),
            ("What's playing?", a(WhatsPlaying)),
            ("what is playing", a(WhatsPlaying)),
            ("what song is this", a(WhatsPlaying)),
            ("what's this song", a(WhatsPlaying)),
            ("who is this", a(WhatsPlaying)),
            ("who sings this", a(WhatsPlaying)),
            ("what am I listening to", a(WhatsPlaying)),
            ("what's the name of this song", a(WhatsPlaying)),
            ("um what song is this", a(WhatsPlaying)),
            // not understood: nothing is guessed
            ("", None),
            ("um", None),
            ("what's the weather like", None),
            ("hello there", None),
            ("how are you", None),
            ("the quick brown fox", None),
            ("thank you", None),
            ("order a pizza", None),
            ("call mom", None),
            ("[BLANK_AUDIO]", None),
            ("turn on the lights", None),
            ("what time is it", None),
        ];
        assert!(table.len() >= 150, "only {} phrasings", table.len());
        let mut wrong = Vec::new();
        for (text, want) in &table {
            let got = parse(text);
            if &got != want {
                wrong.push(format!("{text:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn serialises_like_the_eval_format() {
        let c = parse("play some jazz").unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"action":"play","query":"some jazz"}"#
        );
        let v = parse("volume to forty").unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"action":"volume_set","value":40}"#
        );
    }

    #[test]
    fn every_guided_phrase_parses() {
        let phrases = guide_phrases();
        assert!(phrases.len() > 150, "{}", phrases.len());
        for p in &phrases {
            let text = if !p.open {
                p.text.clone()
            } else if PLAY_VERBS.contains(&p.text.as_str()) {
                format!("{} some jazz", p.text)
            } else {
                format!("{} 40", p.text)
            };
            let got = parse(&text);
            assert!(got.is_some(), "{text:?} does not parse");
            if p.open && PLAY_VERBS.contains(&p.text.as_str()) {
                assert_eq!(got, play("some jazz"), "{text:?}");
            }
            if p.open && VOLUME_SET_OPENINGS.contains(&p.text.as_str()) {
                assert_eq!(got, vol(40), "{text:?}");
            }
        }
    }

    #[test]
    fn volume_above_100_is_not_guessed() {
        assert_eq!(parse("volume to 500"), None);
    }

    /// Parses each text; fails listing every one that differs.
    fn check(table: &[(&str, Option<Command>)]) {
        let wrong: Vec<String> = table
            .iter()
            .filter(|(text, want)| &parse(text) != want)
            .map(|(text, want)| format!("{text:?}: got {:?}, want {want:?}", parse(text)))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    /// Issue 29: the fillers and turns of phrase people use with a speaker
    /// (written from how people talk, not from any evaluation corpus).
    #[test]
    fn issue_29_everyday_phrasings() {
        use Action::*;
        let table: Vec<(&str, Option<Command>)> = vec![
            // a spell of time: a pause, even when said as "stop"
            ("pause for a second", a(Pause)),
            ("Pause for a second.", a(Pause)),
            ("pause the music for a moment please", a(Pause)),
            ("could you pause it for a minute", a(Pause)),
            ("stop for a second", a(Pause)),
            ("stop the music for a moment", a(Pause)),
            ("hold on a sec", a(Pause)),
            ("wait a minute", a(Pause)),
            ("just a second", a(Pause)),
            ("give me a minute", a(Pause)),
            ("hang on a moment", a(Pause)),
            ("pause the song", a(Pause)),
            ("would you mind pausing the music", a(Pause)),
            ("stop for now", a(Stop)),
            // openings and politeness
            ("could you please skip this song", a(Next)),
            ("can you please turn it down", a(VolumeDown)),
            ("would you please stop the music", a(Stop)),
            ("excuse me, could you pause", a(Pause)),
            ("sorry, can you skip this one", a(Next)),
            ("I want to skip this song", a(Next)),
            ("I'd like to go back", a(Previous)),
            ("I said stop", a(Stop)),
            ("ok you can stop now", a(Stop)),
            ("can we skip this", a(Next)),
            ("you can stop now", a(Stop)),
            ("skip it if you can", a(Next)),
            ("turn it down if you don't mind", a(VolumeDown)),
            ("skip this song already", a(Next)),
            ("do you mind turning it up", a(VolumeUp)),
            ("ok so um could you please mute it", a(Mute)),
            // degree
            ("turn it up a bit", a(VolumeUp)),
            ("turn it down a little", a(VolumeDown)),
            ("a little louder", a(VolumeUp)),
            ("up a bit", a(VolumeUp)),
            ("turn up the music", a(VolumeUp)),
            ("turn up the sound a little bit", a(VolumeUp)),
            ("turn the sound down", a(VolumeDown)),
            ("bring the volume down a notch", a(VolumeDown)),
            ("tone it down", a(VolumeDown)),
            ("quieter please", a(VolumeDown)),
            ("louder, please", a(VolumeUp)),
            ("crank up the volume", a(VolumeUp)),
            ("turn it up by ten", a(VolumeUp)),
            ("turn the volume down by 20 percent", a(VolumeDown)),
            // volume to a number, in words or digits
            ("volume to 40 percent", vol(40)),
            ("volume to forty percent", vol(40)),
            ("set the volume to fifty five", vol(55)),
            ("put the volume at thirty", vol(30)),
            ("turn it up to a hundred", vol(100)),
            ("volume one hundred", vol(100)),
            ("full volume", vol(100)),
            ("max volume please", vol(100)),
            ("turn it all the way up", vol(100)),
            ("half volume", vol(50)),
            // next and previous
            ("skip this", a(Next)),
            ("skip this song please", a(Next)),
            ("skip the song", a(Next)),
            ("skip ahead", a(Next)),
            ("skip to the next one", a(Next)),
            ("next please", a(Next)),
            ("another one", a(Next)),
            ("play a different song", a(Next)),
            ("go back", a(Previous)),
            ("go back a song", a(Previous)),
            ("previous one", a(Previous)),
            ("play the last one again", a(Previous)),
            ("skip backwards", a(Previous)),
            // stop, resume
            ("stop the music", a(Stop)),
            ("stop the music please", a(Stop)),
            ("stop everything", a(Stop)),
            ("shut the music off", a(Stop)),
            ("kill it", a(Stop)),
            ("resume the song", a(Resume)),
            ("keep it going", a(Resume)),
            ("press play", a(Resume)),
            ("start it again", a(Resume)),
            ("put it on", a(Resume)),
            // mute
            ("mute the volume", a(Mute)),
            ("silence", a(Mute)),
            ("turn the sound on", a(Unmute)),
            // play
            (
                "play something by Miles Davis",
                play("something by miles davis"),
            ),
            ("put on some jazz", play("some jazz")),
            ("put some jazz on", play("some jazz")),
            ("put the Beatles on", play("the beatles")),
            ("put something on", play("something")),
            ("play some jazz for a while", play("some jazz")),
            ("can you play some jazz for me please", play("some jazz")),
            ("I want to hear some blues", play("some blues")),
            ("I'd love to hear some Beethoven", play("some beethoven")),
            ("can I hear some jazz", play("some jazz")),
            ("let's hear some Motown", play("some motown")),
            ("let's listen to the radio", play("the radio")),
            ("I'm in the mood for some reggae", play("some reggae")),
            ("play a little bit of jazz", play("a little bit of jazz")),
            (
                "play Let's Dance by David Bowie",
                play("let's dance by david bowie"),
            ),
            ("play I Want to Break Free", play("i want to break free")),
            // shuffle, repeat, like, what's playing
            ("shuffle the songs", a(ShuffleOn)),
            ("put it on shuffle", a(ShuffleOn)),
            ("play in random order", a(ShuffleOn)),
            ("no more shuffle", a(ShuffleOff)),
            ("repeat this one", a(RepeatOn)),
            ("repeat mode off", a(RepeatOff)),
            ("I love this one", a(Like)),
            ("love it", a(Like)),
            ("add this song to my favorites", a(Like)),
            ("what's this song called", a(WhatsPlaying)),
            ("who's the artist", a(WhatsPlaying)),
            ("what is this", a(WhatsPlaying)),
            ("what band is this", a(WhatsPlaying)),
        ];
        check(&table);
    }

    /// Issue 29: near-commands that must stay not understood (the words of
    /// a command inside something else).
    #[test]
    fn issue_29_near_commands_stay_not_understood() {
        let table = [
            "I'll be back",
            "call me back",
            "go back home",
            "back to work",
            "what's next",
            "next week",
            "next time",
            "skip breakfast",
            "we should move on",
            "let's talk about something else",
            "that was the last song they played",
            "it looks like this",
            "it goes like this",
            "I like turtles",
            "the pause button is broken",
            "turn up the heat",
            "turn down the offer",
            "turn off the lights",
            "turn on the lights",
            "wait for me",
            "can you hear me",
            "I want to go home",
            "can you repeat that",
            "repeat after me",
            "shuffle the cards",
            "what's on the menu",
            "what song should I sing",
            "what time is it",
            "stop by the store",
            "hold on to your dreams",
            "I need a break",
            "set an alarm for seven",
            "it's a second hand shop",
            "a little bit",
            "for a second",
            "if you can",
            "please",
            "thank you so much",
            "not now",
            "I played football yesterday",
        ];
        let wrong: Vec<String> = table
            .iter()
            .filter_map(|t| parse(t).map(|c| format!("{t:?} -> {c}")))
            .collect();
        assert!(wrong.is_empty(), "became commands:\n{}", wrong.join("\n"));
    }
}
