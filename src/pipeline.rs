//! The listening pipeline. This module alone owns threads and channels.
//!
//! Today: source → resampler → VAD → events.
//! - **mic**: cpal's audio thread runs the capture callback, which `try_send`s
//!   fixed blocks into a bounded channel created here before the stream
//!   starts; the front end (resampler + VAD) runs on the calling thread and
//!   reads from that channel.
//! - **file / stdin**: the front end reads the source directly on the calling
//!   thread (nothing can be lost: a file waits for its reader).
//! - **privacy store** (`listen` only): the listening thread writes what the
//!   retention rules allow of each wake event ([`Keeper`]); a sweeper thread,
//!   with its own connection, deletes expired data every
//!   [`SWEEP_EVERY`](heyplayer_privacy::store::SWEEP_EVERY) and reports back
//!   over a channel.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use heyplayer_privacy::store::{Clip, Counts, ModelInUse, SWEEP_EVERY};
use heyplayer_privacy::{PrivacyError, Store, SystemClock};

use crate::asr::{AsrModel, AsrWorker, CommandEnd, CommandRecorder, Transcript};
use crate::audio::mic::{CaptureQueue, HostChoice, MicSource, CAPTURE_BLOCK};
use crate::audio::stdin::RawPcmSource;
use crate::audio::wav::WavSource;
use crate::audio::{samples_to_ms, AudioSource, FrameStream, Item, Notice};
use crate::audio::{Frame, FRAME_MS, SAMPLE_RATE};
use crate::config::Config;
use crate::events::Event;
use crate::keep::CaptureLog;
use crate::models;
use crate::playback::{act, Outcome, Player};
use crate::vad::{Boundary, VoiceDetector};
use crate::wake::{match_phrase, PreRoll, WakeDetector, WakeModels};
use crate::Error;

/// Where the audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A microphone through cpal.
    Mic {
        /// cpal host.
        host: HostChoice,
        /// Device name or id; `None` for the default.
        device: Option<String>,
    },
    /// A WAV file.
    File {
        /// The file.
        path: PathBuf,
        /// Pace reading at real time.
        realtime: bool,
    },
    /// Raw s16le PCM on stdin.
    Stdin {
        /// Sample rate in Hz.
        rate: u32,
        /// Channel count.
        channels: u16,
    },
}

/// Totals of one listening run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Audio handled, ms (audio clock at the end).
    pub audio_ms: u64,
    /// Speech segments found.
    pub segments: u64,
    /// Audio dropped, ms.
    pub dropped_ms: u64,
}

/// Listens to `input` until it ends or `stop` is set, handing every event to `emit`.
///
/// With `assistant` false only the VAD runs (no wake word, no Whisper).
pub fn listen(
    input: &Input,
    config: &Config,
    assistant: bool,
    player: Option<&mut dyn Player>,
    stop: &Arc<AtomicBool>,
    emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let detector = VoiceDetector::new(&config.vad, &silero.path)?;
    let mut assistant = if assistant {
        Some(Assistant::new(config)?)
    } else {
        None
    };
    let assistant = assistant.as_mut();
    match input {
        Input::Mic { host, device } => {
            // Room for `queue_ms` of audio at up to 48 kHz before drops start.
            let blocks = (config.audio.queue_ms as usize * 48)
                .div_ceil(CAPTURE_BLOCK)
                .max(4);
            let (tx, rx) = crossbeam_channel::bounded(blocks);
            let source = MicSource::open(
                *host,
                device.as_deref(),
                CaptureQueue { tx, rx },
                Arc::clone(stop),
            )?;
            run_keeping(source, detector, assistant, player, config, stop, emit)
        }
        Input::File { path, realtime } => run_keeping(
            WavSource::open(path, *realtime)?,
            detector,
            assistant,
            player,
            config,
            stop,
            emit,
        ),
        Input::Stdin { rate, channels } => {
            let stdin = std::io::stdin().lock();
            let source = RawPcmSource::new(StdinReader(stdin), "-", *rate, *channels)?;
            run_keeping(source, detector, assistant, player, config, stop, emit)
        }
    }
}

