//! `heyplayer wyoming`: a Wyoming protocol server (Home Assistant's Assist
//! and any `wyoming` client) offering heyplayer's wake word, speech-to-text
//! and intent recognition over TCP or a Unix socket.
//!
//! Layering: this module sits above [`crate::pipeline`] (it loads the models
//! the way the listener does, and runs [`crate::command`]'s front end and
//! sequence), and is the only other place with threads and an async
//! runtime, because it serves many clients at once:
//! - **[`protocol`]**: the framing (capped lengths, nothing allocated before
//!   a length is checked).
//! - **[`session`]**: one client's synchronous state machine (events in,
//!   replies out); its memory is bounded (one 30 s transcribe buffer, the
//!   wake recorder's, one chunk).
//! - **[`server`]**: a one-thread tokio runtime does all socket I/O; each
//!   client's session runs on a blocking thread of its own, fed through a
//!   bounded channel (a client that sends faster than it is heard is slowed
//!   by TCP, never buffered without end); Whisper runs only there, on one of
//!   the shared pool's workers (`--asr-workers`, 1 by default on 2 cores),
//!   never on the reactor thread.

pub mod protocol;
pub mod server;
pub mod session;

pub use server::{serve, Bind, Options};
