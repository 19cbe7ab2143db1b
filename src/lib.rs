//! heyplayer: an on-device, privacy-first voice and context front end for music players.
//!
//! Audio comes from a [`audio::AudioSource`] (microphone, WAV file or stdin),
//! is resampled to 16 kHz [`audio::Frame`]s, and goes through voice activity
//! detection ([`vad`]). The [`pipeline`] owns every thread and channel and
//! turns what it hears into [`events::Event`]s.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asr;
pub mod audio;
pub mod cli;
pub mod config;
pub mod context;
pub mod dense;
pub mod error;
pub mod eval;
pub mod events;
pub mod intent;
pub mod keep;
pub mod modelfile;
pub mod models;
pub mod pipeline;
pub mod playback;
pub mod vad;
pub mod viewer;
pub mod wake;

pub use error::Error;
