//! The context signal's outlet: a Unix socket (mode 0600, this user only)
//! that any number of local subscribers read as JSON Lines, and optionally a
//! file or FIFO each line is appended to. Labels only: the caller hands over
//! lines it built from context labels, never audio, transcripts or identity.
//!
//! Nothing here blocks the listener: new subscribers are accepted when a line
//! is published, and a subscriber that does not keep up (its socket buffer is
//! full) or has gone is dropped and counted. A FIFO nobody reads is skipped.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::PrivacyError;

/// Linux `O_NONBLOCK`: a FIFO with no reader fails at once instead of hanging.
const O_NONBLOCK: i32 = 0o4000;
/// Linux `ENXIO`: what opening a FIFO with no reader that way fails with.
const ENXIO: i32 = 6;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivacyError + '_ {
    move |source| PrivacyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What one [`Outlet::publish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Subscribers that got the line.
    pub delivered: usize,
    /// Subscribers dropped now (gone, or not keeping up).
    pub dropped: usize,
}

/// A socket for subscribers and an optional file or FIFO.
#[derive(Debug)]
pub struct Outlet {
    socket: Option<(UnixListener, PathBuf)>,
    subscribers: Vec<UnixStream>,
    file: Option<(PathBuf, Option<File>)>,
}

impl Outlet {
    /// Binds the socket at `socket` (mode 0600) and/or opens `file` for
    /// appending (created 0600 if missing; a FIFO is reopened when a reader
    /// appears). A stale socket left by a crash is replaced; any other file
    /// at `socket` is refused.
    pub fn open(socket: Option<&Path>, file: Option<&Path>) -> Result<Self, PrivacyError> {
        let socket = match socket {
            Some(p) => Some((bind(p)?, p.to_path_buf())),
            None => None,
        };
        let file = match file {
            Some(p) => {
                let is_fifo = std::fs::metadata(p).is_ok_and(|m| m.file_type().is_fifo());
                let f = open_append(p);
                match f {
                    Ok(f) => Some((p.to_path_buf(), Some(f))),
                    // No reader on the FIFO yet: opened when one comes.
                    Err(e) if is_fifo && e.raw_os_error() == Some(ENXIO) => {
                        Some((p.to_path_buf(), None))
                    }
                    Err(e) => return Err(io(p)(e)),
                }
            }
            None => None,
        };
        Ok(Self {
            socket,
            subscribers: Vec::new(),
            file,
        })
    }

    /// The socket's path, if any.
    pub fn socket_path(&self) -> Option<&Path> {
        self.socket.as_ref().map(|(_, p)| p.as_path())
    }

    /// Subscribers connected (as of the last publish or [`Outlet::accept`]).
    pub fn subscribers(&self) -> usize {
        self.subscribers.len()
    }

    /// Takes in the subscribers waiting to connect.
    pub fn accept(&mut self) {
        let Some((listener, _)) = &self.socket else {
            return;
        };
        while let Ok((s, _)) = listener.accept() {
            if s.set_nonblocking(true).is_ok() {
                let _ = s.shutdown(std::net::Shutdown::Read);
                self.subscribers.push(s);
            }
        }
    }

    /// Sends one line (a newline is added) to every subscriber and to the
    /// file. A write error on the file is returned; subscribers never fail it.
    pub fn publish(&mut self, line: &str) -> Result<Published, PrivacyError> {
        self.accept();
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let before = self.subscribers.len();
        // A partial write would garble the stream: such a subscriber is dropped.
        self.subscribers
            .retain_mut(|s| matches!(s.write(&buf), Ok(n) if n == buf.len()));
        let delivered = self.subscribers.len();
        if let Some((path, f)) = &mut self.file {
            if f.is_none() {
                *f = open_append(path).ok();
            }
            if let Some(file) = f {
                match file.write_all(&buf) {
                    Ok(()) => {}
                    // The FIFO's reader went away: reopened when one comes back.
                    Err(e)
                        if e.kind() == ErrorKind::BrokenPipe
                            || e.kind() == ErrorKind::WouldBlock =>
                    {
                        *f = None
                    }
                    Err(e) => return Err(io(path)(e)),
                }
            }
        }
        Ok(Published {
            delivered,
            dropped: before - delivered,
        })
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

/// Binds a socket only this user can connect to: bound under a temporary
/// name, made 0600, then renamed into place, so it is never reachable with
/// looser rights.
fn bind(path: &Path) -> Result<UnixListener, PrivacyError> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            return Err(PrivacyError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    ErrorKind::AlreadyExists,
                    "exists and is not a socket; choose another --context-socket",
                ),
            });
        }
        if UnixStream::connect(path).is_ok() {
            return Err(PrivacyError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    ErrorKind::AddrInUse,
                    "another heyplayer is publishing here; stop it or choose another --context-socket",
                ),
            });
        }
        // Left by a listener that was killed.
        std::fs::remove_file(path).map_err(io(path))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(io(path))?;
    let ready = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| listener.set_nonblocking(true));
    if let Err(e) = ready {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn every_subscriber_gets_every_line_and_the_socket_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("context.sock");
        let mut out = Outlet::open(Some(&sock), None).unwrap();
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let a = UnixStream::connect(&sock).unwrap();
        let b = UnixStream::connect(&sock).unwrap();
        let p = out.publish(r#"{"schema":1}"#).unwrap();
        assert_eq!(
            p,
            Published {
                delivered: 2,
                dropped: 0
            }
        );
        drop(b);
        let p = out.publish(r#"{"schema":1,"n":2}"#).unwrap();
        // The closed subscriber may take one more write to notice.
        let p2 = out.publish(r#"{"schema":1,"n":3}"#).unwrap();
        assert_eq!(p.dropped + p2.dropped, 1, "{p:?} {p2:?}");
        let mut lines = BufReader::new(a).lines();
        assert_eq!(lines.next().unwrap().unwrap(), r#"{"schema":1}"#);
        assert_eq!(lines.next().unwrap().unwrap(), r#"{"schema":1,"n":2}"#);
        drop(out);
        assert!(!sock.exists(), "the socket is removed at the end");
    }

    #[test]
    fn a_stuck_subscriber_is_dropped_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("c.sock");
        let mut out = Outlet::open(Some(&sock), None).unwrap();
        let _never_reads = UnixStream::connect(&sock).unwrap();
        let line = "x".repeat(4096);
        let mut dropped = 0;
        for _ in 0..10_000 {
            dropped += out.publish(&line).unwrap().dropped;
            if dropped > 0 {
                break;
            }
        }
        assert_eq!(dropped, 1);
        assert_eq!(out.subscribers(), 0);
    }

    #[test]
    fn a_regular_file_at_the_socket_path_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "mine").unwrap();
        let e = Outlet::open(Some(&p), None).unwrap_err().to_string();
        assert!(e.contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "mine");
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("c.sock");
        drop(UnixListener::bind(&sock).unwrap());
        let first = Outlet::open(Some(&sock), None).unwrap();
        let e = Outlet::open(Some(&sock), None).unwrap_err().to_string();
        assert!(e.contains("another heyplayer"), "{e}");
        drop(first);
    }

    #[test]
    fn lines_are_appended_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("context.jsonl");
        std::fs::write(&f, "old\n").unwrap();
        let mut out = Outlet::open(None, Some(&f)).unwrap();
        out.publish("a").unwrap();
        out.publish("b").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "old\na\nb\n");
    }
}
