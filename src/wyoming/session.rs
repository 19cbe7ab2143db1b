//! One client's session: a synchronous state machine, events in, replies
//! out ([`Session::handle`]). It owns the client's audio state (format,
//! resampler, VAD, the wake word's first stage and recorder, the transcribe
//! buffer), all bounded; Whisper is borrowed from the shared [`WhisperPool`]
//! only while a recording is heard.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};

use serde_json::{json, Value};

use super::protocol::Message;
use crate::asr::AsrError;
use crate::audio::{Frame, FrameResampler, FRAME_MS, MAX_INPUT_RATE, SAMPLE_RATE};
use crate::command::front::WakeFront;
use crate::command::verify::match_phrase;
use crate::command::{self, Commander, Job};
use crate::config::Config;
use crate::events::Event;
use crate::intent::{self, Command};
use crate::vad::{Boundary, VoiceDetector};
use crate::wake::WakeModels;
use crate::Error;

/// The wake word's name in `info`, `detect` and `detection`.
pub const WAKE_NAME: &str = "hey_player";
/// The ASR model name that asks for transcripts guided toward playback
/// commands (any other name: plain transcription).
pub const COMMANDS_MODEL: &str = "heyplayer-commands";
/// Audio kept for one `transcribe`, ms: Whisper hears at most 30 s. Audio
/// after that is counted and dropped (the transcript says so in `context`).
pub const MAX_TRANSCRIBE_MS: u64 = 30_000;

/// Whisper workers shared by every session: a session takes one for the
/// time it hears a recording, so at most `n` run at once (Whisper is the
/// heavy part; the machine has few cores).
pub struct WhisperPool {
    free: Mutex<Vec<Commander>>,
    ready: Condvar,
}

impl WhisperPool {
    /// A pool of these workers.
    pub fn new(workers: Vec<Commander>) -> Self {
        Self {
            free: Mutex::new(workers),
            ready: Condvar::new(),
        }
    }

    /// Runs `f` with a worker, waiting for one to be free.
    pub fn with<T>(&self, f: impl FnOnce(&mut Commander) -> T) -> T {
        let mut c = {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(c) = free.pop() {
                    break c;
                }
                free = self
                    .ready
                    .wait(free)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // A panic in one session must not take the worker with it (the
        // pool would shrink until every session waits for ever): the worker
        // goes back, then the panic ends that session only.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut c)));
        c.reset();
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c);
        self.ready.notify_one();
        out.unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

/// What every session shares: the settings, the models (loaded once), the
/// Whisper pool and the `info` reply.
pub struct Shared {
    /// The settings in force.
    pub config: Config,
    /// Silero VAD's file (each session builds its own VAD from it).
    pub silero: PathBuf,
    /// The "hey player" first stage.
    pub wake: Option<WakeModels>,
    /// Whisper.
    pub whisper: WhisperPool,
    /// The name of the Whisper model loaded.
    pub asr_model: String,
    /// Whisper models installed but not loaded (named in `info`).
    pub asr_installed: Vec<String>,
    /// The `info` event's data.
    pub info: Value,
}

/// What a session was asked and answered, for its audit entry (counts only,
/// never content).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Tally {
    /// `describe` events.
    pub describe: u32,
    /// `detect` requests.
    pub detect: u32,
    /// `transcribe` requests.
    pub transcribe: u32,
    /// `recognize` requests.
    pub recognize: u32,
    /// Audio received, ms (at its own rate).
    pub audio_ms: u64,
    /// `detection` replies.
    pub detections: u32,
    /// Wakes the second stage rejected.
    pub rejected: u32,
    /// `transcript` replies.
    pub transcripts: u32,
    /// `intent` replies.
    pub intents: u32,
    /// `error` replies.
    pub errors: u32,
}

/// What the audio that follows is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `transcribe` (or audio with no request): a transcript at `audio-stop`.
    Transcribe { guided: bool },
    /// `detect`: the wake word, then the command.
    Detect,
}

