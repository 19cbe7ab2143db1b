//! Any MPRIS player on the D-Bus session bus (zbus, blocking API).
//!
//! The player is chosen at each command: the one named with `--player NAME`
//! (`org.mpris.MediaPlayer2.NAME`), else the one playing now, else the one
//! that played last (remembered here), else the first on the bus. The
//! `Can*` properties are checked before acting, and a player that refuses
//! gives an error outcome, never a crash.

use std::collections::HashMap;
use std::path::PathBuf;

use zbus::blocking::fdo::DBusProxy;
use zbus::blocking::{proxy::Builder, Connection, Proxy};
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedValue;

use super::{is_uri_or_path, search_music, PlaybackError, Player};
use crate::intent::{Action, Command};

/// Prefix of every MPRIS bus name.
pub const MPRIS_PREFIX: &str = "org.mpris.MediaPlayer2.";
const MPRIS_PATH: &str = "/org/mpris/MediaPlayer2";
const PLAYER_IFACE: &str = "org.mpris.MediaPlayer2.Player";
/// Volume step of "louder" / "quieter" (MPRIS volume is 0.0–1.0).
pub const MPRIS_VOLUME_STEP: f64 = super::VOLUME_STEP as f64 / 100.0;

/// An MPRIS player, found on the session bus when a command comes.
pub struct Mpris {
    wanted: Option<String>,
    music_dir: Option<PathBuf>,
    conn: Option<Connection>,
    last_active: Option<String>,
    muted_from: Option<f64>,
}

impl std::fmt::Debug for Mpris {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpris")
            .field("wanted", &self.wanted)
            .field("last_active", &self.last_active)
            .finish()
    }
}

fn bus_err(e: zbus::Error) -> PlaybackError {
    PlaybackError::Bus(e.to_string())
}

fn fdo_err(e: zbus::fdo::Error) -> PlaybackError {
    PlaybackError::Bus(e.to_string())
}

impl Mpris {
    /// `wanted`: a player's short name (`vlc`, `mpv`…) or full bus name;
    /// `None` picks one as described above.
    pub fn new(wanted: Option<String>, music_dir: Option<PathBuf>) -> Self {
        let wanted = wanted.map(|w| {
            if w.starts_with(MPRIS_PREFIX) {
                w
            } else {
                format!("{MPRIS_PREFIX}{w}")
            }
        });
        Self {
            wanted,
            music_dir,
            conn: None,
            last_active: None,
            muted_from: None,
        }
    }

    fn conn(&mut self) -> Result<&Connection, PlaybackError> {
        if self.conn.is_none() {
            let c = Connection::session().map_err(|e| {
                PlaybackError::Bus(format!(
                    "no D-Bus session bus ({e}): is DBUS_SESSION_BUS_ADDRESS set?"
                ))
            })?;
            self.conn = Some(c);
        }
        self.conn
            .as_ref()
            .ok_or_else(|| PlaybackError::Bus("no session bus".into()))
    }

    fn proxy<'a>(
        conn: &'a Connection,
        name: &str,
        iface: &'a str,
    ) -> Result<Proxy<'a>, PlaybackError> {
        Builder::new(conn)
            .destination(name.to_string())
            .and_then(|b| b.path(MPRIS_PATH))
            .and_then(|b| b.interface(iface))
            .map(|b| b.cache_properties(CacheProperties::No))
            .and_then(|b| b.build())
            .map_err(bus_err)
    }

    /// The MPRIS players on the bus, by bus name.
    pub fn players(&mut self) -> Result<Vec<String>, PlaybackError> {
        let conn = self.conn()?;
        let names = DBusProxy::new(conn)
            .map_err(bus_err)?
            .list_names()
            .map_err(fdo_err)?;
        let mut out: Vec<String> = names
            .iter()
            .map(|n| n.to_string())
            .filter(|n| n.starts_with(MPRIS_PREFIX))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The player to act on now.
    pub fn choose(&mut self) -> Result<String, PlaybackError> {
        let players = self.players()?;
        if let Some(w) = &self.wanted {
            return if players.contains(w) {
                Ok(w.clone())
            } else {
                Err(PlaybackError::NoPlayer(format!(
                    "{w} is not on the session bus (players there: {players:?})"
                )))
            };
        }
        if players.is_empty() {
            return Err(PlaybackError::NoPlayer(
                "no MPRIS player on the session bus: start one, or use --mpv-socket".into(),
            ));
        }
        let conn = self.conn()?.clone();
        for p in &players {
            let status: Option<String> = Self::proxy(&conn, p, PLAYER_IFACE)?
                .get_property("PlaybackStatus")
                .ok();
            if status.as_deref() == Some("Playing") {
                self.last_active = Some(p.clone());
                return Ok(p.clone());
            }
        }
        match &self.last_active {
            Some(l) if players.contains(l) => Ok(l.clone()),
            _ => Ok(players[0].clone()),
        }
    }

    fn short(name: &str) -> &str {
        name.strip_prefix(MPRIS_PREFIX).unwrap_or(name)
    }
}

fn can(p: &Proxy<'_>, flag: &str, name: &str, action: &str) -> Result<(), PlaybackError> {
    match p.get_property::<bool>(flag) {
        Ok(true) => Ok(()),
        Ok(false) => Err(PlaybackError::Unsupported {
            player: Mpris::short(name).to_string(),
            action: action.to_string(),
            why: format!("it says {flag} is false"),
        }),
        Err(e) => Err(bus_err(e)),
    }
}

