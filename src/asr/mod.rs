//! Speech recognition: Whisper (whisper.cpp through whisper-rs), on this machine.
//!
//! The model is loaded once into an [`AsrModel`] (an `Arc<WhisperContext>`)
//! and shared; each worker thread gets its own [`AsrWorker`], which owns a
//! `WhisperState`. Whisper only ever sees audio that passed the wake gate.
//!
//! Tuned for short commands: greedy decoding (or a small beam), no timestamps,
//! one segment, the audio context trimmed to the clip, an initial prompt with
//! the command vocabulary, and results rejected when the average token
//! log-probability is too low or the no-speech probability too high.

use std::path::Path;
use std::sync::{Arc, Once};

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::audio::SAMPLE_RATE;
use crate::config::AsrConfig;

mod guided;
pub use guided::{capitalise, Forced, Guess, MAX_OPEN_TOKENS, SEARCH_FLOOR};

/// Whisper's encoder frames per second of audio (one per 20 ms).
pub const ENCODER_FRAMES_PER_S: usize = 50;
/// Whisper's full audio context (30 s).
pub const FULL_AUDIO_CTX: usize = 1500;
/// Encoder frames added to a trimmed context beyond the clip itself.
pub const AUDIO_CTX_MARGIN: usize = 64;
/// Text tokens allowed per second of audio (people say about 3 words a second);
/// a cap stops Whisper's repetition loops.
pub const MAX_TOKENS_PER_S: usize = 8;
/// Token cap for the shortest clips.
pub const MIN_MAX_TOKENS: usize = 16;
/// Shortest clip worth transcribing, in samples (100 ms).
pub const MIN_CLIP_SAMPLES: usize = SAMPLE_RATE as usize / 10;
/// Clips shorter than this are padded with silence, in samples (1 s):
/// whisper.cpp refuses input under 1 s.
pub const PAD_TO_SAMPLES: usize = SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10;

/// Errors from the ASR stage.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// whisper.cpp refused the model file.
    #[error(
        "cannot load the Whisper model {path}: {detail}; fetch it again with: {}",
        crate::models::FETCH_COMMAND
    )]
    Load {
        /// The file.
        path: String,
        /// What whisper.cpp said.
        detail: String,
    },
    /// whisper.cpp failed while transcribing.
    #[error("Whisper failed: {0}")]
    Whisper(String),
    /// The clip is too short to hold a word.
    #[error("the audio is too short to transcribe ({ms} ms; at least 100 ms is needed)")]
    TooShort {
        /// Its length.
        ms: u64,
    },
}

/// What Whisper heard in one clip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transcript {
    /// The text, trimmed.
    pub text: String,
    /// Mean log-probability of the text tokens.
    pub avg_logprob: f32,
    /// Summed log-probability of the text tokens.
    pub logprob: f32,
    /// Whisper's no-speech probability.
    pub no_speech_prob: f32,
    /// Length of the clip, ms.
    pub audio_ms: u64,
    /// `None` if accepted; otherwise why it was rejected.
    pub rejected: Option<String>,
}

impl Transcript {
    /// Whether the result passed the confidence thresholds.
    pub fn accepted(&self) -> bool {
        self.rejected.is_none()
    }
}

/// What a command clip meant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Understood {
    /// The command, if any.
    pub command: Option<crate::intent::Command>,
    /// The guided guess, when guided decoding ran.
    pub guess: Option<Guess>,
    /// Why there is no command.
    pub reason: Option<String>,
}

impl Understood {
    /// The phrasing guided decoding chose, when the command came from it.
    pub fn guided_text(&self) -> Option<&str> {
        self.command
            .as_ref()
            .and(self.guess.as_ref())
            .map(|g| g.text.as_str())
    }
}

/// A loaded Whisper model, shared between workers.
#[derive(Clone)]
pub struct AsrModel {
    ctx: Arc<WhisperContext>,
}

static QUIET: Once = Once::new();

