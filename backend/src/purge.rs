//! The purge timer inside `serve`: every `purge_interval_minutes` (the first time at start),
//! sessions whose retention period is over are deleted, each in its own transaction and
//! audited as `purge` (see [`crate::store::Store::purge_expired`]). `peerlearn purge` does the
//! same once, by hand or from cron.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::{self, Store};

/// Starts the timer; it stops by itself once the store is closed (on shutdown).
pub fn spawn(store: Store, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if store.is_closed() {
                return;
            }
            match store.purge_expired(store::now_ms()).await {
                Ok(done) => {
                    for (expired, rows) in done {
                        tracing::info!(
                            session = expired.session_id,
                            retention_days = expired.retention_days,
                            deleted = %rows.detail(),
                            "purged a session past its retention period"
                        );
                    }
                }
                // A closed pool during shutdown is not worth a warning.
                Err(_) if store.is_closed() => return,
                Err(e) => {
                    tracing::error!(error = %e, "purge of expired sessions failed; retrying at the next interval")
                }
            }
        }
    })
}
