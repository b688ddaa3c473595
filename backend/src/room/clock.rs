//! The room's clock: every `tick` the phases move on (paused sessions stop them), the agent's
//! timed triggers run, and a phase that starts or ends is shown to the group, kept in the
//! store (so a restarted room carries on where it was) and told to the agent.

use super::actor::RoomActor;
use super::phases::Change;
use super::seat_room::with_seat;
use super::steer::SteerError;
use super::watch::WatchEvent;
use crate::protocol::ServerFrame;
use crate::store::{self, SessionStatus};

impl RoomActor {
    /// One beat of the clock.
    pub(super) async fn tick(&mut self) {
        let now = store::now_ms();
        let since_last = now - std::mem::replace(&mut self.last_tick_ms, now);
        if matches!(
            self.session.status,
            SessionStatus::Paused | SessionStatus::Ended
        ) {
            // A paused session stops the phase clock and the agent.
            self.phases.postpone(since_last.max(0));
            return;
        }
        if self.connections.is_empty() && !self.phases.started() {
            return;
        }
        if let Some(change) = self.phases.tick(now) {
            self.phase_changed(change, now).await;
        }
        with_seat!(self, |seat| seat.on_tick(self, now).await);
    }

    /// Starts the phases when the first child arrives.
    pub(super) async fn phases_start(&mut self) {
        let now = store::now_ms();
        if let Some(change) = self.phases.start(now) {
            self.phase_changed(change, now).await;
        }
    }

    /// The facilitator gives the phase running now more minutes.
    pub(super) async fn extend_phase(&mut self, minutes: u32) -> Result<(), SteerError> {
        if !self.phases.extend(minutes) {
            return Err(SteerError::BadRequest("no phase is running".into()));
        }
        if let Some(info) = self.phases.info() {
            self.broadcast(&ServerFrame::Phase(info), None, None);
        }
        self.save_phase().await;
        self.publish_phase();
        Ok(())
    }

    /// The facilitator moves the group on to the next phase now.
    pub(super) async fn skip_phase(&mut self) -> Result<(), SteerError> {
        let now = store::now_ms();
        let Some(change) = self.phases.skip(now) else {
            return Err(SteerError::BadRequest("no phase is running".into()));
        };
        self.phase_changed(change, now).await;
        Ok(())
    }

    async fn phase_changed(&mut self, change: Change, now: i64) {
        let index = match change {
            Change::Started(i) => {
                if let Some(info) = self.phases.info() {
                    self.broadcast(&ServerFrame::Phase(info), None, None);
                }
                Some(i)
            }
            Change::Finished => None,
        };
        self.save_phase().await;
        self.publish_phase();
        with_seat!(self, |seat| seat.on_phase(self, index, now).await);
    }

    /// Keeps the phase clock in the store, so a restarted room carries on where it was.
    pub(super) async fn save_phase(&self) {
        let p = &self.phases;
        let saved = self
            .deps
            .store
            .set_group_phase(
                self.group.id,
                p.index.map(|i| i as i64),
                p.index.map(|_| p.ends_at_ms),
                p.completed as i64,
                p.finished,
            )
            .await;
        if let Err(e) = saved {
            tracing::warn!(group = self.group.id, error = %e, "cannot keep the phase clock");
        }
    }

    fn publish_phase(&self) {
        self.publish(WatchEvent::Phase {
            group_id: self.group.id,
            phase: self.phases.info(),
            finished: self.phases.finished,
        });
    }
}
