//! Live groups. Each group with someone connected has one room actor (a task) that owns its
//! state: who is online, rate limits, the order of messages. Every message goes through one
//! pipeline in that actor: validate -> moderation -> persist -> acknowledge -> broadcast, so
//! the order every client sees is the order of `seq`.
//!
//! Connections talk to their room through [`Rooms`]: commands go in over a bounded channel
//! (back-pressure on a flood), frames come out over a broadcast channel that each connection
//! reads at its own pace; a connection that falls too far behind is told to resync, never
//! silently skipped.

mod actor;
mod clock;
mod frame_json;
mod help;
mod phases;
mod post;
mod rate_limit;
mod seat;
mod seat_room;
mod shutdown;
pub mod steer;
pub mod watch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::activity::Catalog;
use crate::engine::SharedEngine;
use crate::metrics::Metrics;
use crate::protocol::ErrorFrame;
use crate::safety::Screen;
use crate::store::{Participant, SessionStatus, Store};

pub use actor::RoomConfig;
pub use frame_json::FrameJson;
pub use seat::AgentConfig;
pub use steer::{FacilitatorCommand, HelpState, SteerError};
pub use watch::{AgentStatus, Watch, WatchEvent};

/// A frame for the connections of a room, serialised once for all of them.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub json: FrameJson,
    /// The `seq` when this is a `message` frame (so a connection knows how far it got).
    pub seq: Option<i64>,
    /// Not sent to this participant (their own typing indicator).
    pub skip_participant: Option<i64>,
    /// Sent to this participant only (a notice for one child).
    pub only_participant: Option<i64>,
}

/// What a connection gets when its `hello` is accepted: the frames to send first, then the
/// live stream.
#[derive(Debug)]
pub struct Welcome {
    pub welcome: FrameJson,
    /// Missed messages, oldest first.
    pub replay: Vec<Outbound>,
    pub synced: FrameJson,
    pub last_seq: i64,
    pub events: broadcast::Receiver<Outbound>,
}

/// A child's `send`, answered with the ack's seq or an error frame.
#[derive(Debug)]
pub struct SendRequest {
    pub participant_id: i64,
    pub client_msg_id: String,
    pub text: String,
    pub reply_to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub seq: i64,
    pub duplicate: bool,
}

#[derive(Debug)]
pub(crate) enum Command {
    Hello {
        conn_id: u64,
        participant: Participant,
        last_seq: i64,
        reply: oneshot::Sender<Result<Welcome, ErrorFrame>>,
    },
    Leave {
        conn_id: u64,
    },
    Send {
        request: SendRequest,
        reply: oneshot::Sender<Result<Ack, ErrorFrame>>,
    },
    Typing {
        participant_id: i64,
        on: bool,
    },
    /// A child's "I need help" (room/help.rs); the answer reaches the child as `help_sent`.
    Help {
        participant_id: i64,
        note: Option<String>,
        reply: oneshot::Sender<Result<(), ErrorFrame>>,
    },
    SessionStatus(SessionStatus),
    Facilitator {
        command: FacilitatorCommand,
        reply: oneshot::Sender<Result<(), SteerError>>,
    },
    Snapshot {
        reply: oneshot::Sender<LiveState>,
    },
}

/// What only a live room knows, for a dashboard that opens while the group is talking.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveState {
    pub online: Vec<i64>,
    pub agent: Option<AgentStatus>,
    pub phase: Option<crate::protocol::PhaseInfo>,
    pub phases_finished: bool,
}

/// Why a room did not do what it was asked: it refused, with its reason (`R`: a frame for the
/// child, a [`SteerError`] for the facilitator), or it could not be reached (it failed to
/// start, e.g. the group vanished, or the server is stopping).
#[derive(Debug, thiserror::Error)]
pub enum RoomError<R = ErrorFrame> {
    #[error("the room refused: {0:?}")]
    Refused(R),
    #[error("the room is not available: {0}")]
    Unavailable(String),
}

/// The room could not be reached (the room's own calls; callers see [`RoomError`]).
#[derive(Debug)]
struct Unreachable(String);