/// [`run`] with the privacy store: opened once the input is (so a bad input
/// fails before anything is written), listening start and stop audited, every
/// wake event recorded as the retention rules allow, expired data swept.
fn run_keeping<S: AudioSource>(
    source: S,
    detector: VoiceDetector,
    assistant: Option<&mut Assistant>,
    player: Option<&mut dyn Player>,
    config: &Config,
    stop: &AtomicBool,
    mut emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let info = source.info();
    let input = format!("{} {}", info.kind, info.name);
    let with_assistant = assistant.is_some();
    let (mut keeper, swept) = Keeper::open(config, &input, with_assistant)?;
    let result = (|| {
        if !swept.is_empty() {
            emit(&expired_event(0, swept)).map_err(Error::Output)?;
        }
        run_loop(
            source,
            detector,
            assistant,
            Some(&mut keeper),
            player,
            stop,
            &mut emit,
        )
    })();
    let reason = match &result {
        Ok(_) if stop.load(Ordering::Relaxed) => "shutdown".to_string(),
        Ok(_) => "end_of_input".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let t_end = result.as_ref().map_or(0, |s| s.audio_ms);
    if let Err(e) = keeper.close(&reason) {
        emit(&Event::StoreError {
            t_ms: t_end,
            error: format!("cannot record the end of listening: {e}"),
        })
        .map_err(Error::Output)?;
    }
    result
}

fn expired_event(t_ms: u64, c: Counts) -> Event {
    Event::Expired {
        t_ms,
        deleted: c.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
    }
}

/// The privacy store as the listener uses it: the writer on the listening
/// thread, and a sweeper thread with its own connection.
pub struct Keeper {
    store: Store,
    log: CaptureLog,
    sweeps: Receiver<Result<Counts, PrivacyError>>,
    stop_sweeper: Option<Sender<()>>,
    sweeper: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Opens the store in `config.data_dir` with the configured rules (which
    /// sweeps once), audits the start of listening on `input` and starts the
    /// sweeper. Returns what the start-up sweep deleted.
    pub fn open(config: &Config, input: &str, assistant: bool) -> Result<(Keeper, Counts), Error> {
        let clock = Arc::new(SystemClock);
        let mut store = Store::open(&config.data_dir, config.retention, clock.clone())?;
        let swept = store.opening_sweep().clone();
        let digest = {
            use sha2::Digest;
            heyplayer_privacy::audit::hex(&sha2::Sha256::digest(format!("{config:?}").as_bytes()))
        };
        store.note_config(&digest)?;
        let mut names = vec!["silero-vad".to_string()];
        if assistant {
            if config.wake.phrase == crate::config::DEFAULT_WAKE_PHRASE {
                names.extend(
                    ["oww-melspectrogram", "oww-embedding", "hey-player"].map(String::from),
                );
            }
            names.push(config.asr_model.clone());
        }
        let models = names
            .iter()
            .filter_map(|n| models::entry(n).ok())
            .map(|e| ModelInUse {
                file: config.models_dir.join(&e.file).display().to_string(),
                name: e.name,
                sha256: e.sha256,
            })
            .collect();
        store.listening_started(input, models)?;
        let mut sweeper_store =
            Store::open_existing(&config.data_dir, clock)?.ok_or_else(|| {
                PrivacyError::Corrupt("the store vanished after it was opened".into())
            })?;
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let (tx, sweeps) = crossbeam_channel::bounded(16);
        let sweeper = std::thread::Builder::new()
            .name("heyplayer-sweeper".into())
            .spawn(move || loop {
                match stop_rx.recv_timeout(SWEEP_EVERY) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        let r = sweeper_store.sweep();
                        if matches!(&r, Ok(c) if c.is_empty()) {
                            continue;
                        }
                        // Reported by the listening thread; a full queue
                        // means it is not reading, and the next sweep reports.
                        let _ = tx.try_send(r);
                    }
                    _ => return,
                }
            })
            .map_err(|e| PrivacyError::Io {
                path: config.data_dir.clone(),
                source: e,
            })?;
        Ok((
            Keeper {
                store,
                log: CaptureLog::new(
                    config.wake.verify || config.wake.phrase != crate::config::DEFAULT_WAKE_PHRASE,
                ),
                sweeps,
                stop_sweeper: Some(stop_tx),
                sweeper: Some(sweeper),
            },
            swept,
        ))
    }

    /// Feeds an emitted event; when it closes a wake event's capture, records
    /// it and returns the `kept` event, or a `store_error` event if the store
    /// could not write it (listening goes on either way).
    fn on_event(&mut self, ev: &Event, clip: impl FnOnce() -> Option<Vec<f32>>) -> Option<Event> {
        let c = self.log.push(ev, || {
            clip().map(|samples| Clip {
                sample_rate: SAMPLE_RATE,
                samples,
            })
        })?;
        Some(match self.store.record_capture(c) {
            Ok(r) => Event::Kept {
                t_ms: ev.t_ms(),
                record: r.id,
                kept: r.kinds,
            },
            Err(e) => Event::StoreError {
                t_ms: ev.t_ms(),
                error: format!("cannot record this wake event: {e}"),
            },
        })
    }

    /// Adds a command's outcome to its record; a `store_error` event if that fails.
    fn set_outcome(&mut self, id: i64, o: &Outcome, t_ms: u64) -> Option<Event> {
        let v = serde_json::to_value(o).unwrap_or_default();
        self.store
            .set_outcome(id, v)
            .err()
            .map(|e| Event::StoreError {
                t_ms,
                error: format!("cannot record the outcome of record {id}: {e}"),
            })
    }

    /// What the sweeper deleted since the last call, as an event.
    fn poll(&mut self, t_ms: u64) -> Option<Event> {
        let mut all = Counts::new();
        while let Ok(r) = self.sweeps.try_recv() {
            match r {
                Ok(c) => {
                    for (k, n) in c {
                        *all.entry(k).or_default() += n;
                    }
                }
                Err(e) => {
                    return Some(Event::StoreError {
                        t_ms,
                        error: format!("the expiry sweeper failed (it retries): {e}"),
                    })
                }
            }
        }
        (!all.is_empty()).then(|| expired_event(t_ms, all))
    }

    /// Stops the sweeper and audits the end of listening.
    pub fn close(mut self, reason: &str) -> Result<(), Error> {
        drop(self.stop_sweeper.take());
        if let Some(h) = self.sweeper.take() {
            let _ = h.join();
        }
        self.store.listening_stopped(reason)?;
        Ok(())
    }
}

