//! The output end, on the calling thread: the privacy store, the player and
//! the context outlet, for the events in order; and the expiry sweeper
//! thread beside the store.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use heyplayer_privacy::store::{Counts, SWEEP_EVERY};
use heyplayer_privacy::{PrivacyError, Store};

use super::worker::ToSink;
use crate::events::Event;
use crate::playback::{act, Player};
use crate::store::{expired_event, Keeper};
use crate::Error;

/// The output end: the privacy store, the player and the context outlet,
/// for the events in order.
pub(crate) struct Sink<'a> {
    pub keeper: Option<Keeper>,
    pub player: Option<&'a mut dyn Player>,
    pub outlet: Option<heyplayer_privacy::outlet::Outlet>,
    /// What the sweeper thread deleted, or why it failed.
    pub sweeps: Receiver<Result<Counts, PrivacyError>>,
    /// The audio of the command being delivered (raw audio opted in).
    pub clip: Option<Vec<f32>>,
    /// A command to act on once all its events are out, with its time.
    pub act: Option<(u64, crate::intent::Command)>,
    /// Audio clock of the latest event.
    pub t_ms: u64,
}

impl<'a> Sink<'a> {
    pub(crate) fn take(
        &mut self,
        m: ToSink,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        match m {
            ToSink::Event(ev) => self.deliver(ev, out),
            ToSink::Clip(c) => {
                self.clip = Some(c);
                Ok(())
            }
            ToSink::JobDone => self.job_done(out),
        }
    }

    /// Records, shows, publishes and (for a command) schedules one event.
    fn deliver(
        &mut self,
        ev: Event,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.t_ms = self.t_ms.max(ev.t_ms());
        let kept = self.keeper.as_mut().and_then(|k| k.on_event(&ev));
        let store_error = match (&ev, self.keeper.as_mut()) {
            (Event::State { state, t_ms }, Some(k)) => k.set_state(*state, *t_ms),
            _ => None,
        };
        if let (Event::Command { t_ms, command, .. }, Some(_)) = (&ev, &self.player) {
            self.act = Some((*t_ms, command.clone()));
        }
        let published = match (&ev, self.outlet.as_mut()) {
            (Event::Context { t_ms, labels }, Some(o)) => {
                let line = serde_json::json!({"schema": CONTEXT_SCHEMA, "type": "context", "t_ms": t_ms, "context": labels});
                o.publish(&line.to_string())
                    .err()
                    .map(|e| Event::StoreError {
                        t_ms: *t_ms,
                        error: format!("cannot publish the context: {e}"),
                    })
            }
            _ => None,
        };
        // A wake still waiting for its command is recorded before the stop.
        let stop = matches!(ev, Event::AudioStop { .. });
        if !stop {
            out(&ev).map_err(Error::Output)?;
        }
        for e in [kept, store_error, published].into_iter().flatten() {
            out(&e).map_err(Error::Output)?;
        }
        if stop {
            out(&ev).map_err(Error::Output)?;
        }
        Ok(())
    }

    /// All the events of a command are out: act on it, record the capture
    /// with its outcome, and show both.
    fn job_done(
        &mut self,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let clip = &mut self.clip;
        let kept = self
            .keeper
            .as_mut()
            .and_then(|k| k.end_of_command(self.t_ms, || clip.take()));
        self.clip = None;
        if let (Some((t_ms, command)), Some(p)) = (self.act.take(), self.player.as_mut()) {
            let o = act(&mut **p, &command);
            if let (
                Some(k),
                Some(Event::Kept {
                    record: Some(id), ..
                }),
            ) = (self.keeper.as_mut(), &kept)
            {
                if let Some(err) = k.set_outcome(*id, &o, t_ms) {
                    out(&err).map_err(Error::Output)?;
                }
            }
            out(&Event::ActionResult {
                t_ms,
                action: command.action,
                ok: o.ok,
                player: o.player,
                detail: o.detail,
            })
            .map_err(Error::Output)?;
        }
        if let Some(kept) = kept {
            out(&kept).map_err(Error::Output)?;
        }
        Ok(())
    }

    /// Shows what the sweeper deleted since the last look.
    pub(crate) fn poll(
        &mut self,
        out: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        if let Some(o) = self.outlet.as_mut() {
            o.accept();
        }
        let mut all = Counts::new();
        while let Ok(r) = self.sweeps.try_recv() {
            match r {
                Ok(c) => {
                    for (k, n) in c {
                        *all.entry(k).or_default() += n;
                    }
                }
                Err(e) => {
                    return out(&Event::StoreError {
                        t_ms: self.t_ms,
                        error: format!("the expiry sweeper failed (it retries): {e}"),
                    })
                    .map_err(Error::Output);
                }
            }
        }
        if !all.is_empty() {
            out(&expired_event(self.t_ms, all)).map_err(Error::Output)?;
        }
        Ok(())
    }
}

/// The version of the context lines published on `--context-socket`.
pub const CONTEXT_SCHEMA: u32 = 1;

/// The expiry sweeper: a thread with its own connection to the store that
/// deletes expired data every [`SWEEP_EVERY`] and reports back.
pub(crate) struct Sweeper {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts sweeping `store`; what it deletes arrives on the receiver.
    pub(crate) fn start(
        mut store: Store,
    ) -> std::io::Result<(Self, Receiver<Result<Counts, PrivacyError>>)> {
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let (tx, sweeps) = crossbeam_channel::bounded(16);
        let handle = std::thread::Builder::new()
            .name("heyplayer-sweeper".into())
            .spawn(move || loop {
                match stop_rx.recv_timeout(SWEEP_EVERY) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        let r = store.sweep();
                        if matches!(&r, Ok(c) if c.is_empty()) {
                            continue;
                        }
                        // Reported by the listening thread; a full queue
                        // means it is not reading, and the next sweep reports.
                        let _ = tx.try_send(r);
                    }
                    _ => return,
                }
            })?;
        Ok((
            Sweeper {
                stop: Some(stop_tx),
                handle: Some(handle),
            },
            sweeps,
        ))
    }

    /// Stops the sweeper and waits for it.
    pub(crate) fn stop(mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
