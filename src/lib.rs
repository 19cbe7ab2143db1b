//! heyplayer: an on-device, privacy-first voice and context front end for music players.
//!
//! The crate's modules in pipeline order; each imports only modules above
//! it in this list (`PYTHONPATH=tools python3 -m heyplayer_tools.import_graph`
//! checks it):
//! - [`text`], [`nn`], [`models`]: edit distance; the shared kernels and the
//!   ONNX reader of the models restated in Rust; the model manifest,
//!   locating and sha256-checking model files, fetching them.
//! - [`audio`]: sources (microphone, WAV, stdin) → 16 kHz mono 10 ms frames.
//! - [`intent`]: transcript → [`intent::Command`], and the phrasings Whisper is guided with.
//! - [`config`]: every stage's settings types and defaults; TOML → [`config::Config`].
//! - The stages, each a synchronous state machine with its own error type,
//!   no threads and no events: [`vad`], [`wake`] (the first wake stage),
//!   [`asr`] (Whisper), [`context`], [`playback`]; then [`error`], the crate
//!   error made of theirs.
//! - [`events`]: what the listener reports, and how it is printed.
//! - [`command`]: after a wake: the recorder, the whole second wake stage
//!   ([`command::verify`]) and hear → understand.
//! - [`store`]: the listener's side of the privacy crate.
//! - [`pipeline`]: the listener's threads and channels; loads every model once.
//! - [`wyoming`]: the Wyoming protocol server (Home Assistant): many
//!   clients, each its own session over the shared models; its own runtime
//!   and threads.
//! - [`app`], [`viewer`], [`cli`]: the subcommands' logic, the log viewer
//!   and the command line.
//!
//! Files over 800 lines, each one cohesive piece: `context/net.rs` (YAMNet
//! restated layer by layer) and `intent.rs` (the command grammar).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The layers, in order: each module imports only modules declared before
// it (tools/heyplayer_tools/import_graph.py reads this order).
pub mod text;

pub mod nn;

pub mod models;

pub mod audio;

pub mod intent;

pub mod config;

// The stages.
pub mod vad;

pub mod wake;

pub mod asr;

pub mod context;

pub mod playback;

pub mod error;

pub mod events;

// After a wake, the store, and the threads.
pub mod command;

pub mod store;

pub mod pipeline;

// The Wyoming server: above the pipeline, its own threads and runtime.
pub mod wyoming;

// Above the pipeline.
pub mod app;

pub mod viewer;

pub mod cli;

pub use error::Error;