/// The format of the audio stream under way.
struct Stream {
    rate: u32,
    width: usize,
    channels: usize,
    resampler: FrameResampler,
    /// Bytes of an incomplete sample frame from the last chunk.
    carry: Vec<u8>,
}

/// The wake word's state over one stream.
struct Detecting {
    vad: VoiceDetector,
    front: WakeFront,
    /// A `detection` was sent for the wake being handled.
    detected_any: bool,
}

/// One client's session.
pub struct Session<'a> {
    shared: &'a Shared,
    mode: Mode,
    stream: Option<Stream>,
    detecting: Option<Detecting>,
    /// Resampled audio for `transcribe` (capacity [`MAX_TRANSCRIBE_MS`]).
    clip: Vec<f32>,
    dropped_ms: u64,
    /// 16 kHz frames of the last chunk.
    frames: Vec<Frame>,
    /// Mono input samples of the last chunk.
    mono: Vec<f32>,
    /// Audio clock of the stream, ms (16 kHz frames).
    t_ms: u64,
    events: Vec<Event>,
    /// What was asked and answered.
    pub tally: Tally,
}

impl<'a> Session<'a> {
    /// A session over the shared models.
    pub fn new(shared: &'a Shared) -> Self {
        let cap = (MAX_TRANSCRIBE_MS * SAMPLE_RATE as u64 / 1000) as usize;
        Self {
            shared,
            mode: Mode::Transcribe { guided: false },
            stream: None,
            detecting: None,
            clip: Vec::with_capacity(cap),
            dropped_ms: 0,
            frames: Vec::with_capacity(64),
            mono: Vec::with_capacity(8192),
            t_ms: 0,
            events: Vec::with_capacity(8),
            tally: Tally::default(),
        }
    }

    /// Handles one event; replies go to `out`.
    pub fn handle(&mut self, m: Message, out: &mut Vec<Message>) {
        let n = out.len();
        let r = match m.kind.as_str() {
            "describe" => {
                self.tally.describe += 1;
                out.push(Message::new("info", self.shared.info.clone()));
                Ok(())
            }
            "ping" => {
                out.push(Message::new("pong", json!({"text": m.data.get("text")})));
                Ok(())
            }
            "recognize" => {
                self.tally.recognize += 1;
                match m.data.get("text").and_then(Value::as_str) {
                    Some(text) => {
                        out.push(recognize(text, &self.shared.config.wake.phrase));
                        Ok(())
                    }
                    None => Err(("bad-event", "recognize needs \"text\"".to_string())),
                }
            }
            "transcribe" => {
                self.tally.transcribe += 1;
                self.transcribe_request(&m)
            }
            "detect" => {
                self.tally.detect += 1;
                self.detect_request(&m)
            }
            "audio-start" => self.audio_start(&m),
            "audio-chunk" => self.audio_chunk(&m, out),
            "audio-stop" => {
                self.audio_stop(out);
                Ok(())
            }
            // Wyoming servers drop events they do not know (the protocol's
            // rule: select-program, satellite events, ...).
            _ => Ok(()),
        };
        if let Err((code, text)) = r {
            out.push(Message::error(code, text));
        }
        for m in &out[n..] {
            match m.kind.as_str() {
                "detection" => self.tally.detections += 1,
                "transcript" => self.tally.transcripts += 1,
                "intent" => self.tally.intents += 1,
                "error" => self.tally.errors += 1,
                _ => {}
            }
        }
    }

