//! How the embedded engine orders work when a chat is busy (issue #15), with the real default
//! model: a burst of eager prefills is evaluated once, not once per message, and a reply goes
//! before another room's long prefill instead of waiting for it to finish.

mod common;

use std::time::{Duration, Instant};

use common::engine::{config, test_model};
use peerlearn::engine::llama::LlamaEngine;
use peerlearn::engine::{
    ChatMessage, Engine, GenerateRequest, RoomKey, SamplingParams, StreamEvent,
};

const SYSTEM: &str =
    "You are Blue, a friendly AI helper in a group of children who are designing a \
playground everyone can play on. Answer in one or two short sentences.";

/// `n` children's lines after the system prompt.
fn chat(n: usize) -> Vec<ChatMessage> {
    let names = [
        "Mia", "Leo", "Ava", "Noah", "Zoe", "Omar", "Lily", "Ravi", "Emma", "Sam",
    ];
    let things = [
        "slide", "swing", "sandpit", "ramp", "bridge", "net", "tunnel", "bench",
    ];
    let mut m = vec![ChatMessage::system(SYSTEM)];
    m.extend((0..n).map(|i| {
        ChatMessage::user(format!(
            "{}: what about a {} that a wheelchair can reach, number {i}?",
            names[i % names.len()],
            things[i % things.len()]
        ))
    }));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_prefills_is_evaluated_once_not_once_per_message() {
    let _ = test_model();
    let engine = LlamaEngine::load(&config(1, 2048)).unwrap();
    let room = RoomKey::from("busy");
    let before = engine.metrics().snapshot();
    // Twelve children write within a blink: one eager prefill per message, none awaited.
    let handles: Vec<_> = (1..=12)
        .map(|n| engine.prefill(room.clone(), chat(n)))
        .collect();
    let mut reports = Vec::new();
    for h in handles {
        reports.push(h.await.expect("prefill"));
    }
    let after = engine.metrics().snapshot();
    let total = engine.count_tokens(chat(12), false).await.unwrap();
    let superseded = reports.iter().filter(|r| r.superseded).count();
    assert!(
        superseded >= 9,
        "a newer prefill of the room takes over the older ones: {superseded} of 12 superseded"
    );
    let last = reports.last().unwrap();
    assert!(!last.superseded, "the newest prefill runs to its end");
    assert_eq!(
        (last.cached_tokens + last.prompt_tokens) as usize,
        total,
        "the last one ends with the whole conversation in the cache"
    );
    // No token was evaluated twice: what the superseded ones evaluated stayed cached.
    assert_eq!(
        (after.prompt_tokens - before.prompt_tokens) as usize,
        total,
        "the burst cost one evaluation of the conversation"
    );
    assert!(
        after.decode_steps - before.decode_steps <= 4,
        "a few large steps, not one per message: {} steps",
        after.decode_steps - before.decode_steps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_before_another_rooms_long_prefill() {
    let engine = LlamaEngine::load(&config(2, 2048)).unwrap();
    // Room A: a long conversation, several full steps of evaluation.
    let long = chat(70);
    let long_tokens = engine.count_tokens(long.clone(), false).await.unwrap();
    assert!(
        long_tokens > 1200,
        "the long conversation needs several steps: {long_tokens} tokens"
    );
    let started = Instant::now();
    let prefill = engine.prefill(RoomKey::from("a"), long);
    let prefill = tokio::spawn(async move {
        let report = prefill.await.expect("prefill");
        (report, started.elapsed())
    });
    // Room B: a child asks while A is being evaluated.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let asked = Instant::now();
    let mut stream = engine.generate(GenerateRequest::new(
        "b",
        chat(1),
        SamplingParams::greedy(4),
    ));
    let mut first_token = None;
    while let Some(event) = stream.next_event().await {
        match event.expect("reply") {
            StreamEvent::Token(_) => {
                first_token.get_or_insert(asked.elapsed() + (asked - started));
            }
            StreamEvent::Done(_) => break,
        }
    }
    let first_token = first_token.expect("the reply streamed a token");
    let (report, prefill_done) = prefill.await.unwrap();
    assert!(!report.superseded);
    assert_eq!(report.prompt_tokens as usize, long_tokens);
    assert!(
        first_token < prefill_done,
        "the reply's first token ({first_token:?} from the start) came before the long \
         prefill ended ({prefill_done:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefills_of_messages_written_during_a_reply_wait_for_it_and_merge() {
    let engine = LlamaEngine::load(&config(1, 2048)).unwrap();
    let room = RoomKey::from("room");
    engine.prefill(room.clone(), chat(3)).await.unwrap();
    let before = engine.metrics().snapshot();
    let mut stream = engine.generate(GenerateRequest::new(
        room.clone(),
        chat(3),
        SamplingParams::greedy(24),
    ));
    // The children go on writing while the agent answers.
    let mut handles = Vec::new();
    let mut text = String::new();
    let done = loop {
        match stream
            .next_event()
            .await
            .expect("stream open")
            .expect("reply")
        {
            StreamEvent::Token(t) => {
                text.push_str(&t);
                if handles.len() < 5 {
                    handles.push(engine.prefill(room.clone(), chat(4 + handles.len())));
                }
            }
            StreamEvent::Done(c) => break c,
        }
    };
    assert_eq!(done.text, text);
    assert_ne!(
        done.finish_reason,
        peerlearn::engine::FinishReason::Cancelled,
        "prefills of the same room never interrupt its reply"
    );
    let mut superseded = 0;
    for h in handles {
        superseded += usize::from(h.await.expect("prefill").superseded);
    }
    assert!(
        superseded >= 4,
        "the queued prefills merged: {superseded} of 5 superseded"
    );
    let after = engine.metrics().snapshot();
    assert!(after.prefill_requests - before.prefill_requests >= 5);
}