impl AsrModel {
    /// Loads a ggml model file (already sha256-checked by [`crate::models::locate`]).
    /// `flash_attn` is [`AsrConfig::flash_attn`]: it is fixed when the model
    /// is loaded, so every worker of the model shares it.
    pub fn load(path: &Path, flash_attn: bool) -> Result<Self, AsrError> {
        // whisper.cpp logs to stderr by default; route its logs away unless asked.
        if std::env::var_os("HEYPLAYER_WHISPER_LOG").is_none() {
            QUIET.call_once(whisper_rs::install_logging_hooks);
        }
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        params.flash_attn(flash_attn);
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| AsrError::Load {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(Self { ctx: Arc::new(ctx) })
    }

    /// A worker with its own decoder state.
    pub fn worker(&self, cfg: AsrConfig) -> Result<AsrWorker, AsrError> {
        let state = self
            .ctx
            .create_state()
            .map_err(|e| AsrError::Whisper(e.to_string()))?;
        let guide = guided::Guide::new(
            Arc::clone(&self.ctx),
            &crate::intent::guide_phrases(),
            &cfg.initial_prompt,
            &cfg.language,
            usize::from(cfg.threads),
        )?;
        Ok(AsrWorker {
            eot: self.ctx.token_eot(),
            state,
            cfg,
            padded: Vec::with_capacity(PAD_TO_SAMPLES),
            guide,
            encoded: false,
            last_max_tokens: MIN_MAX_TOKENS,
            last_audio_ms: 0,
        })
    }
}

/// One worker: owns a `WhisperState` (which keeps the shared model alive);
/// not shared between threads.
pub struct AsrWorker {
    state: whisper_rs::WhisperState,
    cfg: AsrConfig,
    eot: i32,
    padded: Vec<f32>,
    guide: guided::Guide,
    /// Whether `state` holds the encoding of the last clip transcribed.
    encoded: bool,
    /// The token cap of that clip's transcription (a retry decodes no more).
    last_max_tokens: usize,
    /// That clip's length as given, ms.
    last_audio_ms: u64,
}

/// The encoder context for a clip of `samples` samples, at least `min`
/// frames ([`AsrConfig::min_audio_ctx`]).
pub fn audio_ctx_for(samples: usize, min: usize) -> usize {
    let frames = samples.div_ceil(SAMPLE_RATE as usize / ENCODER_FRAMES_PER_S);
    (frames + AUDIO_CTX_MARGIN).clamp(min.min(FULL_AUDIO_CTX), FULL_AUDIO_CTX)
}

impl AsrWorker {
    /// The command in `rest`, the part of transcript `t` after the wake
    /// phrase (all of it when there is none), for the clip just transcribed.
    /// When `rest` has words but is not a confident command and guided
    /// decoding is on, the known phrasings are scored on the same audio after
    /// `lead` (the wake phrase as said, or "") and the best is taken if
    /// confident enough.
    pub fn understand(
        &mut self,
        t: &Transcript,
        rest: &str,
        lead: &str,
    ) -> Result<Understood, AsrError> {
        if t.accepted() {
            if let Some(command) = crate::intent::parse(rest) {
                return Ok(Understood {
                    command: Some(command),
                    guess: None,
                    reason: None,
                });
            }
        }
        let why = match &t.rejected {
            Some(why) => format!("unsure transcript: {why}"),
            None => "not a command".to_string(),
        };
        // Guided decoding explains words Whisper heard in speech; with none,
        // or in what is likely not speech (noise), every phrase would be a guess.
        let no_speech = t.no_speech_prob > self.cfg.max_no_speech_prob;
        if !self.cfg.guided || rest.trim().is_empty() || no_speech {
            return Ok(Understood {
                command: None,
                guess: None,
                reason: Some(why),
            });
        }
        let guess = self.guess(lead)?;
        let (command, reason) = match &guess {
            Some(g) if g.avg_logprob >= self.cfg.guided_min_avg_logprob => {
                match crate::intent::parse(&g.text) {
                    Some(c) => (Some(c), None),
                    None => (
                        None,
                        Some(format!("{why}; guided guess {:?} is not one", g.text)),
                    ),
                }
            }
            Some(g) => (
                None,
                Some(format!(
                    "{why}; closest command {:?} too unsure (mean log-probability {:.2} < {:.2})",
                    g.text, g.avg_logprob, self.cfg.guided_min_avg_logprob
                )),
            ),
            None => (None, Some(why)),
        };
        Ok(Understood {
            command,
            guess,
            reason,
        })
    }