/// Reads stdin through its own buffer.
struct StdinReader<R>(R);

impl<R: BufRead> std::io::Read for StdinReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// What starts a command recording.
enum Trigger {
    /// Our trained detector ("hey player").
    Model(Box<WakeDetector>),
    /// Any other phrase: every speech onset, checked by Whisper.
    Onset,
}

/// Loads the "hey player" models (features and head), sha256-checked.
pub fn wake_models(config: &Config) -> Result<WakeModels, Error> {
    let mel = models::locate("oww-melspectrogram", &config.models_dir)?;
    let emb = models::locate("oww-embedding", &config.models_dir)?;
    let head = models::locate("hey-player", &config.models_dir)?;
    Ok(WakeModels::load(&mel.path, &emb.path, &head.path)?)
}

/// Everything after the VAD: the wake word, the command recording, Whisper and
/// the intent parser. Audio reaches Whisper only after the first stage fired.
pub struct Assistant {
    trigger: Trigger,
    wake_cfg: crate::wake::WakeConfig,
    /// Wall-clock time of the last Whisper run, ms (for latency figures).
    pub last_asr_ms: u64,
    phrase: String,
    verify: bool,
    verify_min_forced_logprob: f32,
    preroll: PreRoll,
    recorder: CommandRecorder,
    asr: AsrWorker,
    wake_t_ms: u64,
    wake_score: f32,
    /// Keep a copy of each command's audio for the store (raw audio opted in).
    keep_clip: bool,
    /// The last command's audio, until the store takes it.
    kept_clip: Option<Vec<f32>>,
}

