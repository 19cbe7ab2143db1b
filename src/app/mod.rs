//! The subcommands' own logic, above the pipeline: `eval` ([`eval`]),
//! `transcribe` ([`transcribe`]) and `context` ([`context`]). The binary
//! (`src/bin/heyplayer/`, with [`crate::cli`]) parses arguments and prints; what it
//! prints comes from here and from the stages.

pub mod context;
pub mod eval;
pub mod transcribe;
