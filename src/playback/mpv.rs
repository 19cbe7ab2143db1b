//! mpv over its JSON IPC socket (`mpv --input-ipc-server=PATH`).
//!
//! One request per line, `{"command": [...], "request_id": N}`; mpv answers
//! `{"request_id": N, "error": "success", "data": ...}` and also writes
//! unrelated event lines, which are skipped. The connection is made at the
//! first command and again after a failure, so a player started late (or
//! restarted) is picked up.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use super::{is_uri_or_path, search_music, PlaybackError, Player, VOLUME_STEP};
use crate::intent::{Action, Command};

/// How long to wait for mpv's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// mpv, reached through its IPC socket.
#[derive(Debug)]
pub struct Mpv {
    socket: PathBuf,
    music_dir: Option<PathBuf>,
    conn: Option<(UnixStream, BufReader<UnixStream>)>,
    next_id: u64,
}

impl Mpv {
    /// A player for the socket at `socket`; `music_dir` is searched by
    /// `play <query>`. Nothing is connected until the first command.
    pub fn new(socket: PathBuf, music_dir: Option<PathBuf>) -> Self {
        Self {
            socket,
            music_dir,
            conn: None,
            next_id: 1,
        }
    }

    fn connect(&mut self) -> Result<(), PlaybackError> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.socket).map_err(|source| PlaybackError::Connect {
                path: self.socket.clone(),
                source,
            })?;
            s.set_read_timeout(Some(REPLY_TIMEOUT))?;
            let r = BufReader::new(s.try_clone()?);
            self.conn = Some((s, r));
        }
        Ok(())
    }

    /// Sends one command and returns its `data`.
    pub fn request(&mut self, args: Value) -> Result<Value, PlaybackError> {
        self.connect()?;
        let r = self.request_inner(&args);
        if matches!(r, Err(PlaybackError::Io(_) | PlaybackError::Protocol(_))) {
            self.conn = None; // reconnect next time
        }
        r
    }

    fn request_inner(&mut self, args: &Value) -> Result<Value, PlaybackError> {
        let id = self.next_id;
        self.next_id += 1;
        let Some((w, r)) = self.conn.as_mut() else {
            return Err(PlaybackError::Protocol("not connected".into()));
        };
        let line = json!({"command": args, "request_id": id}).to_string();
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
        w.flush()?;
        let mut buf = String::new();
        loop {
            buf.clear();
            if r.read_line(&mut buf)? == 0 {
                return Err(PlaybackError::Protocol("mpv closed the connection".into()));
            }
            let v: Value = serde_json::from_str(buf.trim())
                .map_err(|e| PlaybackError::Protocol(format!("{e}: {buf:?}")))?;
            if v.get("request_id").and_then(Value::as_u64) != Some(id) {
                continue; // an event, or an answer to someone else
            }
            return match v.get("error").and_then(Value::as_str) {
                Some("success") => Ok(v.get("data").cloned().unwrap_or(Value::Null)),
                other => Err(PlaybackError::Refused {
                    command: args.to_string(),
                    error: other.unwrap_or("no error field").to_string(),
                }),
            };
        }
    }

    fn set(&mut self, prop: &str, value: Value) -> Result<(), PlaybackError> {
        self.request(json!(["set_property", prop, value]))
            .map(|_| ())
    }

    fn get(&mut self, prop: &str) -> Result<Value, PlaybackError> {
        self.request(json!(["get_property", prop]))
    }

    fn volume(&mut self) -> Result<String, PlaybackError> {
        let v = self.get("volume")?;
        Ok(format!(
            "volume {}",
            v.as_f64().map_or(v.to_string(), |x| format!("{x:.0}"))
        ))
    }

    fn play(&mut self, query: Option<&str>) -> Result<String, PlaybackError> {
        let Some(q) = query else {
            self.set("pause", json!(false))?;
            return Ok("playing".into());
        };
        if is_uri_or_path(q) {
            self.request(json!(["loadfile", q, "replace"]))?;
            self.set("pause", json!(false))?;
            return Ok(format!("playing {q}"));
        }
        let Some(dir) = self.music_dir.clone() else {
            return Err(PlaybackError::Unsupported {
                player: "mpv".into(),
                action: format!("play {q:?}"),
                why: "no music folder to search: give --music-dir DIR".into(),
            });
        };
        let found = search_music(&dir, q);
        if found.is_empty() {
            return Err(PlaybackError::NoMatch {
                dir,
                query: q.to_string(),
            });
        }
        for (i, f) in found.iter().enumerate() {
            let mode = if i == 0 { "replace" } else { "append" };
            self.request(json!(["loadfile", f.to_string_lossy(), mode]))?;
        }
        self.set("pause", json!(false))?;
        let first = found[0]
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(format!(
            "playing {} track(s) matching {q:?}, starting with {first}",
            found.len()
        ))
    }
}

impl Player for Mpv {
    fn name(&self) -> String {
        "mpv".into()
    }

    fn execute(&mut self, cmd: &Command) -> Result<String, PlaybackError> {
        match cmd.action {
            Action::Play => self.play(cmd.query.as_deref()),
            Action::Pause => self.set("pause", json!(true)).map(|()| "paused".into()),
            Action::Resume => self.set("pause", json!(false)).map(|()| "playing".into()),
            Action::Stop => self.request(json!(["stop"])).map(|_| "stopped".into()),
            Action::Next => self
                .request(json!(["playlist-next", "weak"]))
                .map(|_| "next track".into()),
            Action::Previous => self
                .request(json!(["playlist-prev", "weak"]))
                .map(|_| "previous track".into()),
            Action::VolumeUp => {
                self.request(json!(["add", "volume", VOLUME_STEP]))?;
                self.volume()
            }
            Action::VolumeDown => {
                self.request(json!(["add", "volume", -VOLUME_STEP]))?;
                self.volume()
            }
            Action::VolumeSet => {
                let v = cmd
                    .value
                    .ok_or_else(|| PlaybackError::Protocol("volume_set without a value".into()))?;
                self.set("volume", json!(v))?;
                self.volume()
            }
            Action::Mute => self.set("mute", json!(true)).map(|()| "muted".into()),
            Action::Unmute => self.set("mute", json!(false)).map(|()| "unmuted".into()),
            Action::ShuffleOn => self
                .request(json!(["playlist-shuffle"]))
                .map(|_| "shuffled".into()),
            Action::ShuffleOff => self
                .request(json!(["playlist-unshuffle"]))
                .map(|_| "unshuffled".into()),
            Action::RepeatOn => self
                .set("loop-playlist", json!("inf"))
                .map(|()| "repeating".into()),
            Action::RepeatOff => self
                .set("loop-playlist", json!("no"))
                .map(|()| "not repeating".into()),
            Action::Like => Err(PlaybackError::Unsupported {
                player: "mpv".into(),
                action: "like a track".into(),
                why: "mpv keeps no favourites (an MPRIS player may)".into(),
            }),
            Action::WhatsPlaying => {
                let title = match self.get("media-title") {
                    Ok(t) => t.as_str().unwrap_or_default().to_string(),
                    Err(PlaybackError::Refused { .. }) => return Ok("nothing is playing".into()),
                    Err(e) => return Err(e),
                };
                let artist = self
                    .get("metadata/by-key/artist")
                    .ok()
                    .and_then(|a| a.as_str().map(str::to_string));
                Ok(match artist {
                    Some(a) => format!("{title} by {a}"),
                    None => title,
                })
            }
        }
    }
}
