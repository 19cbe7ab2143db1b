//! Shared neural-network pieces for the models restated in Rust: the dense
//! product ([`dense`]) and the parameters read out of ONNX files
//! ([`modelfile`]). Used by the VAD, the wake word and the context stage;
//! imports nothing of theirs.

pub mod dense;
pub mod modelfile;
