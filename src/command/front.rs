//! The front end's half of the assistant: the first-stage wake detector
//! (or, for another phrase, every speech onset), the in-memory pre-roll and
//! the command recorder. Cheap enough to keep up with capture; hands each
//! recording on as a [`Job`].

use std::collections::VecDeque;

use super::recorder::{CommandEnd, CommandRecorder, Step};
use super::{Job, Speculate};
use crate::audio::{Frame, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};
use crate::config::Config;
use crate::events::{Event, ListenState};
use crate::wake::{PreRoll, WakeDetector, WakeModels};
use crate::Error;

/// What starts a command recording.
enum Trigger {
    /// Our trained detector ("hey player").
    Model(Box<WakeDetector>),
    /// Any other phrase: every speech onset, checked by Whisper.
    Onset,
}

/// The front end's half of the assistant: the first-stage wake detector, the
/// in-memory pre-roll and the command recorder. Cheap enough to keep up with
/// capture; hands each recording on as a [`Job`].
pub struct WakeFront {
    trigger: Trigger,
    wake_cfg: crate::config::WakeConfig,
    phrase: String,
    preroll: PreRoll,
    /// The VAD's own decision for each frame in `preroll`, oldest first.
    preroll_speech: VecDeque<bool>,
    recorder: CommandRecorder,
    /// The decision for each frame of the recording (pre-roll first).
    speech: Vec<bool>,
    /// Pre-roll frames at the start of the recording.
    lead_frames: usize,
    wake_t_ms: u64,
    wake_score: f32,
    /// The number of the last hearing ahead started.
    last_ahead: u64,
    /// The hearing ahead of the pause under way, if one was started.
    ahead: Option<u64>,
    /// The last hearing ahead started whose reading has not come back (it
    /// is still wanted after speech resumes: a rejection ends hearing ahead).
    asked: Option<u64>,
}

impl WakeFront {
    /// With the "hey player" models (loaded once by the pipeline's loader
    /// when [`crate::config::WakeSettings::uses_model`]), else every speech
    /// onset is a candidate.
    pub fn new(config: &Config, models: Option<WakeModels>) -> Self {
        let w = &config.wake;
        let trigger = match models {
            Some(m) => Trigger::Model(Box::new(WakeDetector::new(m, w.detector))),
            None => Trigger::Onset,
        };
        let lead = (w.preroll_ms as usize) * SAMPLE_RATE as usize / 1000;
        let preroll = PreRoll::new(w.preroll_ms);
        let frames = preroll.capacity_frames() + (config.command.max_ms / FRAME_MS) as usize;
        Self {
            trigger,
            wake_cfg: w.detector,
            phrase: w.phrase.clone(),
            preroll_speech: VecDeque::with_capacity(preroll.capacity_frames()),
            preroll,
            recorder: CommandRecorder::new(config.command, lead),
            speech: Vec::with_capacity(frames + 1),
            lead_frames: 0,
            wake_t_ms: 0,
            wake_score: 0.0,
            last_ahead: 0,
            ahead: None,
            asked: None,
        }
    }

    /// Forgets everything heard, keeping the models.
    pub fn reset(&mut self) {
        if let Trigger::Model(d) = &mut self.trigger {
            **d = WakeDetector::new(d.models().clone(), self.wake_cfg);
        }
        self.preroll.clear();
        self.preroll_speech.clear();
        self.recorder.cancel();
        self.ahead = None;
        self.asked = None;
    }

    /// The finished recording as a job.
    fn job(&self, t_ms: u64, end: CommandEnd) -> Job {
        let clip = self.recorder.clip().to_vec();
        let mut speech = self.speech.clone();
        speech.resize(clip.len() / FRAME_SAMPLES, false);
        Job {
            t_ms,
            end,
            clip,
            speech,
            preroll_ms: self.lead_frames as u64 * FRAME_MS,
            wake_t_ms: self.wake_t_ms,
            wake_score: self.wake_score,
            after: ListenState::Idle,
            ahead: None,
        }
    }

