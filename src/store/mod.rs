//! The listener's side of the privacy store ([`heyplayer_privacy`]): what
//! the retention rules allow of each wake is recorded as it happens
//! ([`Keeper`]), from the events ([`log::CaptureLog`]). The only part of the
//! listener that writes to disk.

pub mod log;

use std::sync::Arc;

use heyplayer_privacy::store::{Clip, Counts, ModelInUse};
use heyplayer_privacy::{PrivacyError, Store, SystemClock};

use crate::audio::SAMPLE_RATE;
use crate::config::Config;
use crate::events::{Event, ListenState};
use crate::models::VerifiedModel;
use crate::playback::Outcome;
use log::CaptureLog;

/// What the expiry sweep deleted, as an event.
pub fn expired_event(t_ms: u64, c: Counts) -> Event {
    Event::Expired {
        t_ms,
        deleted: c.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
    }
}

/// The model files loaded, as the store records them (file, name, sha256).
pub fn models_in_use(loaded: &[VerifiedModel]) -> Vec<ModelInUse> {
    loaded
        .iter()
        .map(|m| ModelInUse {
            file: m.path.display().to_string(),
            name: m.entry.name.clone(),
            sha256: m.entry.sha256.clone(),
        })
        .collect()
}

/// The privacy store as the listener uses it, on the listening thread (the
/// pipeline runs the expiry sweeper beside it with its own connection).
pub struct Keeper {
    store: Store,
    log: CaptureLog,
}

impl Keeper {
    /// Opens the store in `config.data_dir` with the configured rules (which
    /// sweeps once) and audits the start of listening on `input` with the
    /// model files the listener loaded. Returns what the start-up sweep deleted.
    pub fn open(
        config: &Config,
        input: &str,
        loaded: &[VerifiedModel],
    ) -> Result<(Keeper, Counts), PrivacyError> {
        let clock = Arc::new(SystemClock);
        let mut store = Store::open(&config.data_dir, config.retention, clock)?;
        let swept = store.opening_sweep().clone();
        let digest = {
            use sha2::Digest;
            heyplayer_privacy::audit::hex(&sha2::Sha256::digest(format!("{config:?}").as_bytes()))
        };
        store.note_config(&digest)?;
        store.listening_started(input, models_in_use(loaded))?;
        Ok((
            Keeper {
                store,
                log: CaptureLog::new(config.wake.verify || !config.wake.uses_model()),
            },
            swept,
        ))
    }

    /// A second connection to the same store, for the pipeline's sweeper thread.
    pub fn sweeper_store(config: &Config) -> Result<Store, PrivacyError> {
        Store::open_existing(&config.data_dir, Arc::new(SystemClock))?
            .ok_or_else(|| PrivacyError::Corrupt("the store vanished after it was opened".into()))
    }

    /// Feeds an emitted event; when it closes a wake event's capture (one
    /// with no command), records it and returns the `kept` event, or a
    /// `store_error` event if the store could not write it (listening goes on
    /// either way).
    pub fn on_event(&mut self, ev: &Event) -> Option<Event> {
        let c = self.log.push(ev)?;
        Some(self.record(c, ev.t_ms()))
    }

    /// A command's events are all in: records its capture, with the audio
    /// from `clip` if the rules keep it.
    pub fn end_of_command(
        &mut self,
        t_ms: u64,
        clip: impl FnOnce() -> Option<Vec<f32>>,
    ) -> Option<Event> {
        let c = self.log.end_of_command(|| {
            clip().map(|samples| Clip {
                sample_rate: SAMPLE_RATE,
                samples,
            })
        })?;
        Some(self.record(c, t_ms))
    }

    fn record(&mut self, c: heyplayer_privacy::NewCapture, t_ms: u64) -> Event {
        match self.store.record_capture(c) {
            Ok(r) => Event::Kept {
                t_ms,
                record: r.id,
                kept: r.kinds,
            },
            Err(e) => Event::StoreError {
                t_ms,
                error: format!("cannot record this wake event: {e}"),
            },
        }
    }

    /// Adds a command's outcome to its record; a `store_error` event if that fails.
    pub fn set_outcome(&mut self, id: i64, o: &Outcome, t_ms: u64) -> Option<Event> {
        let v = serde_json::to_value(o).unwrap_or_default();
        self.store
            .set_outcome(id, v)
            .err()
            .map(|e| Event::StoreError {
                t_ms,
                error: format!("cannot record the outcome of record {id}: {e}"),
            })
    }

    /// Notes the listener's state for `heyplayer status`; a `store_error`
    /// event if that fails.
    pub fn set_state(&mut self, state: ListenState, t_ms: u64) -> Option<Event> {
        self.store
            .set_state(state.as_str())
            .err()
            .map(|e| Event::StoreError {
                t_ms,
                error: format!("cannot note the listening state: {e}"),
            })
    }

    /// Audits the end of listening (the sweeper has stopped).
    pub fn close(mut self, reason: &str) -> Result<(), PrivacyError> {
        self.store.listening_stopped(reason)
    }
}
