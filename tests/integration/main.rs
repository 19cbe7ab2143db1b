//! heyplayer's integration tests: one binary, one module per area.
//!
//! They use the real models (installed by `make models`) and real recordings
//! from Debian packages (installed by `make test`).

mod asr;
mod bad_input;
mod commands;
mod common;
mod context;
mod golden;
mod playback;
mod privacy;
mod property;
mod pulse;
mod resample;
mod threads;
mod trust;
mod vad_real;
mod viewer;
mod wake;
mod wyoming;