    fn transcribe_request(&mut self, m: &Message) -> Result<(), (&'static str, String)> {
        if let Some(lang) = m.data.get("language").and_then(Value::as_str) {
            if !lang.is_empty() && !lang.starts_with("en") {
                return Err((
                    "unsupported-language",
                    format!("language {lang:?}: heyplayer transcribes English (en) only"),
                ));
            }
        }
        let guided = match m.data.get("name").and_then(Value::as_str) {
            None => false,
            Some(COMMANDS_MODEL) => true,
            Some(n) if n == self.shared.asr_model || n == "heyplayer" => false,
            Some(n) if self.shared.asr_installed.iter().any(|i| i == n) => {
                return Err((
                    "model-not-loaded",
                    format!(
                        "model {n} is installed but this server runs {}: start it with `heyplayer wyoming --model {n}`",
                        self.shared.asr_model
                    ),
                ))
            }
            Some(n) => {
                return Err((
                    "unknown-model",
                    format!(
                        "no ASR model {n:?} here: {} (plain) or {COMMANDS_MODEL} (guided toward playback commands)",
                        self.shared.asr_model
                    ),
                ))
            }
        };
        self.mode = Mode::Transcribe { guided };
        Ok(())
    }

    fn detect_request(&mut self, m: &Message) -> Result<(), (&'static str, String)> {
        if self.shared.wake.is_none() {
            return Err((
                "no-wake-word",
                "this server has no wake-word model (a custom wake phrase is configured)".into(),
            ));
        }
        if let Some(names) = m.data.get("names").and_then(Value::as_array) {
            let ours = names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| n == WAKE_NAME || intent::normalise(n) == self.shared.config.wake.phrase);
            if !names.is_empty() && !ours {
                return Err((
                    "unknown-wake-word",
                    format!("this server detects only {WAKE_NAME} (\"hey player\")"),
                ));
            }
        }
        self.mode = Mode::Detect;
        // A new request over a stream under way (a satellite sends `detect`
        // again after each command, without a new audio-start): listen afresh.
        if self.stream.is_some() {
            self.detecting = Some(self.new_detecting()?);
        }
        Ok(())
    }

    fn new_detecting(&self) -> Result<Detecting, (&'static str, String)> {
        let s = self.shared;
        let vad = VoiceDetector::new(&s.config.vad, &s.silero)
            .map_err(|e| ("vad-failed", e.to_string()))?;
        Ok(Detecting {
            vad,
            front: WakeFront::new(&s.config, s.wake.clone()),
            detected_any: false,
        })
    }

    fn audio_start(&mut self, m: &Message) -> Result<(), (&'static str, String)> {
        let fmt = format_of(m)?;
        let resampler = FrameResampler::new(fmt.0).map_err(|e| ("bad-format", e.to_string()))?;
        self.stream = Some(Stream {
            rate: fmt.0,
            width: fmt.1,
            channels: fmt.2,
            resampler,
            carry: Vec::with_capacity(fmt.1 * fmt.2),
        });
        self.clip.clear();
        self.dropped_ms = 0;
        self.t_ms = 0;
        self.detecting = None;
        if self.mode == Mode::Detect {
            self.detecting = Some(self.new_detecting()?);
        }
        Ok(())
    }

    fn audio_chunk(
        &mut self,
        m: &Message,
        out: &mut Vec<Message>,
    ) -> Result<(), (&'static str, String)> {
        if self.stream.is_none() {
            // Clients may skip audio-start: the chunk's own format starts the stream.
            self.audio_start(m)?;
        }
        let Some(st) = self.stream.as_mut() else {
            return Ok(());
        };
        let fmt = format_of(m)?;
        if fmt != (st.rate, st.width, st.channels) {
            return Err((
                "bad-format",
                format!(
                    "audio-chunk is {} Hz, {} bytes, {} channels but audio-start said {} Hz, {} bytes, {} channels",
                    fmt.0, fmt.1, fmt.2, st.rate, st.width, st.channels
                ),
            ));
        }
        decode(st, &m.payload, &mut self.mono);
        self.tally.audio_ms = self
            .tally
            .audio_ms
            .saturating_add(self.mono.len() as u64 * 1000 / st.rate as u64);
        self.frames.clear();
        let frames = &mut self.frames;
        st.resampler
            .push(&self.mono, |f| frames.push(*f))
            .map_err(|e| ("audio-failed", e.to_string()))?;
        self.take_frames(out);
        Ok(())
    }

    fn audio_stop(&mut self, out: &mut Vec<Message>) {
        let Some(mut st) = self.stream.take() else {
            return;
        };
        self.frames.clear();
        let frames = &mut self.frames;
        if let Err(e) = st.resampler.finish(|f| frames.push(*f)) {
            out.push(Message::error("audio-failed", e.to_string()));
        }
        self.take_frames(out);
        match self.mode {
            Mode::Transcribe { guided } => self.transcribe(guided, out),
            Mode::Detect => self.end_detect(out),
        }
    }

    /// Hands the frames of the last chunk on: to the transcribe buffer, or
    /// through the VAD and the wake word.
    fn take_frames(&mut self, out: &mut Vec<Message>) {
        let frames = std::mem::take(&mut self.frames);
        for f in &frames {
            match self.mode {
                Mode::Transcribe { .. } => {
                    if self.clip.len() + f.len() <= self.clip.capacity() {
                        self.clip.extend_from_slice(f);
                    } else {
                        self.dropped_ms += FRAME_MS;
                    }
                }
                Mode::Detect => self.detect_frame(f, out),
            }
            self.t_ms += FRAME_MS;
        }
        self.frames = frames;
    }

    fn detect_frame(&mut self, f: &Frame, out: &mut Vec<Message>) {
        let Some(d) = self.detecting.as_mut() else {
            return;
        };
        let t_ms = self.t_ms;
        let r = d
            .vad
            .push(t_ms, f, |_, _| {})
            .map_err(Error::from)
            .and_then(|b| {
                let onset = matches!(b, Some(Boundary::Started { .. }));
                let speech = (d.vad.in_speech(), d.vad.frame_speech());
                d.front.push(t_ms, f, speech, onset, None, &mut self.events)
            });
        let verify = self.shared.config.wake.verify;
        for ev in self.events.drain(..) {
            if let (Event::Wake { t_ms, .. }, false) = (&ev, verify) {
                // First stage only: say so at once (Home Assistant then
                // streams the command to its speech-to-text).
                d.detected_any = true;
                out.push(detection(*t_ms));
            }
        }
        match r {
            Ok(Some(job)) => self.run_job(job, out),
            Ok(None) => {}
            Err(e) => out.push(Message::error("wake-failed", e.to_string())),
        }
    }

    fn end_detect(&mut self, out: &mut Vec<Message>) {
        let t_ms = self.t_ms;
        let job = self.detecting.as_mut().and_then(|d| {
            d.vad.finish();
            d.front.flush(t_ms)
        });
        if let Some(job) = job {
            self.run_job(job, out);
        }
        if !self.detecting.as_ref().is_some_and(|d| d.detected_any) {
            out.push(Message::new("not-detected", json!({})));
        }
        self.detecting = None;
    }

    /// A command recording after the first stage fired: the second stage
    /// and the command, as `listen` does ([`command::handle`]).
    fn run_job(&mut self, job: Job, out: &mut Vec<Message>) {
        let wake_t_ms = job.wake_t_ms;
        let events = &mut self.events;
        self.shared
            .whisper
            .with(|c| command::handle(c, None, job, events));
        let verify = self.shared.config.wake.verify;
        let Some(d) = self.detecting.as_mut() else {
            self.events.clear();
            return;
        };
        let announce = |out: &mut Vec<Message>, d: &mut Detecting| {
            if verify {
                d.detected_any = true;
                out.push(detection(wake_t_ms));
            }
        };
        for ev in self.events.drain(..) {
            match ev {
                Event::WakeRejected { .. } => self.tally.rejected += 1,
                Event::Transcript { text, .. } => {
                    announce(out, d);
                    out.push(Message::new(
                        "transcript",
                        json!({"text": text, "language": "en"}),
                    ));
                }
                Event::Command { command, .. } => out.push(intent_message(&command, None)),
                Event::NotUnderstood { text, .. } => {
                    if text.is_empty() {
                        // The wake stood, with no command after it.
                        announce(out, d);
                    } else {
                        out.push(Message::new("not-recognized", json!({"text": text})));
                    }
                }
                Event::CommandFailed { stage, reason, .. } => out.push(Message::error(
                    "command-failed",
                    format!("{stage}: {reason}"),
                )),
                _ => {}
            }
        }
    }

    fn transcribe(&mut self, guided: bool, out: &mut Vec<Message>) {
        let clip = &self.clip;
        let r = self.shared.whisper.with(|c| -> Result<String, AsrError> {
            let asr = c.asr();
            if !guided {
                return Ok(asr.transcribe_plain(clip)?.text);
            }
            let t = asr.transcribe(clip)?;
            let u = asr.understand(&t, &intent::normalise(&t.text), "")?;
            Ok(u.guided_text().map(str::to_string).unwrap_or(t.text))
        });
        let mut data = match r {
            Ok(text) => json!({"text": text, "language": "en"}),
            // Nothing to hear in under a quarter second or so: no words.
            Err(AsrError::TooShort { .. }) => json!({"text": "", "language": "en"}),
            Err(e) => {
                out.push(Message::error("asr-failed", e.to_string()));
                return;
            }
        };
        if self.dropped_ms > 0 {
            data["context"] = json!({"dropped_ms": self.dropped_ms, "kept_ms": MAX_TRANSCRIBE_MS});
        }
        self.clip.clear();
        out.push(Message::new("transcript", data));
    }
}