    /// The clip last given to [`Self::transcribe`], decoded again with `lead`
    /// forced at its start: how likely the lead is (the wake phrase, for
    /// verification), and what Whisper writes after it.
    pub fn force(&mut self, lead: &str) -> Result<Forced, AsrError> {
        self.require_encoded("forced decoding")?;
        self.guide
            .force(&mut self.state, lead, guided::MAX_OPEN_TOKENS * 2)
    }

    /// Summed log-probability of each of `leads` at the start of the
    /// transcript of the clip last given to [`Self::transcribe`] (see
    /// `guided::Guide::lead_logprobs`).
    pub fn lead_logprobs(&mut self, leads: &[String]) -> Result<Vec<f32>, AsrError> {
        self.lead_logprobs_above(leads, f32::NEG_INFINITY)
    }

    /// [`Self::lead_logprobs`], giving up each lead as soon as its partial
    /// sum falls below `floor` (it then scores `-inf`): the leads that reach
    /// `floor` score the same, for fewer decoder steps.
    pub fn lead_logprobs_above(
        &mut self,
        leads: &[String],
        floor: f32,
    ) -> Result<Vec<f32>, AsrError> {
        self.require_encoded("scoring leads")?;
        self.guide.lead_logprobs(&mut self.state, leads, floor)
    }

    /// How many tokens `lead` is in [`Self::lead_logprobs`] (its summed
    /// score divided by this is the mean [`Self::force`] reports).
    pub fn lead_tokens(&self, lead: &str) -> Result<usize, AsrError> {
        self.guide.lead_tokens(lead)
    }

    /// Guided decoding over the command phrasings (see the `guided` module) on the
    /// clip last given to [`Self::transcribe`], reusing its encoding. `lead` is
    /// text forced before the command (the wake phrase), or empty.
    pub fn guess(&mut self, lead: &str) -> Result<Option<Guess>, AsrError> {
        self.require_encoded("guided decoding")?;
        self.guide.search(&mut self.state, lead)
    }

    /// `what` (forced, guided or lead scoring) reuses the last clip's
    /// encoding: an error before any clip was transcribed.
    fn require_encoded(&self, what: &str) -> Result<(), AsrError> {
        if self.encoded {
            Ok(())
        } else {
            Err(AsrError::Whisper(format!(
                "{what} needs a clip transcribed first"
            )))
        }
    }

    /// The next forced, guided or lead decoding on the last clip decodes the
    /// prompt itself instead of starting from what whisper.cpp's pass left
    /// in the state (a check for tests: both must give the same).
    pub fn decode_prompt_afresh(&mut self) {
        self.guide.forget();
    }

    /// Whether transcriptions are primed with an initial prompt.
    pub fn has_prompt(&self) -> bool {
        !self.cfg.initial_prompt.is_empty()
    }

    /// Transcribes 16 kHz mono samples in [-1, 1], primed with the initial
    /// prompt (the command vocabulary).
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, AsrError> {
        self.transcribe_with(samples, true, usize::from(self.cfg.min_audio_ctx))
    }

    /// Transcribes without the initial prompt; the forced and guided decoding
    /// that follow run without it too. The wake word's second stage retries
    /// with this: primed with commands, Whisper tends to write "hey player"
    /// as "Play."
    pub fn transcribe_plain(&mut self, samples: &[f32]) -> Result<Transcript, AsrError> {
        self.transcribe_with(samples, false, usize::from(self.cfg.min_audio_ctx))
    }

