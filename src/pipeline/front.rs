//! The front end: frames from the source through the VAD and, with a
//! [`WakeFront`], the wake word; what it finds becomes `ToWorker` messages.
//! Runs on the front-end thread ([`super::run_threaded`]) or the calling
//! thread ([`super::run`]).

use crate::audio::{samples_to_ms, AudioSource, FrameStream, Item, Notice, FRAME_MS};
use crate::command::front::WakeFront;
use crate::command::recorder::CommandEnd;
use crate::command::{Job, Speculate};
use crate::events::{Event, ListenState};
use crate::vad::{Boundary, VoiceDetector};
use crate::Error;

use super::Summary;

/// From the front end to the command worker, in audio order.
#[derive(Debug)]
pub(crate) enum ToWorker {
    /// An event to pass on.
    Event(Event),
    /// The front end's state changed (`idle`, `listening` or `awake`).
    State(u64, ListenState),
    /// A command recording.
    Job(Job),
    /// A command recording up to a pause, to hear ahead, and its number
    /// ([`Speculate`]; sent straight from the front end, not in audio order).
    Ahead(u64, Job),
}

/// The front end: frames from the source through the VAD and, with a
/// [`WakeFront`], the wake word; what it finds becomes [`ToWorker`] messages.
pub(crate) struct FrontEnd<S: AudioSource> {
    stream: FrameStream<S>,
    detector: VoiceDetector,
    summary: Summary,
    state: ListenState,
    failure: Option<Error>,
    rate: u32,
    /// `audio_start`, until the first pump sends it.
    start: Option<Event>,
    /// The wake stage's events of one frame.
    evs: Vec<Event>,
}

impl<S: AudioSource> FrontEnd<S> {
    /// Starts the stream; the first message is `audio_start`.
    pub(crate) fn new(source: S, detector: VoiceDetector) -> Result<Self, Error> {
        let info = source.info().clone();
        let stream = FrameStream::new(source)?;
        Ok(Self {
            stream,
            detector,
            summary: Summary::default(),
            state: ListenState::Idle,
            failure: None,
            rate: info.rate,
            start: Some(Event::AudioStart {
                t_ms: 0,
                source: info.kind.to_string(),
                name: info.name.clone(),
                input_rate: info.rate,
                input_channels: info.channels,
            }),
            evs: Vec::with_capacity(4),
        })
    }

    /// Reads what the source has; returns false at its end. With `ahead`,
    /// commands are heard ahead of their end ([`Speculate`]).
    pub(crate) fn pump(
        &mut self,
        mut front: Option<&mut WakeFront>,
        mut ahead: Option<&mut dyn Speculate>,
        out: &mut Vec<ToWorker>,
    ) -> Result<bool, Error> {
        if let Some(ev) = self.start.take() {
            out.push(ToWorker::Event(ev));
        }
        let Self {
            stream,
            detector,
            summary,
            state,
            failure,
            rate,
            evs,
            ..
        } = self;
        let more = stream.pump(|item| {
            if failure.is_some() {
                return;
            }
            match item {
                Item::Frame { t_ms, frame } => {
                    let boundary = match detector.push(t_ms, frame, |_, _| {}) {
                        Ok(b) => b,
                        Err(e) => {
                            *failure = Some(e.into());
                            return;
                        }
                    };
                    let onset = matches!(boundary, Some(Boundary::Started { .. }));
                    if onset {
                        summary.segments += 1;
                    }
                    if let Some(b) = boundary {
                        out.push(ToWorker::Event(boundary_event(b)));
                    }
                    let mut speech = detector.in_speech();
                    let mut awake = false;
                    let mut job = None;
                    if let Some(f) = front.as_mut() {
                        let frame_speech = detector.frame_speech();
                        let a = ahead.as_mut().map(|a| &mut **a as &mut dyn Speculate);
                        match f.push(t_ms, frame, (speech, frame_speech), onset, a, evs) {
                            Ok(j) => {
                                out.extend(evs.drain(..).map(ToWorker::Event));
                                job = j;
                            }
                            Err(e) => *failure = Some(e),
                        }
                        awake = f.awake();
                    }
                    // A command that ended before the VAD's hang-over (heard
                    // as complete): its speech has ended, and says so first.
                    if let Some(Job {
                        end: CommandEnd::Spoken { cut: false, .. },
                        ..
                    }) = &job
                    {
                        if let Some(b) = detector.end_segment() {
                            out.push(ToWorker::Event(boundary_event(b)));
                            speech = false;
                        }
                    }
                    let now = if awake {
                        ListenState::Awake
                    } else if speech {
                        ListenState::Listening
                    } else {
                        ListenState::Idle
                    };
                    if let Some(mut job) = job {
                        // Whisper's turn: `processing`, then this state.
                        *state = now;
                        job.after = now;
                        out.push(ToWorker::Job(job));
                    } else if now != *state {
                        *state = now;
                        out.push(ToWorker::State(t_ms + FRAME_MS, now));
                    }
                }
                Item::Notice { t_ms, notice } => {
                    out.push(ToWorker::Event(notice_event(t_ms, notice, &*rate, summary)))
                }
            }
        })?;
        match failure.take() {
            Some(e) => Err(e),
            None => Ok(more),
        }
    }

    /// The end of the stream: the last boundary, a command still being
    /// recorded, and `audio_stop`.
    pub(crate) fn finish(
        &mut self,
        front: Option<&mut WakeFront>,
        stopped: bool,
        out: &mut Vec<ToWorker>,
    ) {
        if let Some(ev) = self.start.take() {
            out.push(ToWorker::Event(ev));
        }
        if let Some(b) = self.detector.finish() {
            out.push(ToWorker::Event(boundary_event(b)));
        }
        self.summary.audio_ms = self.stream.t_ms();
        if let Some(job) = front.and_then(|f| f.flush(self.summary.audio_ms)) {
            self.state = job.after;
            out.push(ToWorker::Job(job));
        }
        if self.state != ListenState::Idle {
            self.state = ListenState::Idle;
            out.push(ToWorker::State(self.summary.audio_ms, ListenState::Idle));
        }
        out.push(ToWorker::Event(Event::AudioStop {
            t_ms: self.summary.audio_ms,
            reason: if stopped { "shutdown" } else { "end_of_input" }.into(),
            total_dropped_ms: self.summary.dropped_ms,
        }));
    }

    pub(crate) fn summary(&self) -> Summary {
        self.summary.clone()
    }
}

fn boundary_event(b: Boundary) -> Event {
    match b {
        Boundary::Started { t_ms } => Event::VoiceStarted { t_ms },
        Boundary::Stopped { t_ms, duration_ms } => Event::VoiceStopped { t_ms, duration_ms },
    }
}

fn notice_event(t_ms: u64, notice: Notice, rate: &u32, summary: &mut Summary) -> Event {
    match notice {
        Notice::Dropped { samples } => {
            let dropped_ms = samples_to_ms(samples * 16_000 / (*rate).max(1) as u64);
            summary.dropped_ms += dropped_ms;
            Event::FramesDropped {
                t_ms,
                dropped_ms,
                total_dropped_ms: summary.dropped_ms,
            }
        }
        Notice::DeviceLost { device, reason } => Event::DeviceLost {
            t_ms,
            device,
            reason,
        },
        Notice::DeviceReopened { device, attempts } => Event::DeviceReopened {
            t_ms,
            device,
            attempts,
        },
    }
}