fn detection(t_ms: u64) -> Message {
    Message::new(
        "detection",
        json!({"name": WAKE_NAME, "timestamp": t_ms, "speaker": null}),
    )
}

/// The format of an `audio-start` or `audio-chunk`: rate, width, channels.
fn format_of(m: &Message) -> Result<(u32, usize, usize), (&'static str, String)> {
    let get = |k: &str| m.data.get(k).and_then(Value::as_u64);
    match (get("rate"), get("width"), get("channels")) {
        (Some(r), Some(w), Some(c))
            if (1..=MAX_INPUT_RATE as u64).contains(&r)
                && (1..=4).contains(&w)
                && (1..=64).contains(&c) =>
        {
            Ok((r as u32, w as usize, c as usize))
        }
        (Some(_), Some(_), Some(_)) => Err((
            "bad-format",
            format!(
                "{}: rate 1..{MAX_INPUT_RATE} Hz, width 1..4 bytes, 1..64 channels please (got {:?})",
                m.kind,
                (get("rate"), get("width"), get("channels"))
            ),
        )),
        _ => Err((
            "bad-format",
            format!("{} needs rate, width and channels", m.kind),
        )),
    }
}

/// Little-endian PCM (8-bit unsigned, 16/24/32-bit signed) to mono samples
/// in [-1, 1], the channels averaged; an incomplete sample frame waits in
/// `st.carry` for the next chunk.
fn decode(st: &mut Stream, payload: &[u8], mono: &mut Vec<f32>) {
    mono.clear();
    let frame = st.width * st.channels;
    let mut sample = |b: &[u8]| -> f32 {
        match st.width {
            1 => (b[0] as f32 - 128.0) / 128.0,
            2 => i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0,
            3 => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        }
    };
    let mut mix = |f: &[u8], mono: &mut Vec<f32>| {
        let sum: f32 = f.chunks_exact(st.width).map(&mut sample).sum();
        mono.push(sum / st.channels as f32);
    };
    let mut rest = payload;
    if !st.carry.is_empty() {
        let take = (frame - st.carry.len()).min(rest.len());
        st.carry.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        if st.carry.len() == frame {
            mix(&st.carry, mono);
            st.carry.clear();
        }
    }
    let mut it = rest.chunks_exact(frame);
    for f in &mut it {
        mix(f, mono);
    }
    st.carry.extend_from_slice(it.remainder());
}