    /// Transcribes like [`Self::transcribe`] (with the initial prompt when
    /// `prompt`, else like [`Self::transcribe_plain`]), its trimmed audio
    /// context at least `min_ctx` encoder frames instead of
    /// `asr.min_audio_ctx`: the wake phrase's own short clip is heard with a
    /// context sized to it (issue 29). Without `asr.trim_audio_ctx` the
    /// context is whole, as for every clip.
    pub fn transcribe_ctx(
        &mut self,
        samples: &[f32],
        prompt: bool,
        min_ctx: usize,
    ) -> Result<Transcript, AsrError> {
        self.transcribe_with(samples, prompt, min_ctx)
    }

    /// The smallest trimmed audio context of a transcription (`asr.min_audio_ctx`).
    pub fn min_audio_ctx(&self) -> usize {
        usize::from(self.cfg.min_audio_ctx)
    }

    fn transcribe_with(
        &mut self,
        samples: &[f32],
        prompt: bool,
        min_ctx: usize,
    ) -> Result<Transcript, AsrError> {
        let audio_ms = samples.len() as u64 * 1000 / SAMPLE_RATE as u64;
        if samples.len() < MIN_CLIP_SAMPLES {
            return Err(AsrError::TooShort { ms: audio_ms });
        }
        let input: &[f32] = if samples.len() < PAD_TO_SAMPLES {
            self.padded.clear();
            self.padded.extend_from_slice(samples);
            self.padded.resize(PAD_TO_SAMPLES, 0.0);
            &self.padded
        } else {
            samples
        };
        let strategy = if self.cfg.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.cfg.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(i32::from(self.cfg.threads));
        p.set_language(Some(&self.cfg.language));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_no_timestamps(true);
        p.set_single_segment(true);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_temperature(0.0);
        p.set_temperature_inc(0.0);
        let max_tokens =
            (input.len() * MAX_TOKENS_PER_S / SAMPLE_RATE as usize).max(MIN_MAX_TOKENS);
        p.set_max_tokens(max_tokens as i32);
        if self.cfg.trim_audio_ctx {
            p.set_audio_ctx(audio_ctx_for(input.len(), min_ctx) as i32);
        }
        if prompt && !self.cfg.initial_prompt.is_empty() {
            p.set_initial_prompt(&self.cfg.initial_prompt);
        }
        self.guide.set_plain(!prompt);
        self.guide.forget();
        self.encoded = false;
        self.state
            .full(p, input)
            .map_err(|e| AsrError::Whisper(e.to_string()))?;
        self.encoded = true;
        self.guide.held_from_free_pass();

        let mut text = String::new();
        let mut no_speech = 0.0f32;
        let (mut lp_sum, mut lp_n) = (0.0f32, 0u32);
        for seg in self.state.as_iter() {
            text.push_str(
                &seg.to_str_lossy()
                    .map_err(|e| AsrError::Whisper(e.to_string()))?,
            );
            no_speech = no_speech.max(seg.no_speech_probability());
            for i in 0..seg.n_tokens() {
                if let Some(tok) = seg.get_token(i) {
                    let d = tok.token_data();
                    if d.id < self.eot {
                        lp_sum += d.plog;
                        lp_n += 1;
                    }
                }
            }
        }
        let no_speech = no_speech.max(self.guide.no_speech_prob(&mut self.state)?);
        (self.last_max_tokens, self.last_audio_ms) = (max_tokens, audio_ms);
        Ok(self.judge(&text, lp_sum, lp_n as usize, no_speech))
    }

    /// Transcribes the clip last given to [`Self::transcribe`] (or a
    /// variant) again without the initial prompt, like
    /// [`Self::transcribe_plain`], on the encoding already made: greedy
    /// decoding as whisper.cpp's, without encoding the clip again (issue 31:
    /// the encoder is most of a transcription's cost). The forced and guided
    /// decoding that follow run without the prompt too.
    pub fn transcribe_plain_again(&mut self) -> Result<Transcript, AsrError> {
        self.require_encoded("transcribing again")?;
        self.guide.set_plain(true);
        let g = self.guide.greedy(&mut self.state, self.last_max_tokens)?;
        let no_speech = g.no_speech.max(self.guide.no_speech_prob(&mut self.state)?);
        Ok(self.judge(&g.text, g.logprob, g.n, no_speech))
    }