impl<R> From<Unreachable> for RoomError<R> {
    fn from(e: Unreachable) -> Self {
        RoomError::Unavailable(e.0)
    }
}

/// A refusal (the inner result) or an unreachable room, as one result.
fn flatten<T, R>(r: Result<Result<T, R>, oneshot::error::RecvError>) -> Result<T, RoomError<R>> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(refused)) => Err(RoomError::Refused(refused)),
        Err(_) => Err(RoomError::Unavailable("the room stopped".into())),
    }
}

/// Shared by every room: what an actor needs from the rest of the server.
#[derive(Clone)]
pub struct RoomDeps {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub activities: Arc<Catalog>,
    /// The child-safety screen every message passes (room/post.rs).
    pub screen: Screen,
    /// The optional classifier behind the screen's rules (children's messages only).
    pub classifier: Option<crate::safety::classifier::Classifier>,
    /// The model behind the agent; None when the server runs without one.
    pub engine: Option<SharedEngine>,
    pub config: RoomConfig,
    /// Where rooms publish what facilitators see.
    pub watch: Arc<Watch>,
}

impl std::fmt::Debug for RoomDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomDeps")
            .field("config", &self.config)
            .field("engine", &self.engine.is_some())
            .finish()
    }
}

/// The registry of live rooms, one actor per group.
#[derive(Debug)]
pub struct Rooms {
    deps: RoomDeps,
    live: Arc<Mutex<HashMap<i64, mpsc::Sender<Command>>>>,
    next_conn: AtomicU64,
    /// Set when the server stops: rooms end, and no new one starts.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Every actor holds a clone; `None` once shutdown has begun.
    done_tx: Mutex<Option<mpsc::Sender<()>>>,
    done_rx: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl Rooms {
    pub fn new(deps: RoomDeps) -> Self {
        let (done_tx, done_rx) = mpsc::channel(1);
        Rooms {
            deps,
            live: Arc::default(),
            next_conn: AtomicU64::new(1),
            stopping: tokio::sync::watch::channel(false).0,
            done_tx: Mutex::new(Some(done_tx)),
            done_rx: tokio::sync::Mutex::new(done_rx),
        }
    }

    /// Stops every room: each finishes the command it is carrying out (a message being
    /// stored is stored and acknowledged), cancels its agent's reply without storing any of
    /// it, and ends; its connections are told to reconnect. No new room starts from now on.
    /// Returns when every room has ended (the caller bounds the wait).
    pub async fn shutdown(&self) {
        let _ = self.stopping.send(true);
        drop(self.done_tx.lock().expect("rooms lock").take());
        let mut done = self.done_rx.lock().await;
        while done.recv().await.is_some() {}
    }

    /// A process-unique id for a new connection.
    pub fn connection_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub async fn hello(
        &self,
        group_id: i64,
        conn_id: u64,
        participant: Participant,
        last_seq: i64,
    ) -> Result<Welcome, RoomError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            group_id,
            Command::Hello {
                conn_id,
                participant,
                last_seq,
                reply,
            },
        )
        .await?;
        flatten(rx.await)
    }

    pub async fn send_message(
        &self,
        group_id: i64,
        request: SendRequest,
    ) -> Result<Ack, RoomError> {
        let (reply, rx) = oneshot::channel();
        self.send(group_id, Command::Send { request, reply })
            .await
            .map_err(RoomError::from)?;
        flatten(rx.await)
    }

    /// A child's private request for the teacher's help, with an optional note (room/help.rs).
    /// Refused with a frame for the child (too long, too soon, session over).
    pub async fn help(
        &self,
        group_id: i64,
        participant_id: i64,
        note: Option<String>,
    ) -> Result<(), RoomError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            group_id,
            Command::Help {
                participant_id,
                note,
                reply,
            },
        )
        .await
        .map_err(RoomError::from)?;
        flatten(rx.await)
    }

    pub async fn typing(&self, group_id: i64, participant_id: i64, on: bool) {
        let _ = self
            .send(group_id, Command::Typing { participant_id, on })
            .await;
    }

    pub async fn leave(&self, group_id: i64, conn_id: u64) {
        // Only a live room has anything to forget; do not start one for a goodbye.
        let tx = self
            .live
            .lock()
            .expect("rooms lock")
            .get(&group_id)
            .cloned();
        if let Some(tx) = tx {
            let _ = tx.send(Command::Leave { conn_id }).await;
        }
    }

    /// Tells a live room that its session changed state (paused, ended...).
    pub async fn session_status(&self, group_id: i64, status: SessionStatus) {
        let tx = self
            .live
            .lock()
            .expect("rooms lock")
            .get(&group_id)
            .cloned();
        if let Some(tx) = tx {
            let _ = tx.send(Command::SessionStatus(status)).await;
        }
    }

    /// A facilitator's command for a group (extend or skip a phase, pause or resume the agent,
    /// switch its role, whisper guidance, post, hide a message, mute a child). The group's
    /// room is started if nobody is in it, so that every command has the same effect.
    pub async fn facilitator(
        &self,
        group_id: i64,
        command: FacilitatorCommand,
    ) -> Result<(), RoomError<SteerError>> {
        let (reply, rx) = oneshot::channel();
        self.send(group_id, Command::Facilitator { command, reply })
            .await
            .map_err(RoomError::from)?;
        flatten(rx.await)
    }

    /// A live room's state for the dashboard; None when nobody is in the group.
    pub async fn live_state(&self, group_id: i64) -> Option<LiveState> {
        let tx = self
            .live
            .lock()
            .expect("rooms lock")
            .get(&group_id)
            .cloned()?;
        let (reply, rx) = oneshot::channel();
        tx.send(Command::Snapshot { reply }).await.ok()?;
        rx.await.ok()
    }

    /// Where facilitator sockets subscribe.
    pub fn watch(&self) -> &Watch {
        &self.deps.watch
    }

    /// Delivers a command to the group's actor, starting it if needed. An actor that has just
    /// stopped (idle) hands the command back, and a fresh one is started for it.
    async fn send(&self, group_id: i64, mut command: Command) -> Result<(), Unreachable> {
        for _ in 0..3 {
            let tx = self.actor(group_id).await?;
            match tx.send(command).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => {
                    command = back;
                    let mut live = self.live.lock().expect("rooms lock");
                    if live.get(&group_id).is_some_and(|t| t.same_channel(&tx)) {
                        live.remove(&group_id);
                    }
                }
            }
        }
        Err(Unreachable("the room keeps stopping".into()))
    }

    async fn actor(&self, group_id: i64) -> Result<mpsc::Sender<Command>, Unreachable> {
        if let Some(tx) = self.live.lock().expect("rooms lock").get(&group_id) {
            return Ok(tx.clone());
        }
        let Some(done) = self.done_tx.lock().expect("rooms lock").clone() else {
            return Err(Unreachable("the server is shutting down".into()));
        };
        let shutdown = shutdown::Shutdown::new(self.stopping.subscribe(), done);
        // Load outside the lock; if two connections race, the first registered actor wins
        // and the other's state is dropped before it ever runs.
        let state = actor::RoomActor::load(group_id, self.deps.clone())
            .await
            .map_err(|e| Unreachable(e.to_string()))?;
        let mut live = self.live.lock().expect("rooms lock");
        if let Some(tx) = live.get(&group_id) {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel(256);
        live.insert(group_id, tx.clone());
        let registry = Arc::downgrade(&self.live);
        let metrics = self.deps.metrics.clone();
        let my_tx = tx.clone();
        Metrics::add(&metrics.rooms_live, 1);
        tokio::spawn(async move {
            state.run(rx, shutdown).await;
            Metrics::add(&metrics.rooms_live, -1);
            if let Some(live) = registry.upgrade() {
                let mut live = live.lock().expect("rooms lock");
                if live.get(&group_id).is_some_and(|t| t.same_channel(&my_tx)) {
                    live.remove(&group_id);
                }
            }
        });
        Ok(tx)
    }
}