impl Assistant {
    /// Loads the wake models (for "hey player") and Whisper, once.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let w = &config.wake;
        let trigger = if w.phrase == crate::config::DEFAULT_WAKE_PHRASE {
            let m = wake_models(config)?;
            Trigger::Model(Box::new(WakeDetector::new(m, w.detector)))
        } else {
            Trigger::Onset
        };
        let lead = (w.preroll_ms as usize) * SAMPLE_RATE as usize / 1000;
        Ok(Self {
            trigger,
            wake_cfg: w.detector,
            last_asr_ms: 0,
            phrase: w.phrase.clone(),
            // A custom phrase has no first-stage model: Whisper must check it.
            verify: w.verify || w.phrase != crate::config::DEFAULT_WAKE_PHRASE,
            verify_min_forced_logprob: w.verify_min_forced_logprob,
            preroll: PreRoll::new(w.preroll_ms),
            recorder: CommandRecorder::new(config.command, lead),
            asr: asr_worker(config)?,
            wake_t_ms: 0,
            wake_score: 0.0,
            keep_clip: config.retention.raw_audio.on_disk(),
            kept_clip: None,
        })
    }

    /// Forgets everything heard (buffers, recording), keeping the models.
    pub fn reset(&mut self) {
        if let Trigger::Model(d) = &mut self.trigger {
            **d = WakeDetector::new(d.models().clone(), self.wake_cfg);
        }
        self.preroll.clear();
        self.recorder.cancel();
        self.kept_clip = None;
    }

    /// Feeds the frame that starts at `t_ms`; `in_speech` and `onset` come from
    /// the VAD. Events go to `out`.
    fn push(
        &mut self,
        t_ms: u64,
        frame: &Frame,
        in_speech: bool,
        onset: bool,
        out: &mut Vec<Event>,
    ) -> Result<(), Error> {
        // The detector hears every frame, so its windows stay continuous.
        let fired = match &mut self.trigger {
            Trigger::Model(d) => d.push(frame)?.map(|det| (det.t_ms, det.score)),
            Trigger::Onset => onset.then_some((t_ms + FRAME_MS, 1.0)),
        };
        if self.recorder.active() {
            if let Some(end) = self.recorder.push(t_ms, frame, in_speech) {
                self.finish(t_ms + FRAME_MS, end, out)?;
            }
            return Ok(());
        }
        self.preroll.push(frame);
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
        }
        Ok(())
    }

    /// A recording ended at `t_ms`: transcribe, verify, parse.
    fn finish(&mut self, t_ms: u64, end: CommandEnd, out: &mut Vec<Event>) -> Result<(), Error> {
        let onset = matches!(self.trigger, Trigger::Onset);
        if onset && end == CommandEnd::Silent {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let t = self.asr.transcribe(self.recorder.clip())?;
        self.last_asr_ms = started.elapsed().as_millis() as u64;
        let matched = if onset {
            match_phrase(&t.text, &self.phrase)
        } else {
            verify_wake(
                &mut self.asr,
                &t,
                &self.phrase,
                self.verify_min_forced_logprob,
            )?
        };
        let command_text = match matched.clone() {
            Some(rest) => rest,
            None if self.verify => {
                // Onset triggers are not wakes at all unless the phrase is heard.
                if !onset {
                    out.push(Event::WakeRejected {
                        t_ms,
                        heard: t.text,
                    });
                }
                return Ok(());
            }
            None => crate::intent::normalise(&t.text),
        };
        if onset {
            out.push(Event::Wake {
                t_ms: self.wake_t_ms,
                phrase: self.phrase.clone(),
                score: self.wake_score,
            });
        }
        if self.keep_clip {
            self.kept_clip = Some(self.recorder.clip().to_vec());
        }
        if command_text.is_empty() {
            out.push(Event::NotUnderstood {
                t_ms,
                text: String::new(),
                reason: "no command after the wake word".into(),
            });
            return Ok(());
        }
        out.push(Event::Transcript {
            t_ms,
            text: command_text.clone(),
        });
        let lead = if matched.is_some() {
            wake_lead(&self.phrase)
        } else {
            String::new()
        };
        let u = self.asr.understand(&t, &command_text, &lead)?;
        self.last_asr_ms = started.elapsed().as_millis() as u64;
        let guided = u.guided_text().map(str::to_string);
        let ev = match u.command {
            Some(command) => Event::Command {
                t_ms,
                command,
                guided,
            },
            None => Event::NotUnderstood {
                t_ms,
                text: command_text,
                reason: u.reason.unwrap_or_else(|| "not a command".into()),
            },
        };
        out.push(ev);
        Ok(())
    }
}

