//! The handles a caller holds while an engine works: a reply stream, its cancel switch, and
//! the completion of an eager prefill.
//!
//! The engine side only ever does non-blocking sends, so the embedded engine's OS thread can
//! feed async callers without a runtime of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot, Notify};

use super::error::EngineError;
use super::types::{Completion, PrefillReport, StreamEvent};

/// A switch that stops one reply. Cheap to clone; cancelling twice is harmless.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    flag: AtomicBool,
    notify: Notify,
}

impl CancelHandle {
    pub fn new() -> Self {
        CancelHandle::default()
    }

    /// Stops the reply: the engine ends it with [`super::FinishReason::Cancelled`] and frees its
    /// slot at its next step.
    pub fn cancel(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Whether both handles switch the same reply.
    pub fn same_as(&self, other: &CancelHandle) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Resolves once [`CancelHandle::cancel`] has been called.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

type Item = Result<StreamEvent, EngineError>;

/// The engine's end of a reply stream.
#[derive(Debug)]
pub(crate) struct StreamSender {
    tx: mpsc::UnboundedSender<Item>,
    cancel: CancelHandle,
}

impl StreamSender {
    /// Sends more text; returns false when nobody listens any more.
    pub(crate) fn token(&self, text: String) -> bool {
        self.tx.send(Ok(StreamEvent::Token(text))).is_ok()
    }

    pub(crate) fn done(&self, completion: Completion) {
        let _ = self.tx.send(Ok(StreamEvent::Done(completion)));
    }

    pub(crate) fn fail(&self, error: EngineError) {
        let _ = self.tx.send(Err(error));
    }

    /// True when the caller cancelled or dropped the stream: the work can stop.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.tx.is_closed()
    }

    pub(crate) fn cancel_handle(&self) -> &CancelHandle {
        &self.cancel
    }
}

/// A streamed reply: [`StreamEvent::Token`]s, then one [`StreamEvent::Done`] (or one error).
///
/// Dropping the stream before it ends cancels the reply, so a caller that goes away never
/// keeps a slot busy.
#[derive(Debug)]
pub struct TokenStream {
    rx: mpsc::UnboundedReceiver<Item>,
    cancel: CancelHandle,
    finished: bool,
}

impl TokenStream {
    pub(crate) fn channel() -> (StreamSender, TokenStream) {
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = CancelHandle::new();
        (
            StreamSender {
                tx,
                cancel: cancel.clone(),
            },
            TokenStream {
                rx,
                cancel,
                finished: false,
            },
        )
    }

    /// A stream that fails at once (a request refused before it reached an engine).
    pub(crate) fn failed(error: EngineError) -> TokenStream {
        let (tx, stream) = TokenStream::channel();
        tx.fail(error);
        stream
    }

    /// A handle that can cancel this reply from elsewhere (for example the facilitator's pause).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The next event, or `None` after the last one.
    pub async fn next_event(&mut self) -> Option<Item> {
        if self.finished {
            return None;
        }
        let item = self.rx.recv().await;
        self.note(&item);
        item
    }

    /// Waits for the whole reply. The text of the returned completion is the concatenation of
    /// all tokens.
    pub async fn collect_completion(mut self) -> Result<Completion, EngineError> {
        while let Some(item) = self.next_event().await {
            if let StreamEvent::Done(completion) = item? {
                return Ok(completion);
            }
        }
        Err(EngineError::Stopped)
    }

    fn note(&mut self, item: &Option<Item>) {
        match item {
            None | Some(Err(_)) | Some(Ok(StreamEvent::Done(_))) => self.finished = true,
            Some(Ok(StreamEvent::Token(_))) => {}
        }
    }
}

impl Stream for TokenStream {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let poll = self.rx.poll_recv(cx);
        if let Poll::Ready(item) = &poll {
            self.note(item);
        }
        poll
    }
}

impl Drop for TokenStream {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel.cancel();
        }
    }
}

/// Completes when an eager prefill is done. Dropping it does not stop the prefill: prefill is a
/// hint to warm the cache, and the caller rarely needs to wait for it.
#[derive(Debug)]
pub struct PrefillHandle {
    rx: oneshot::Receiver<Result<PrefillReport, EngineError>>,
}

impl PrefillHandle {
    pub(crate) fn channel() -> (
        oneshot::Sender<Result<PrefillReport, EngineError>>,
        PrefillHandle,
    ) {
        let (tx, rx) = oneshot::channel();
        (tx, PrefillHandle { rx })
    }

    /// A handle that is already complete.
    pub(crate) fn ready(result: Result<PrefillReport, EngineError>) -> PrefillHandle {
        let (tx, handle) = PrefillHandle::channel();
        let _ = tx.send(result);
        handle
    }
}

impl Future for PrefillHandle {
    type Output = Result<PrefillReport, EngineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(EngineError::Stopped)))
    }
}
