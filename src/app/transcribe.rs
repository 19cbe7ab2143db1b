//! `heyplayer transcribe FILE.wav`: Whisper and the intent parser on a whole
//! file, as after a wake.

use crate::asr::{AsrWorker, Transcript};
use crate::audio::read_all;
use crate::audio::wav::WavSource;
use crate::Error;

/// What `heyplayer transcribe` reports for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileTranscript {
    /// The file.
    pub file: String,
    /// Whisper's result.
    #[serde(flatten)]
    pub transcript: Transcript,
    /// The command understood, if any (from the transcript, or from guided
    /// decoding when the transcript is not one).
    pub command: Option<crate::intent::Command>,
    /// The guided guess, when guided decoding ran.
    pub guess: Option<crate::asr::Guess>,
    /// Why there is no command.
    pub reason: Option<String>,
    /// Wall-clock time of Whisper's transcription, ms (not deterministic).
    pub elapsed_ms: u64,
    /// Wall-clock time of guided decoding, ms, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guided_ms: Option<u64>,
}

/// Transcribes a WAV file with a worker of `model`.
pub fn transcribe_file(
    path: &std::path::Path,
    worker: &mut AsrWorker,
) -> Result<FileTranscript, Error> {
    let samples = read_all(WavSource::open(path, false)?)?;
    let started = std::time::Instant::now();
    let transcript = worker.transcribe(&samples)?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    let u = worker.understand(&transcript, &transcript.text, "")?;
    let guided_ms = u
        .guess
        .is_some()
        .then(|| started.elapsed().as_millis() as u64);
    Ok(FileTranscript {
        file: path.display().to_string(),
        transcript,
        command: u.command,
        guess: u.guess,
        reason: u.reason,
        elapsed_ms,
        guided_ms,
    })
}