    /// A transcript of the last clip from Whisper's `text`, the summed
    /// log-probability of its `n` text tokens and its no-speech probability,
    /// accepted or rejected by the configured thresholds.
    fn judge(&self, text: &str, lp_sum: f32, n: usize, no_speech: f32) -> Transcript {
        let text = clean(text);
        let audio_ms = self.last_audio_ms;
        let avg_logprob = if n > 0 {
            lp_sum / n as f32
        } else {
            f32::NEG_INFINITY
        };
        let rejected = if text.is_empty() {
            Some("no words".to_string())
        } else if no_speech > self.cfg.max_no_speech_prob {
            Some(format!(
                "no-speech probability {no_speech:.2} > {:.2}",
                self.cfg.max_no_speech_prob
            ))
        } else if avg_logprob < self.cfg.min_avg_logprob {
            Some(format!(
                "average log-probability {avg_logprob:.2} < {:.2}",
                self.cfg.min_avg_logprob
            ))
        } else {
            None
        };
        Transcript {
            text,
            avg_logprob,
            logprob: lp_sum,
            no_speech_prob: no_speech,
            audio_ms,
            rejected,
        }
    }
}

/// Trims Whisper's output, drops its non-speech markers ("\[BLANK_AUDIO\]",
/// "(music)") and collapses a sentence repeated back to back (a Whisper loop).
pub fn clean(text: &str) -> String {
    let text = strip_markers(text);
    let mut out: Vec<&str> = Vec::new();
    for sentence in text.split_inclusive(['.', '!', '?']) {
        let s = sentence.trim();
        if s.is_empty() {
            continue;
        }
        let key = |x: &str| x.trim_end_matches(['.', '!', '?', ',']).to_lowercase();
        if out.last().is_some_and(|last| key(last) == key(s)) {
            continue;
        }
        out.push(s);
    }
    // A loop cut by the token cap: "Play some jazz. Play some" -> drop the tail.
    if let [.., prev, last] = out.as_slice() {
        let tail = last.trim_end_matches(['.', '!', '?', ',']).to_lowercase();
        if !tail.is_empty() && prev.to_lowercase().starts_with(&tail) {
            out.pop();
        }
    }
    out.join(" ")
}

fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = (depth - 1).max(0),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_follows_the_clip_within_bounds() {
        assert_eq!(audio_ctx_for(16_000, 512), 512);
        assert_eq!(audio_ctx_for(96_000, 512), 512);
        // 16 s: 800 frames + margin.
        assert_eq!(audio_ctx_for(16 * 16_000, 512), 800 + AUDIO_CTX_MARGIN);
        assert_eq!(audio_ctx_for(16_000 * 60, 512), FULL_AUDIO_CTX);
        // 3 s with a small floor: the clip's own 150 frames + margin.
        assert_eq!(audio_ctx_for(3 * 16_000, 128), 150 + AUDIO_CTX_MARGIN);
        assert_eq!(audio_ctx_for(16_000, 9_999), FULL_AUDIO_CTX);
    }

    #[test]
    fn clean_drops_markers_and_spaces() {
        assert_eq!(clean(" Play some jazz. "), "Play some jazz.");
        assert_eq!(clean("[BLANK_AUDIO]"), "");
        assert_eq!(clean(" (music) Skip this."), "Skip this.");
        assert_eq!(clean("Next [inaudible] song"), "Next song");
        assert_eq!(clean(" Skip. Skip. Skip."), "Skip.");
        assert_eq!(clean("Agent. Agent"), "Agent.");
        assert_eq!(clean("Play some jazz. Play some"), "Play some jazz.");
        assert_eq!(clean("Skip. Play some jazz."), "Skip. Play some jazz.");
        assert_eq!(clean("Stop. Go. Stop."), "Stop. Go. Stop.");
    }
}