/// The second stage, after the first fired on a clip `asr` just transcribed
/// as `t`: the phrase is verified if the transcript starts with it
/// ([`match_phrase`]), or else if the phrase forced at the start of the
/// transcript has a mean token log-probability of at least `min_forced`
/// (accents, "A player." for "hey player"). Returns the command text after
/// the phrase, or `None` when the phrase was not heard.
pub fn verify_wake(
    asr: &mut AsrWorker,
    t: &crate::asr::Transcript,
    phrase: &str,
    min_forced: f32,
) -> Result<Option<String>, Error> {
    if let Some(rest) = match_phrase(&t.text, phrase) {
        return Ok(Some(rest));
    }
    let f = asr.force(&wake_lead(phrase))?;
    Ok((f.lead_avg_logprob >= min_forced).then(|| crate::intent::normalise(&f.rest)))
}

/// The wake phrase as Whisper writes it before a command ("Hey player,"),
/// forced before the phrasings in guided decoding.
fn wake_lead(phrase: &str) -> String {
    match phrase.trim() {
        "" => String::new(),
        p => format!("{},", crate::asr::capitalise(p)),
    }
}

/// Runs the front end over any source: the same code for mic, file and stdin.
/// With an [`Assistant`], wake words and commands are handled too.
pub fn run<S: AudioSource>(
    source: S,
    detector: VoiceDetector,
    assistant: Option<&mut Assistant>,
    stop: &AtomicBool,
    mut emit: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    run_loop(source, detector, assistant, None, None, stop, &mut emit)
}

fn run_loop<S: AudioSource>(
    source: S,
    mut detector: VoiceDetector,
    mut assistant: Option<&mut Assistant>,
    mut keeper: Option<&mut Keeper>,
    mut player: Option<&mut dyn Player>,
    stop: &AtomicBool,
    emit: &mut impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Summary, Error> {
    let info = source.info().clone();
    let mut stream = FrameStream::new(source)?;
    let mut out = |ev: Event| emit(&ev).map_err(Error::Output);
    out(Event::AudioStart {
        t_ms: 0,
        source: info.kind.to_string(),
        name: info.name.clone(),
        input_rate: info.rate,
        input_channels: info.channels,
    })?;
    let mut summary = Summary::default();
    let mut pending: Vec<Event> = Vec::with_capacity(8);
    let mut failure: Option<Error> = None;
    let mut stopped_by_user = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            stopped_by_user = true;
            break;
        }
        let more = stream.pump(|item| {
            if failure.is_some() {
                return;
            }
            match item {
                Item::Frame { t_ms, frame } => {
                    let boundary = match detector.push(t_ms, frame, |_, _| {}) {
                        Ok(b) => b,
                        Err(e) => {
                            failure = Some(e.into());
                            return;
                        }
                    };
                    let onset = matches!(boundary, Some(Boundary::Started { .. }));
                    if let Some(b) = boundary {
                        pending.push(boundary_event(b));
                    }
                    if let Some(a) = assistant.as_mut() {
                        let speech = detector.in_speech();
                        if let Err(e) = a.push(t_ms, frame, speech, onset, &mut pending) {
                            failure = Some(e);
                        }
                    }
                }
                Item::Notice { t_ms, notice } => {
                    pending.push(notice_event(t_ms, notice, &info.rate, &mut summary))
                }
            }
        })?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        for ev in pending.drain(..) {
            if matches!(ev, Event::VoiceStarted { .. }) {
                summary.segments += 1;
            }
            let kept = match keeper.as_mut() {
                Some(k) => k.on_event(&ev, || assistant.as_mut().and_then(|a| a.kept_clip.take())),
                None => None,
            };
            let outcome = match (&ev, player.as_mut()) {
                (Event::Command { command, .. }, Some(p)) => Some(act(&mut **p, command)),
                _ => None,
            };
            let t_ms = ev.t_ms();
            let action = match &ev {
                Event::Command { command, .. } => Some(command.action),
                _ => None,
            };
            out(ev)?;
            if let (Some(o), Some(action)) = (outcome, action) {
                if let (
                    Some(k),
                    Some(Event::Kept {
                        record: Some(id), ..
                    }),
                ) = (keeper.as_mut(), &kept)
                {
                    if let Some(err) = k.set_outcome(*id, &o, t_ms) {
                        out(err)?;
                    }
                }
                out(Event::ActionResult {
                    t_ms,
                    action,
                    ok: o.ok,
                    player: o.player,
                    detail: o.detail,
                })?;
            }
            if let Some(kept) = kept {
                out(kept)?;
            }
        }
        if let Some(k) = keeper.as_mut() {
            if let Some(ev) = k.poll(stream.t_ms()) {
                out(ev)?;
            }
        }
        if !more {
            break;
        }
    }
    if let Some(b) = detector.finish() {
        out(boundary_event(b))?;
    }
    summary.audio_ms = stream.t_ms();
    let stopped = stopped_by_user || stop.load(Ordering::Relaxed);
    let stop_ev = Event::AudioStop {
        t_ms: summary.audio_ms,
        reason: if stopped { "shutdown" } else { "end_of_input" }.into(),
        total_dropped_ms: summary.dropped_ms,
    };
    // A wake still waiting for its command is recorded before the stop.
    if let Some(k) = keeper.as_mut() {
        if let Some(kept) = k.on_event(&stop_ev, || None) {
            out(kept)?;
        }
    }
    out(stop_ev)?;
    Ok(summary)
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