/// `recognize`: the text (after the wake phrase, if it starts with it) as
/// one of our commands: `intent` with the action as its name and the slots
/// `query` and `value` as entities, else `not-recognized`.
pub fn recognize(text: &str, phrase: &str) -> Message {
    let rest = match_phrase(text, phrase).unwrap_or_else(|| text.to_string());
    match intent::parse(&rest) {
        Some(c) => intent_message(&c, Some(text)),
        None => Message::new("not-recognized", json!({"text": text})),
    }
}

/// An `intent` event for a command.
pub fn intent_message(c: &Command, text: Option<&str>) -> Message {
    let name = serde_json::to_value(c.action).unwrap_or(Value::Null);
    let mut entities = Vec::new();
    if let Some(q) = &c.query {
        entities.push(json!({"name": "query", "value": q}));
    }
    if let Some(v) = c.value {
        entities.push(json!({"name": "value", "value": v}));
    }
    let mut data = json!({"name": name, "entities": entities});
    if let Some(t) = text {
        data["text"] = json!(t);
    }
    Message::new("intent", data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rate: u32, width: usize, channels: usize) -> Stream {
        Stream {
            rate,
            width,
            channels,
            resampler: FrameResampler::new(rate).unwrap(),
            carry: Vec::new(),
        }
    }

    #[test]
    fn recognize_names_our_actions_and_their_slots() {
        let m = recognize("Hey player, play some jazz.", "hey player");
        assert_eq!(m.kind, "intent");
        assert_eq!(m.data["name"], "play");
        assert_eq!(
            m.data["entities"],
            json!([{"name": "query", "value": "some jazz"}])
        );
        let m = recognize("volume to forty", "hey player");
        assert_eq!(m.data["name"], "volume_set");
        assert_eq!(m.data["entities"], json!([{"name": "value", "value": 40}]));
        let m = recognize("what is the weather like", "hey player");
        assert_eq!(m.kind, "not-recognized");
        assert_eq!(m.data["text"], "what is the weather like");
    }

    #[test]
    fn pcm_is_decoded_and_downmixed_across_chunk_boundaries() {
        let mut st = stream(16_000, 2, 2);
        let mut mono = Vec::new();
        // Two stereo frames: (16384, 0) and (-32768, -32768), split mid-sample.
        let bytes: Vec<u8> = [16384i16, 0, -32768, -32768]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        decode(&mut st, &bytes[..3], &mut mono);
        assert!(mono.is_empty());
        decode(&mut st, &bytes[3..], &mut mono);
        assert_eq!(mono, [0.25, -1.0]);
        let mut st = stream(8_000, 1, 1);
        decode(&mut st, &[128, 255, 0], &mut mono);
        assert_eq!(mono[0], 0.0);
        assert!(mono[1] > 0.99 && mono[2] == -1.0);
        let mut st = stream(8_000, 3, 1);
        decode(&mut st, &[0, 0, 0x40, 0, 0, 0xC0], &mut mono);
        assert_eq!(mono, [0.5, -0.5]);
    }

    #[test]
    fn a_format_out_of_range_is_refused() {
        let m = |d: Value| Message::new("audio-start", d);
        assert!(format_of(&m(json!({"rate": 16000, "width": 2, "channels": 1}))).is_ok());
        for bad in [
            json!({"rate": 0, "width": 2, "channels": 1}),
            json!({"rate": 16000, "width": 5, "channels": 1}),
            json!({"rate": 16000, "width": 2, "channels": 0}),
            json!({"rate": 16000, "width": 2}),
            json!({"rate": "x", "width": 2, "channels": 1}),
        ] {
            assert_eq!(format_of(&m(bad)).unwrap_err().0, "bad-format");
        }
    }
}
