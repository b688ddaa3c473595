//! The activity's phases as a clock: which phase runs, when it ends, and the facilitator's
//! extend and skip. Pure (the room passes the time in), so it is tested without waiting.

use crate::activity::{Activity, Phase};
use crate::protocol::PhaseInfo;

#[derive(Debug, Clone)]
pub struct PhaseClock {
    phases: Vec<Phase>,
    /// Milliseconds in one activity minute (60 000; shorter in simulations and tests).
    minute_ms: i64,
    /// The running phase; None before the start and after the end.
    pub index: Option<usize>,
    pub ends_at_ms: i64,
    /// Every phase ran to its end (or was skipped).
    pub finished: bool,
    /// Phases that ran to their end or were skipped.
    pub completed: usize,
}

/// What [`PhaseClock::tick`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Started(usize),
    Finished,
}

impl PhaseClock {
    pub fn new(activity: Option<&Activity>, minute_ms: i64) -> PhaseClock {
        PhaseClock {
            phases: activity.map(|a| a.phases.clone()).unwrap_or_default(),
            minute_ms: minute_ms.max(1),
            index: None,
            ends_at_ms: 0,
            finished: false,
            completed: 0,
        }
    }

    /// The facilitator's durations (minutes, one per phase) instead of the activity's; a list
    /// of the wrong length is ignored (the session form checks it).
    pub fn with_minutes(mut self, minutes: Option<&[u32]>) -> PhaseClock {
        if let Some(minutes) = minutes.filter(|m| m.len() == self.phases.len()) {
            for (phase, m) in self.phases.iter_mut().zip(minutes) {
                phase.minutes = *m;
            }
        }
        self
    }

    /// Continues where a previous actor of the room left off (the store keeps it). A saved
    /// phase the activity no longer has is ignored.
    pub fn restore(
        mut self,
        index: Option<i64>,
        ends_at_ms: Option<i64>,
        completed: i64,
        finished: bool,
    ) -> PhaseClock {
        self.completed = usize::try_from(completed).unwrap_or(0);
        self.finished = finished && !self.phases.is_empty();
        match (index.and_then(|i| usize::try_from(i).ok()), ends_at_ms) {
            (Some(i), Some(ends)) if i < self.phases.len() && !self.finished => {
                self.index = Some(i);
                self.ends_at_ms = ends;
            }
            _ => self.index = None,
        }
        self
    }

    pub fn started(&self) -> bool {
        self.index.is_some() || self.finished
    }

    /// Starts the first phase (once).
    pub fn start(&mut self, now_ms: i64) -> Option<Change> {
        if self.started() || self.phases.is_empty() {
            return None;
        }
        Some(self.enter(0, now_ms))
    }

    /// Moves on when the running phase's time is up.
    pub fn tick(&mut self, now_ms: i64) -> Option<Change> {
        match self.index {
            Some(_) if now_ms >= self.ends_at_ms => self.skip(now_ms),
            _ => None,
        }
    }

    /// Ends the running phase now (the facilitator's skip, or its timer).
    pub fn skip(&mut self, now_ms: i64) -> Option<Change> {
        let i = self.index?;
        self.completed += 1;
        if i + 1 < self.phases.len() {
            Some(self.enter(i + 1, now_ms))
        } else {
            self.index = None;
            self.finished = true;
            Some(Change::Finished)
        }
    }

    /// Gives the running phase more time.
    pub fn extend(&mut self, minutes: u32) -> bool {
        if self.index.is_none() {
            return false;
        }
        self.ends_at_ms += i64::from(minutes) * self.minute_ms;
        true
    }

    /// Moves the running phase's end later by `ms` (the session is paused: its clock stops).
    pub fn postpone(&mut self, ms: i64) {
        if self.index.is_some() {
            self.ends_at_ms += ms;
        }
    }

    pub fn current(&self) -> Option<&Phase> {
        self.index.and_then(|i| self.phases.get(i))
    }

    pub fn info(&self) -> Option<PhaseInfo> {
        let (index, p) = (self.index?, self.current()?);
        Some(PhaseInfo {
            index,
            name: p.name.clone(),
            goal: p.goal.clone(),
            ends_at_ms: Some(self.ends_at_ms),
        })
    }

    fn enter(&mut self, index: usize, now_ms: i64) -> Change {
        self.index = Some(index);
        self.ends_at_ms = now_ms + i64::from(self.phases[index].minutes) * self.minute_ms;
        Change::Started(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Catalog;

    #[test]
    fn phases_run_on_time_and_can_be_extended_and_skipped() {
        let catalog = Catalog::built_in();
        let a = catalog.get("playground").unwrap();
        let mut c = PhaseClock::new(Some(a), 1000);
        assert_eq!(c.tick(0), None, "nothing before the start");
        assert_eq!(c.start(0), Some(Change::Started(0)));
        assert_eq!(c.start(5), None, "starts once");
        assert_eq!(c.ends_at_ms, 3000);
        assert_eq!(c.tick(2999), None);
        assert_eq!(c.tick(3000), Some(Change::Started(1)));
        c.postpone(500);
        assert_eq!(
            c.ends_at_ms,
            3000 + 8000 + 500,
            "a paused session's clock stands still"
        );
        c.ends_at_ms -= 500;
        assert!(c.extend(2));
        assert_eq!(c.ends_at_ms, 3000 + 8000 + 2000);
        assert_eq!(c.skip(4000), Some(Change::Started(2)));
        let mut last = None;
        for t in (4000..100_000).step_by(100) {
            if let Some(ch) = c.tick(t) {
                last = Some(ch);
            }
        }
        assert_eq!(last, Some(Change::Finished));
        assert!(c.finished && c.index.is_none());
        assert_eq!(c.completed, 5);
        assert!(!c.extend(1));
        assert_eq!(c.info(), None);
    }

    #[test]
    fn a_restored_clock_carries_on() {
        let catalog = Catalog::built_in();
        let a = catalog.get("playground").unwrap();
        let mut c = PhaseClock::new(Some(a), 1000).restore(Some(2), Some(50_000), 2, false);
        assert!(c.started());
        assert_eq!(c.start(0), None, "not started again");
        assert_eq!(c.info().unwrap().index, 2);
        // Its time ran out while nobody was there: the next phase, one step at a time.
        assert_eq!(c.tick(60_000), Some(Change::Started(3)));
        assert_eq!(c.completed, 3);
        let done = PhaseClock::new(Some(a), 1000).restore(None, None, 5, true);
        assert!(done.started() && done.finished && done.info().is_none());
        let bogus = PhaseClock::new(Some(a), 1000).restore(Some(99), Some(1), 0, false);
        assert!(!bogus.started(), "a phase the activity lacks is ignored");
    }

    #[test]
    fn the_facilitators_durations_replace_the_activitys() {
        let catalog = Catalog::built_in();
        let a = catalog.get("playground").unwrap();
        let n = a.phases.len();
        let minutes: Vec<u32> = (1..=n as u32).collect();
        let mut c = PhaseClock::new(Some(a), 1000).with_minutes(Some(&minutes));
        c.start(0);
        assert_eq!(c.ends_at_ms, 1000);
        assert_eq!(c.tick(1000), Some(Change::Started(1)));
        assert_eq!(c.ends_at_ms, 3000);
        // A list that does not fit the activity keeps its own durations.
        let mut c = PhaseClock::new(Some(a), 1000).with_minutes(Some(&[1]));
        c.start(0);
        assert_eq!(c.ends_at_ms, 3000);
    }
}
