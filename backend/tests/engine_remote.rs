//! The remote backend against a small in-process OpenAI-compatible server (axum on
//! 127.0.0.1, port 0): streaming, error statuses, retries before the first token, stalls,
//! cancellation and bad URLs.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use common::engine::collect;
use peerlearn::engine::remote::RemoteEngine;
use peerlearn::engine::{
    build_engine, ChatMessage, Engine, EngineConfig, EngineError, FinishReason, GenerateRequest,
    RoomKey, SamplingParams, StreamEvent,
};
use serde_json::{json, Value};

#[derive(Default)]
struct Seen {
    attempts: AtomicUsize,
    bodies: Mutex<Vec<Value>>,
    auth: Mutex<Vec<String>>,
}

type Shared = Arc<Seen>;

fn note(seen: &Seen, headers: &HeaderMap, body: &Value) -> usize {
    seen.bodies.lock().unwrap().push(body.clone());
    if let Some(a) = headers.get("authorization") {
        seen.auth
            .lock()
            .unwrap()
            .push(a.to_str().unwrap().to_string());
    }
    seen.attempts.fetch_add(1, Ordering::SeqCst) + 1
}

fn chunk(content: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    )
}

/// An SSE body: each part after `delay`, then (unless `stall_after`) the end.
fn sse(parts: Vec<String>, delay: Duration, stall_after: bool) -> Response {
    let stream = futures::stream::unfold(
        (parts.into_iter(), false),
        move |(mut it, stalled)| async move {
            if stalled {
                return None;
            }
            match it.next() {
                Some(p) => {
                    tokio::time::sleep(delay).await;
                    Some((Ok::<_, Infallible>(Bytes::from(p)), (it, false)))
                }
                None if stall_after => {
                    futures::future::pending::<()>().await;
                    None
                }
                None => None,
            }
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn ok(State(seen): State<Shared>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    note(&seen, &headers, &body);
    let mut parts = vec![format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]})
    )];
    parts.extend(["Hel", "lo", " 🎉", " world"].map(chunk));
    parts.push(format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 40, "completion_tokens": 5},
               "timings": {"prompt_n": 6, "cache_n": 34}})
    ));
    parts.push("data: [DONE]\n\n".to_string());
    sse(parts, Duration::from_millis(5), false)
}

async fn bad_request(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    note(&seen, &headers, &body);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {"message": "model 'nope' not found", "type": "invalid_request_error"}})),
    )
        .into_response()
}

async fn flaky(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if note(&seen, &headers, &body) == 1 {
        return (StatusCode::SERVICE_UNAVAILABLE, "loading model").into_response();
    }
    sse(
        vec![chunk("fine"), "data: [DONE]\n\n".into()],
        Duration::ZERO,
        false,
    )
}

async fn broken(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    note(&seen, &headers, &body);
    (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
}

async fn stall(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    note(&seen, &headers, &body);
    futures::future::pending::<()>().await;
    unreachable!()
}

async fn stall_midway(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    note(&seen, &headers, &body);
    sse(vec![chunk("Hello"), chunk(" there")], Duration::ZERO, true)
}

/// Starts the server; returns its base URL and what it saw.
async fn server() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/ok/v1/chat/completions", post(ok))
        .route("/bad/v1/chat/completions", post(bad_request))
        .route("/flaky/v1/chat/completions", post(flaky))
        .route("/broken/v1/chat/completions", post(broken))
        .route("/stall/v1/chat/completions", post(stall))
        .route("/midway/v1/chat/completions", post(stall_midway))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn engine(url: String) -> RemoteEngine {
    RemoteEngine::new(&EngineConfig {
        llm_api_key: Some("secret".into()),
        llm_model: Some("smollm2".into()),
        first_token_timeout_ms: 400,
        idle_timeout_ms: 400,
        retries: 1,
        ..EngineConfig::remote(url)
    })
    .unwrap()
}

fn request() -> GenerateRequest {
    GenerateRequest::new(
        "room-1",
        vec![
            ChatMessage::system("You are Blue."),
            ChatMessage::user("Mia: hi Blue!"),
        ],
        SamplingParams::greedy(32),
    )
}

#[tokio::test]
async fn streams_tokens_and_reports_usage() {
    let (base, seen) = server().await;
    let engine = engine(format!("{base}/ok"));
    assert_eq!(engine.endpoint().path(), "/ok/v1/chat/completions");
    assert_eq!(engine.model_name(), "smollm2");
    let prefill = engine
        .prefill(RoomKey::from("room-1"), request().messages)
        .await
        .unwrap();
    assert!(
        prefill.skipped,
        "the remote server keeps its own prompt cache"
    );

    let (chunks, done) = collect(engine.generate(request())).await.unwrap();
    assert_eq!(chunks, vec!["Hel", "lo", " 🎉", " world"]);
    assert_eq!(done.text, "Hello 🎉 world");
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert_eq!(
        done.metrics.prompt_tokens, 6,
        "llama-server's timings.prompt_n"
    );
    assert_eq!(
        done.metrics.cached_tokens, 34,
        "llama-server's timings.cache_n"
    );
    assert_eq!(done.metrics.generated_tokens, 5, "usage.completion_tokens");
    assert!(done.metrics.ttft_ms.unwrap() > 0.0);

    let body = seen.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "smollm2");
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "Mia: hi Blue!"})
    );
    assert_eq!(seen.auth.lock().unwrap()[0], "Bearer secret");
    assert_eq!(engine.metrics().snapshot().generate_requests, 1);
}

