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
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "mm", "ah",
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

/// Openings dropped wherever they appear ("could you", "i want you to").
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
    "go ahead and",
    "let's",
    "lets",
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

/// The words of `text` without hesitations, openings and edge words.
fn strip(text: &str) -> String {
    let mut t = format!(" {text} ");
    for o in OPENINGS {
        let pat = format!(" {o} ");
        while let Some(pos) = t.find(&pat) {
            t.replace_range(pos..pos + pat.len() - 1, "");
        }
    }
    let mut words: Vec<&str> = t
        .split_whitespace()
        .filter(|w| !HESITATIONS.contains(w))
        .collect();
    while words.first().is_some_and(|w| EDGE_WORDS.contains(w)) {
        words.remove(0);
    }
    while words.last().is_some_and(|w| EDGE_WORDS.contains(w)) {
        words.pop();
    }
    words.join(" ")
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
        " this song",
        " this track",
        " the playback",
        " playback",
        " the player",
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
    "name of this song",
    "name of the song",
    "who is this",
    "who's this",
    "who is singing",
    "who's singing",
    "who sings this",
    "who is playing",
    "what am i listening to",
    "what are we listening to",
    "what's on",
    "which song is this",
    "what song",
];

const UNMUTE: &[&str] = &[
    "unmute",
    "un mute",
    "sound on",
    "sound back on",
    "turn the sound back on",
];
const MUTE: &[&str] = &[
    "mute",
    "sound off",
    "turn off the sound",
    "turn the sound off",
];

const VOLUME_UP: &[&str] = &[
    "louder",
    "make it louder",
    "volume up",
    "turn it up",
    "turn up",
    "turn the volume up",
    "turn the music up",
    "crank it up",
    "crank it",
    "pump it up",
    "raise the volume",
    "raise volume",
    "increase the volume",
    "increase volume",
    "more volume",
    "up the volume",
    "can't hear",
    "cant hear",
    "too quiet",
    "too soft",
    "a bit up",
];

const VOLUME_DOWN: &[&str] = &[
    "quieter",
    "make it quieter",
    "make it softer",
    "softer",
    "less loud",
    "volume down",
    "turn it down",
    "turn down",
    "turn the volume down",
    "turn the music down",
    "lower the volume",
    "lower volume",
    "lower it",
    "decrease the volume",
    "decrease volume",
    "reduce the volume",
    "reduce volume",
    "less volume",
    "too loud",
    "keep it down",
    "not so loud",
    "bring it down",
    "down a bit",
];

