//! Runs one reply: asks the engine for a stream in a task of its own and forwards every item
//! to the room actor, which cleans, shows and stores it. The actor never waits for the model.

use tokio::sync::mpsc;

use crate::engine::{CancelHandle, Completion, GenerateRequest, SharedEngine, StreamEvent};

/// One item of a running reply, tagged with the stream it belongs to.
#[derive(Debug)]
pub struct ReplyEvent {
    pub stream_id: u64,
    pub item: ReplyItem,
}

#[derive(Debug)]
pub enum ReplyItem {
    Token(String),
    Done(Completion),
    Failed(String),
}

/// Starts generating `request` and returns the switch that cancels it. Items go to `tx`; if
/// the room is gone the task stops (and dropping the stream cancels the engine's work).
pub fn spawn_reply(
    engine: SharedEngine,
    request: GenerateRequest,
    stream_id: u64,
    tx: mpsc::Sender<ReplyEvent>,
) -> CancelHandle {
    let mut stream = engine.generate(request);
    let cancel = stream.cancel_handle();
    tokio::spawn(async move {
        while let Some(item) = stream.next_event().await {
            let item = match item {
                Ok(StreamEvent::Token(t)) => ReplyItem::Token(t),
                Ok(StreamEvent::Done(c)) => ReplyItem::Done(c),
                Err(e) => ReplyItem::Failed(e.to_string()),
            };
            let last = !matches!(item, ReplyItem::Token(_));
            if tx.send(ReplyEvent { stream_id, item }).await.is_err() || last {
                break;
            }
        }
    });
    cancel
}