#[tokio::test]
async fn stop_strings_are_applied_to_the_stream_too() {
    let (base, _) = server().await;
    let engine = engine(format!("{base}/ok"));
    let mut req = request();
    req.params.stop = vec!["lo 🎉".into()];
    let (chunks, done) = collect(engine.generate(req)).await.unwrap();
    assert_eq!(chunks.concat(), "Hel");
    assert_eq!(done.finish_reason, FinishReason::StopString);
}

#[tokio::test]
async fn an_error_status_is_a_clear_error_and_not_retried() {
    let (base, seen) = server().await;
    let engine = engine(format!("{base}/bad"));
    let err = collect(engine.generate(request())).await.unwrap_err();
    assert_eq!(
        err,
        EngineError::RemoteStatus {
            status: 400,
            message: "model 'nope' not found".into()
        }
    );
    assert!(err.to_string().contains("400") && err.to_string().contains("not found"));
    assert_eq!(
        seen.attempts.load(Ordering::SeqCst),
        1,
        "a 4xx is not retried"
    );
    assert_eq!(engine.metrics().snapshot().errors, 1);
}

#[tokio::test]
async fn server_errors_before_the_first_token_are_retried() {
    let (base, seen) = server().await;
    let (_, done) = collect(engine(format!("{base}/flaky")).generate(request()))
        .await
        .unwrap();
    assert_eq!(done.text, "fine");
    assert_eq!(seen.attempts.load(Ordering::SeqCst), 2, "503 then success");

    let (base, seen) = server().await;
    let err = collect(engine(format!("{base}/broken")).generate(request()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::RemoteStatus { status: 500, .. }),
        "{err}"
    );
    assert_eq!(
        seen.attempts.load(Ordering::SeqCst),
        2,
        "one try and one retry"
    );
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let (base, seen) = server().await;
    let started = Instant::now();
    let err = collect(engine(format!("{base}/stall")).generate(request()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("timed out"));
    assert_eq!(
        seen.attempts.load(Ordering::SeqCst),
        2,
        "retried once before giving up"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Stalling after the first tokens: the tokens arrive, then an error ends the stream
    // (no retry once something was shown).
    let (base, seen) = server().await;
    let mut stream = engine(format!("{base}/midway")).generate(request());
    let mut text = String::new();
    let err = loop {
        match stream.next_event().await.unwrap() {
            Ok(StreamEvent::Token(t)) => text.push_str(&t),
            Ok(StreamEvent::Done(d)) => panic!("unexpected end {d:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(text, "Hello there");
    assert!(
        matches!(
            err,
            EngineError::Timeout {
                waiting_for: "the next token",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(seen.attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cancelling_a_remote_reply_ends_it_at_once() {
    let (base, _) = server().await;
    let engine = RemoteEngine::new(&EngineConfig {
        first_token_timeout_ms: 60_000,
        ..EngineConfig::remote(format!("{base}/stall"))
    })
    .unwrap();
    let stream = engine.generate(request());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    engine.cancel(&RoomKey::from("room-1"));
    let (_, done) = collect(stream).await.unwrap();
    assert_eq!(done.finish_reason, FinishReason::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn bad_and_unreachable_urls_give_clear_errors() {
    for bad in [
        "localhost:8081",
        "ftp://example.org/",
        "http://",
        "no url at all",
    ] {
        let err = build_engine(&EngineConfig::remote(bad)).err().unwrap();
        assert!(
            matches!(err, EngineError::InvalidUrl { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("invalid llm-url"), "{err}");
    }
    // A port nobody listens on: refused at once, retried, then reported.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let engine = RemoteEngine::new(&EngineConfig {
        retries: 1,
        ..EngineConfig::remote(format!("http://127.0.0.1:{port}"))
    })
    .unwrap();
    let err = collect(engine.generate(request())).await.unwrap_err();
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}