const SHUFFLE_OFF: &[&str] = &[
    "shuffle off",
    "stop shuffling",
    "turn off shuffle",
    "turn shuffle off",
    "disable shuffle",
    "no shuffle",
    "unshuffle",
    "don't shuffle",
    "dont shuffle",
    "shuffle mode off",
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

const REPEAT_OFF: &[&str] = &[
    "repeat off",
    "stop repeating",
    "turn off repeat",
    "turn repeat off",
    "disable repeat",
    "no repeat",
    "don't repeat",
    "dont repeat",
    "stop looping",
    "loop off",
    "turn off loop",
    "no more repeat",
];
const REPEAT_ON: &[&str] = &[
    "repeat",
    "on repeat",
    "loop",
    "loop this",
    "loop it",
    "put it on loop",
];

const LIKE: &[&str] = &[
    "like this",
    "like this song",
    "like this track",
    "i like this",
    "i like it",
    "i love this",
    "i love it",
    "love this",
    "love this song",
    "thumbs up",
    "favorite this",
    "favourite this",
    "add this to my favorites",
    "add this to my favourites",
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

const PREVIOUS: &[&str] = &[
    "previous",
    "go back",
    "back",
    "skip back",
    "last song",
    "last track",
    "previous song",
    "previous track",
    "the one before",
    "song before",
    "play that again",
    "play the last song",
    "play the previous song",
    "play the previous track",
    "go to the previous song",
    "back one",
    "rewind",
];

const NEXT: &[&str] = &[
    "next",
    "skip",
    "next one",
    "next song",
    "next track",
    "skip this",
    "skip it",
    "skip song",
    "skip this song",
    "skip this track",
    "skip this one",
    "play the next song",
    "play the next track",
    "play the next one",
    "play next",
    "go to the next song",
    "go to the next track",
    "move on",
    "another song",
    "something else",
    "play something else",
    "change the song",
    "change song",
    "change track",
    "i don't like this",
    "i dont like this",
    "i don't like this song",
];

const PAUSE: &[&str] = &[
    "pause",
    "hold on",
    "hold it",
    "wait",
    "pause the music",
    "pause it",
    "pause playback",
    "pause this",
    "put it on hold",
    "hang on",
    "one moment",
    "one second",
    "give me a second",
];

const RESUME: &[&str] = &[
    "resume",
    "continue",
    "unpause",
    "un pause",
    "keep playing",
    "keep going",
    "carry on",
    "go on",
    "play",
    "play again",
    "start playing",
    "start playing again",
    "start the music",
    "start again",
    "resume playback",
    "resume the music",
    "continue playing",
    "continue the music",
    "back on",
    "play the music",
    "play music",
];

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
    "enough",
    "that's enough",
    "thats enough",
    "end",
    "end the music",
    "shut it off",
    "kill the music",
    "no more music",
];

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
        UNMUTE,
        MUTE,
        VOLUME_UP,
        VOLUME_DOWN,
        SHUFFLE_OFF,
        SHUFFLE_ON,
        REPEAT_OFF,
        REPEAT_ON,
        LIKE,
        PREVIOUS,
        NEXT,
        PAUSE,
        RESUME,
        STOP,
    ];
    let mut out: Vec<Phrase> = Vec::new();
    let mut add = |text: &str, open: bool| {
        // Spelling variants without the apostrophe would only compete with
        // the ones Whisper writes.
        let apostrophe_free = [
            "whats", "cant", "dont", "thats", "id", "un mute", "un pause",
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
pub fn parse(transcript: &str) -> Option<Command> {
    let norm = normalise(transcript);
    let t = strip(&norm);
    if t.is_empty() {
        return None;
    }
    let cmd = Command::new;

    if any(&t, WHATS_PLAYING) {
        return Some(cmd(Action::WhatsPlaying));
    }
    // Volume set: "volume to 40", "set the volume to 40", "turn it down to 20", "40 percent".
    if let Some(n) = number(&t) {
        let about_volume = has(&t, "volume")
            || has(&t, "percent")
            || any(
                &t,
                &[
                    "turn it",
                    "turn up",
                    "turn down",
                    "turn the music",
                    "set it",
                ],
            );
        if about_volume && n <= 100 {
            return Some(Command {
                action: Action::VolumeSet,
                query: None,
                value: Some(n as u8),
            });
        }
    }
    if any(&t, UNMUTE) {
        return Some(cmd(Action::Unmute));
    }
    if only(&t, MUTE) || any(&t, &["mute the music", "mute it", "mute the sound"]) {
        return Some(cmd(Action::Mute));
    }
    if any(&t, VOLUME_UP) {
        return Some(cmd(Action::VolumeUp));
    }
    if any(&t, VOLUME_DOWN) {
        return Some(cmd(Action::VolumeDown));
    }
    if any(&t, SHUFFLE_OFF) {
        return Some(cmd(Action::ShuffleOff));
    }
    if has(&t, "shuffle") && any(&t, &["turn on", "enable", "on", "put on", "set"])
        || only(&t, SHUFFLE_ON)
        || any(
            &t,
            &["shuffle my music", "shuffle the playlist", "shuffle play"],
        )
    {
        return Some(cmd(Action::ShuffleOn));
    }
    if any(&t, REPEAT_OFF) {
        return Some(cmd(Action::RepeatOff));
    }
    if (has(&t, "repeat") || has(&t, "loop")) && any(&t, &["turn on", "enable", "on", "put", "set"])
        || only(&t, REPEAT_ON)
        || any(
            &t,
            &["repeat this song", "repeat this track", "repeat the song"],
        )
    {
        return Some(cmd(Action::RepeatOn));
    }
    if any(&t, PREVIOUS) && !has(&t, "back on") {
        return Some(cmd(Action::Previous));
    }
    if any(&t, NEXT) && !any(&t, &["next to", "skip to my lou"]) {
        return Some(cmd(Action::Next));
    }
    if only(&t, &["like"]) || (any(&t, LIKE) && !any(&t, &["don't", "dont", "not"])) {
        return Some(cmd(Action::Like));
    }
    if only(&t, PAUSE) || any(&t, &["pause the music", "pause playback", "put it on hold"]) {
        return Some(cmd(Action::Pause));
    }
    if only(&t, RESUME)
        || any(
            &t,
            &["resume", "unpause", "keep playing", "continue playing"],
        )
    {
        return Some(cmd(Action::Resume));
    }
    if only(&t, STOP) || any(&t, &["stop the music", "stop playing", "stop playback"]) {
        return Some(cmd(Action::Stop));
    }
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
}