fn call(p: &Proxy<'_>, method: &str) -> Result<(), PlaybackError> {
    p.call_method(method, &()).map(|_| ()).map_err(bus_err)
}

fn set<T>(p: &Proxy<'_>, prop: &str, v: T) -> Result<(), PlaybackError>
where
    T: Into<zbus::zvariant::Value<'static>> + 'static,
{
    p.set_property(prop, v).map_err(fdo_err)
}

impl Player for Mpris {
    fn name(&self) -> String {
        match (&self.last_active, &self.wanted) {
            (_, Some(w)) => format!("mpris:{}", Self::short(w)),
            (Some(l), None) => format!("mpris:{}", Self::short(l)),
            (None, None) => "mpris".into(),
        }
    }

    fn execute(&mut self, cmd: &Command) -> Result<String, PlaybackError> {
        let name = self.choose()?;
        self.last_active = Some(name.clone());
        let conn = self.conn()?.clone();
        let p = Self::proxy(&conn, &name, PLAYER_IFACE)?;
        let volume = |p: &Proxy<'_>| -> Result<f64, PlaybackError> {
            p.get_property::<f64>("Volume").map_err(bus_err)
        };
        let set_volume = |p: &Proxy<'_>, v: f64| -> Result<String, PlaybackError> {
            can(p, "CanControl", &name, "change the volume")?;
            set(p, "Volume", v.clamp(0.0, 1.0))?;
            Ok(format!("volume {:.0}", volume(p)? * 100.0))
        };
        match cmd.action {
            Action::Play => match cmd.query.as_deref() {
                None => {
                    can(&p, "CanPlay", &name, "play")?;
                    call(&p, "Play").map(|()| "playing".into())
                }
                Some(q) => {
                    let uri = if is_uri_or_path(q) {
                        if q.contains("://") {
                            q.to_string()
                        } else {
                            format!("file://{q}")
                        }
                    } else {
                        let Some(dir) = self.music_dir.clone() else {
                            return Err(PlaybackError::Unsupported {
                                player: Self::short(&name).to_string(),
                                action: format!("play {q:?}"),
                                why: "MPRIS cannot search: give --music-dir DIR, or a URI".into(),
                            });
                        };
                        let found = search_music(&dir, q);
                        let Some(first) = found.first() else {
                            return Err(PlaybackError::NoMatch {
                                dir,
                                query: q.to_string(),
                            });
                        };
                        format!("file://{}", first.display())
                    };
                    p.call_method("OpenUri", &(uri.as_str(),))
                        .map_err(bus_err)?;
                    Ok(format!("opened {uri}"))
                }
            },
            Action::Pause => {
                can(&p, "CanPause", &name, "pause")?;
                call(&p, "Pause").map(|()| "paused".into())
            }
            Action::Resume => {
                can(&p, "CanPlay", &name, "play")?;
                call(&p, "Play").map(|()| "playing".into())
            }
            Action::Stop => {
                can(&p, "CanControl", &name, "stop")?;
                call(&p, "Stop").map(|()| "stopped".into())
            }
            Action::Next => {
                can(&p, "CanGoNext", &name, "skip")?;
                call(&p, "Next").map(|()| "next track".into())
            }
            Action::Previous => {
                can(&p, "CanGoPrevious", &name, "go back")?;
                call(&p, "Previous").map(|()| "previous track".into())
            }
            Action::VolumeUp => set_volume(&p, volume(&p)? + MPRIS_VOLUME_STEP),
            Action::VolumeDown => set_volume(&p, volume(&p)? - MPRIS_VOLUME_STEP),
            Action::VolumeSet => {
                let v = cmd
                    .value
                    .ok_or_else(|| PlaybackError::Protocol("volume_set without a value".into()))?;
                set_volume(&p, f64::from(v) / 100.0)
            }
            Action::Mute => {
                let before = volume(&p)?;
                set_volume(&p, 0.0)?;
                self.muted_from = Some(before);
                Ok("muted".into())
            }
            Action::Unmute => {
                let to = self.muted_from.take().unwrap_or(0.5);
                set_volume(&p, to).map(|v| format!("unmuted, {v}"))
            }
            Action::ShuffleOn | Action::ShuffleOff => {
                can(&p, "CanControl", &name, "shuffle")?;
                let on = cmd.action == Action::ShuffleOn;
                set(&p, "Shuffle", on)?;
                Ok(if on { "shuffled" } else { "unshuffled" }.into())
            }
            Action::RepeatOn | Action::RepeatOff => {
                can(&p, "CanControl", &name, "repeat")?;
                let on = cmd.action == Action::RepeatOn;
                set(&p, "LoopStatus", if on { "Playlist" } else { "None" })?;
                Ok(if on { "repeating" } else { "not repeating" }.into())
            }
            Action::Like => Err(PlaybackError::Unsupported {
                player: Self::short(&name).to_string(),
                action: "like a track".into(),
                why: "MPRIS has no favourites".into(),
            }),
            Action::WhatsPlaying => {
                let md: HashMap<String, OwnedValue> =
                    p.get_property("Metadata").map_err(bus_err)?;
                let title = md
                    .get("xesam:title")
                    .and_then(|v| String::try_from(v.clone()).ok());
                let artist = md
                    .get("xesam:artist")
                    .and_then(|v| Vec::<String>::try_from(v.clone()).ok())
                    .map(|a| a.join(", "))
                    .filter(|a| !a.is_empty());
                Ok(match (title, artist) {
                    (Some(t), Some(a)) => format!("{t} by {a}"),
                    (Some(t), None) => t,
                    (None, _) => "nothing is playing".into(),
                })
            }
        }
    }
}
