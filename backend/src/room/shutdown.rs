//! Stopping every room in order when the server stops (mini-redis's `Shutdown`, for actors).
//!
//! [`Rooms::shutdown`](super::Rooms::shutdown) flips one `watch` flag that every room actor
//! listens to between commands, so a message being stored is always finished (stored and
//! acknowledged) and never cut in half. A room then cancels its agent's reply without storing
//! any of it, forgets its engine work, and ends; its connections are told to resync, find the
//! registry closed, and close so that the pages reconnect to the next server. Each actor holds
//! a clone of one `mpsc::Sender`; when the last one is dropped, every room has ended.

use tokio::sync::{mpsc, watch};

/// What an actor holds: the flag it listens to and its share of the "all done" channel.
#[derive(Debug)]
pub(super) struct Shutdown {
    notify: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
}

impl Shutdown {
    pub(super) fn new(notify: watch::Receiver<bool>, done: mpsc::Sender<()>) -> Shutdown {
        Shutdown {
            notify,
            _done: done,
        }
    }

    /// Resolves once the server is stopping (at once if it already is).
    pub(super) async fn recv(&mut self) {
        let _ = self.notify.wait_for(|stopping| *stopping).await;
    }
}