    /// The input ended at `t_ms`: a command being recorded is handed on as
    /// it is, not lost.
    pub fn flush(&mut self, t_ms: u64) -> Option<Job> {
        let end = self.recorder.end_now(t_ms)?;
        let mut job = self.job(t_ms, end);
        job.ahead = self.ahead.take();
        self.asked = None;
        Some(job)
    }

    /// Whether a command is being recorded (the listener is awake).
    pub fn awake(&self) -> bool {
        self.recorder.active()
    }

    /// Feeds the frame that starts at `t_ms`; `in_speech` (the segmenter's,
    /// with hang-over), `frame_speech` (this frame's own decision) and
    /// `onset` come from the VAD. A `wake` event goes to `out`; a finished
    /// recording is returned. With `ahead`, a pause in the command hands the
    /// recording so far on to be heard ahead ([`Speculate`]).
    pub fn push(
        &mut self,
        t_ms: u64,
        frame: &Frame,
        (in_speech, frame_speech): (bool, bool),
        onset: bool,
        mut ahead: Option<&mut dyn Speculate>,
        out: &mut Vec<Event>,
    ) -> Result<Option<Job>, Error> {
        // The detector hears every frame; its models run only around speech
        // (it replays what it skipped when speech starts).
        let fired = match &mut self.trigger {
            Trigger::Model(d) => d
                .push_gated(frame, in_speech || frame_speech)?
                .map(|det| (det.t_ms, det.score)),
            Trigger::Onset => onset.then_some((t_ms + FRAME_MS, 1.0)),
        };
        if self.recorder.active() {
            if self.speech.len() < self.speech.capacity() {
                self.speech.push(frame_speech);
            }
            if let (Some(id), Some(a)) = (self.asked, ahead.as_mut()) {
                if let Some(r) = a.reading(id, self.recorder.needs_reading()) {
                    self.asked = None;
                    self.recorder.set_reading(r);
                }
            }
            match self.recorder.push(t_ms, frame, in_speech, frame_speech) {
                Some(Step::Pause) => {
                    if let Some(a) = ahead {
                        self.last_ahead += 1;
                        self.ahead = Some(self.last_ahead);
                        self.asked = self.ahead;
                        let mut job = self.job(
                            t_ms + FRAME_MS,
                            CommandEnd::Spoken {
                                speech_end_ms: t_ms + FRAME_MS,
                                cut: false,
                            },
                        );
                        job.after = ListenState::Awake;
                        a.start(self.last_ahead, job);
                    }
                }
                Some(Step::Resume) => {
                    if let (Some(id), Some(a)) = (self.ahead.take(), ahead) {
                        a.void(id);
                    }
                }
                Some(Step::End(end)) => {
                    // No second wake from the phrase and command just recorded
                    // (still in the detector's windows): issue 29.
                    if let Trigger::Model(d) = &mut self.trigger {
                        d.forget();
                    }
                    let mut job = self.job(t_ms + FRAME_MS, end);
                    job.ahead = self.ahead.take();
                    self.asked = None;
                    return Ok(Some(job));
                }
                None => {}
            }
            return Ok(None);
        }
        self.preroll.push(frame);
        if self.preroll_speech.len() == self.preroll.capacity_frames() {
            self.preroll_speech.pop_front();
        }
        self.preroll_speech.push_back(frame_speech);
        if let Some((t, score)) = fired {
            self.wake_t_ms = t;
            self.wake_score = score;
            if matches!(self.trigger, Trigger::Model(_)) {
                out.push(Event::Wake {
                    t_ms: t,
                    phrase: self.phrase.clone(),
                    score,
                });
            }
            let pre = &mut self.preroll;
            self.recorder.start(|clip| pre.drain_into(clip));
            self.speech.clear();
            self.lead_frames = self.preroll_speech.len();
            self.speech.extend(self.preroll_speech.drain(..));
        }
        Ok(None)
    }
}
