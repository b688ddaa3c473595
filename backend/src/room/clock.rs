//! The room's clock: every `tick` the phases move on (paused sessions stop them), the agent's
//! timed triggers run, and a phase that starts or ends is shown to the group, kept in the
//! store (so a restarted room carries on where it was) and told to the agent.

use super::actor::RoomActor;
use super::phases::{Change, PhaseClock};
use super::seat_room::with_seat;
use super::steer::SteerError;
use super::watch::WatchEvent;
use crate::protocol::ServerFrame;
use crate::store::{self, NewAudit, SessionStatus, StoreError};

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
    pub(super) async fn extend_phase(
        &mut self,
        minutes: u32,
        audit: &NewAudit,
    ) -> Result<(), SteerError> {
        let before = self.phases.clone();
        if !self.phases.extend(minutes) {
            return Err(SteerError::BadRequest("no phase is running".into()));
        }
        self.save_facilitators_phase(before, audit).await?;
        if let Some(info) = self.phases.info() {
            self.broadcast(&ServerFrame::Phase(info), None, None);
        }
        self.publish_phase();
        Ok(())
    }

    /// The facilitator moves the group on to the next phase now.
    pub(super) async fn skip_phase(&mut self, audit: &NewAudit) -> Result<(), SteerError> {
        let now = store::now_ms();
        let before = self.phases.clone();
        let Some(change) = self.phases.skip(now) else {
            return Err(SteerError::BadRequest("no phase is running".into()));
        };
        self.save_facilitators_phase(before, audit).await?;
        self.show_phase_change(change, now).await;
        Ok(())
    }

    /// Stores a phase clock a facilitator changed, with their audit entry, before anyone is
    /// shown the change; when the store refuses, the clock goes back to `before` (the change
    /// did not happen, and the facilitator is told).
    async fn save_facilitators_phase(
        &mut self,
        before: PhaseClock,
        audit: &NewAudit,
    ) -> Result<(), SteerError> {
        if let Err(e) = self.store_phase(Some(audit)).await {
            self.phases = before;
            return Err(e.into());
        }
        Ok(())
    }

    async fn phase_changed(&mut self, change: Change, now: i64) {
        self.save_phase().await;
        self.show_phase_change(change, now).await;
    }

    /// Shows a stored phase change to the group and the dashboards, and tells the agent.
    async fn show_phase_change(&mut self, change: Change, now: i64) {
        let index = match change {
            Change::Started(i) => {
                if let Some(info) = self.phases.info() {
                    self.broadcast(&ServerFrame::Phase(info), None, None);
                }
                Some(i)
            }
            Change::Finished => None,
        };
        self.publish_phase();
        with_seat!(self, |seat| seat.on_phase(self, index, now).await);
    }

    /// Keeps the phase clock in the store, so a restarted room carries on where it was.
    pub(super) async fn save_phase(&self) {
        if let Err(e) = self.store_phase(None).await {
            tracing::warn!(group = self.group.id, error = %e, "cannot keep the phase clock");
        }
    }

    async fn store_phase(&self, audit: Option<&NewAudit>) -> Result<(), StoreError> {
        let p = &self.phases;
        self.deps
            .store
            .set_group_phase(
                self.group.id,
                p.index.map(|i| i as i64),
                p.index.map(|_| p.ends_at_ms),
                p.completed as i64,
                p.finished,
                audit,
            )
            .await
    }

    fn publish_phase(&self) {
        self.publish(WatchEvent::Phase {
            group_id: self.group.id,
            phase: self.phases.info(),
            finished: self.phases.finished,
        });
    }
}