/// Reads a whole source as 16 kHz mono samples (for `transcribe`, eval and tests).
pub fn read_all<S: AudioSource>(source: S) -> Result<Vec<f32>, Error> {
    let mut stream = FrameStream::new(source)?;
    let mut samples = Vec::new();
    while stream.pump(|item| {
        if let Item::Frame { frame, .. } = item {
            samples.extend_from_slice(&frame[..]);
        }
    })? {}
    Ok(samples)
}

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

/// Loads the configured Whisper model (sha256-checked) and makes one worker.
pub fn asr_worker(config: &Config) -> Result<AsrWorker, Error> {
    let file = models::locate(&config.asr_model, &config.models_dir)?;
    let model = AsrModel::load(&file.path)?;
    Ok(model.worker(config.asr.clone())?)
}

/// Runs a source to the end through the VAD only and collects its events.
pub fn collect_events<S: AudioSource>(source: S, config: &Config) -> Result<Vec<Event>, Error> {
    collect(source, config, None)
}

/// Runs a source to the end through everything (wake word, Whisper, intents)
/// and collects its events. `assistant` is reset first, so one can serve many files.
pub fn collect_all_events<S: AudioSource>(
    source: S,
    config: &Config,
    mut assistant: Assistant,
) -> Result<Vec<Event>, Error> {
    collect_all_events_with(source, config, &mut assistant)
}

/// [`collect_all_events`] with a borrowed assistant (reset first).
pub fn collect_all_events_with<S: AudioSource>(
    source: S,
    config: &Config,
    assistant: &mut Assistant,
) -> Result<Vec<Event>, Error> {
    assistant.reset();
    collect(source, config, Some(assistant))
}

fn collect<S: AudioSource>(
    source: S,
    config: &Config,
    assistant: Option<&mut Assistant>,
) -> Result<Vec<Event>, Error> {
    let silero = models::locate("silero-vad", &config.models_dir)?;
    let detector = VoiceDetector::new(&config.vad, &silero.path)?;
    let mut events = Vec::new();
    run(source, detector, assistant, &AtomicBool::new(false), |e| {
        events.push(e.clone());
        Ok(())
    })?;
    Ok(events)
}
