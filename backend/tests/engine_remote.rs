//! The remote backend against small in-process OpenAI-compatible servers (axum on
//! 127.0.0.1, port 0): streaming, error statuses, retries before the first token, stalls,
//! cancellation and bad URLs; and over two replicas: the room key, sticky rooms, failover when
//! one dies (before and after the first token) and its return after a health check.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use common::engine::collect;
use peerlearn::engine::remote::{room_affinity_key, RemoteEngine};
use peerlearn::engine::{
    build_engine, ChatMessage, Engine, EngineConfig, EngineError, FinishReason, GenerateRequest,
    RoomKey, SamplingParams, StreamEvent,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower_service::Service;

#[derive(Default)]
struct Seen {
    attempts: AtomicUsize,
    bodies: Mutex<Vec<Value>>,
    auth: Mutex<Vec<String>>,
    /// The room headers of each request: `X-Peerlearn-Room`, `X-Session-Id`.
    room_headers: Mutex<Vec<(String, String)>>,
    /// Replicas only: stream two tokens, then hang (until the test kills the server).
    cut: AtomicBool,
}

type Shared = Arc<Seen>;

fn note(seen: &Seen, headers: &HeaderMap, body: &Value) -> usize {
    seen.bodies.lock().unwrap().push(body.clone());
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    seen.room_headers
        .lock()
        .unwrap()
        .push((header("x-peerlearn-room"), header("x-session-id")));
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
    hello_world()
}

/// A whole streamed reply, "Hello 🎉 world", with usage.
fn hello_world() -> Response {
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
    let key = room_affinity_key(&RoomKey::from("room-1"));
    assert_eq!(body["user"], key.as_str(), "the room key for routers");
    assert_eq!(seen.room_headers.lock().unwrap()[0], (key.clone(), key));
    assert_eq!(engine.metrics().snapshot().generate_requests, 1);
    assert!(
        body.get("ignore_eos").is_none(),
        "replies end when the model ends them"
    );

    // A benchmark's request asks the server to run every reply to its length.
    let mut asked = request();
    asked.params.ignore_eos = true;
    collect(engine.generate(asked)).await.unwrap();
    assert_eq!(seen.bodies.lock().unwrap()[1]["ignore_eos"], true);
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

// ---- Two replicas ----

/// One of several OpenAI-compatible servers. It can be killed (its listener and open
/// connections dropped at once, as when the machine goes away) and started again on its port.
struct FakeReplica {
    addr: SocketAddr,
    seen: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeReplica {
    async fn start() -> FakeReplica {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut replica = FakeReplica {
            addr: listener.local_addr().unwrap(),
            seen: Shared::default(),
            task: None,
        };
        replica.serve(listener);
        replica
    }

    fn serve(&mut self, listener: TcpListener) {
        let app = Router::new()
            .route("/v1/chat/completions", post(replica_reply))
            .route(
                "/health",
                get(|| async { axum::Json(json!({"status": "ok"})) }),
            )
            .with_state(self.seen.clone());
        self.task = Some(tokio::spawn(serve_killable(listener, app)));
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn attempts(&self) -> usize {
        self.seen.attempts.load(Ordering::SeqCst)
    }

    /// The room keys (`user`) of the requests it got.
    fn users(&self) -> Vec<String> {
        self.seen
            .bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["user"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for FakeReplica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Like `axum::serve`, but each connection is a task of a set this future owns, so aborting it
/// closes the open connections mid-stream too (axum's own connection tasks would outlive it).
async fn serve_killable(listener: TcpListener, app: Router) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(
                move |request: axum::http::Request<hyper::body::Incoming>| {
                    let mut app = app.clone();
                    async move { app.call(request.map(Body::new)).await }
                },
            );
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn replica_reply(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    note(&seen, &headers, &body);
    if seen.cut.load(Ordering::SeqCst) {
        return sse(vec![chunk("Hello"), chunk(" there")], Duration::ZERO, true);
    }
    hello_world()
}

fn replicated(replicas: &[&FakeReplica], health_interval_ms: u64) -> RemoteEngine {
    RemoteEngine::new(&EngineConfig {
        first_token_timeout_ms: 3_000,
        idle_timeout_ms: 3_000,
        retries: 1,
        health_interval_ms,
        ..EngineConfig::replicas(replicas.iter().map(|r| r.url()))
    })
    .unwrap()
}

fn room_request(room: &str) -> GenerateRequest {
    GenerateRequest {
        room: RoomKey::from(room),
        ..request()
    }
}

/// Which of the two replicas got the room's requests (panics if both or neither did).
fn home_of(replicas: &[&FakeReplica; 2], room: &str) -> usize {
    let key = room_affinity_key(&RoomKey::from(room));
    let homes: Vec<usize> = (0..2)
        .filter(|i| replicas[*i].users().contains(&key))
        .collect();
    assert_eq!(homes.len(), 1, "{room} went to {homes:?}");
    homes[0]
}

/// The replica that served the room, then the other one.
fn by_home<'a>(
    a: &'a mut FakeReplica,
    b: &'a mut FakeReplica,
    room: &str,
) -> (&'a mut FakeReplica, &'a mut FakeReplica) {
    if home_of(&[a, b], room) == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// Waits until the engine reports the replica's state as `up`.
async fn wait_for_state(engine: &RemoteEngine, url: &str, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let states = engine.replicas();
        if states.iter().any(|r| r.url == url && r.up == up) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never became up={up}: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_request_carries_an_opaque_room_key_and_a_room_sticks_to_one_replica() {
    let (a, b) = (FakeReplica::start().await, FakeReplica::start().await);
    let engine = replicated(&[&a, &b], 100);
    let rooms: Vec<String> = (1..=16).map(|n| format!("group-{n}")).collect();
    for _ in 0..3 {
        for room in &rooms {
            let (_, done) = collect(engine.generate(room_request(room))).await.unwrap();
            assert_eq!(done.text, "Hello 🎉 world");
        }
    }
    assert_eq!(a.attempts() + b.attempts(), 48, "no retries");
    let mut homes = [0; 2];
    for room in &rooms {
        homes[home_of(&[&a, &b], room)] += 1;
    }
    assert!(
        homes[0] > 0 && homes[1] > 0,
        "16 rooms spread over both replicas: {homes:?}"
    );

    // The key: the same in `user` and both headers, stable per room, distinct between rooms,
    // and it says nothing of the room or the children.
    let mut keys = Vec::new();
    for replica in [&a, &b] {
        let users = replica.users();
        let headers = replica.seen.room_headers.lock().unwrap().clone();
        for (user, (room_header, session_header)) in users.iter().zip(&headers) {
            assert_eq!(user, room_header);
            assert_eq!(user, session_header);
            keys.push(user.clone());
        }
    }
    let key = room_affinity_key(&RoomKey::from("group-3"));
    assert_eq!(keys.iter().filter(|k| **k == key).count(), 3);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 16, "one key per room");
    for k in &keys {
        assert!(!k.contains("group") && !k.contains("Mia"), "{k}");
    }
    assert!(engine.replicas().iter().all(|r| r.up));
}

#[tokio::test]
async fn a_dead_replica_moves_its_rooms_to_the_other_without_an_error() {
    let (mut a, mut b) = (FakeReplica::start().await, FakeReplica::start().await);
    // Health checks far apart: here the failed request itself must mark the replica down.
    let engine = replicated(&[&a, &b], 60_000);
    collect(engine.generate(room_request("group-7")))
        .await
        .unwrap();
    let (victim, survivor) = by_home(&mut a, &mut b, "group-7");
    victim.kill();
    let before = survivor.attempts();
    for _ in 0..3 {
        let (chunks, done) = collect(engine.generate(room_request("group-7")))
            .await
            .expect("no error reaches the caller before the first token");
        assert_eq!(chunks.concat(), "Hello 🎉 world");
        assert_eq!(done.text, "Hello 🎉 world");
    }
    assert_eq!(survivor.attempts(), before + 3);
    assert_eq!(victim.attempts(), 1, "only the first request reached it");
    assert_eq!(engine.metrics().snapshot().errors, 0);
    let states = engine.replicas();
    assert!(
        states.iter().any(|r| r.url == victim.url() && !r.up),
        "{states:?}"
    );
    assert!(
        states.iter().any(|r| r.url == survivor.url() && r.up),
        "{states:?}"
    );
}

#[tokio::test]
async fn a_reply_cut_after_its_first_tokens_ends_with_an_error_and_is_not_repeated() {
    let (mut a, mut b) = (FakeReplica::start().await, FakeReplica::start().await);
    a.seen.cut.store(true, Ordering::SeqCst);
    b.seen.cut.store(true, Ordering::SeqCst);
    let engine = replicated(&[&a, &b], 60_000);
    let mut stream = engine.generate(room_request("group-2"));
    let mut shown = String::new();
    while shown != "Hello there" {
        match stream.next_event().await.unwrap() {
            Ok(StreamEvent::Token(t)) => shown.push_str(&t),
            other => panic!("unexpected {other:?} after {shown:?}"),
        }
    }
    let (victim, survivor) = by_home(&mut a, &mut b, "group-2");
    victim.kill();
    let err = loop {
        match stream.next_event().await {
            Some(Ok(StreamEvent::Token(t))) => shown.push_str(&t),
            Some(Ok(StreamEvent::Done(d))) => panic!("a cut reply must not look finished: {d:?}"),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err}");
    assert_eq!(shown, "Hello there", "nothing shown twice, nothing added");
    assert_eq!(
        survivor.attempts(),
        0,
        "not retried elsewhere once tokens were shown"
    );
    assert_eq!(engine.metrics().snapshot().errors, 1);

    // The room's next reply goes to the survivor, whole.
    survivor.seen.cut.store(false, Ordering::SeqCst);
    let (_, done) = collect(engine.generate(room_request("group-2")))
        .await
        .unwrap();
    assert_eq!(done.text, "Hello 🎉 world");
    assert_eq!(survivor.attempts(), 1);
}

#[tokio::test]
async fn a_replica_that_comes_back_gets_its_rooms_again_after_a_health_check() {
    let (mut a, mut b) = (FakeReplica::start().await, FakeReplica::start().await);
    let engine = replicated(&[&a, &b], 100);
    collect(engine.generate(room_request("group-4")))
        .await
        .unwrap();
    let (victim, survivor) = by_home(&mut a, &mut b, "group-4");
    victim.kill();
    // The health check notices without any request.
    wait_for_state(&engine, &victim.url(), false).await;
    let mut metrics = String::new();
    engine.render_prometheus(&mut metrics);
    assert!(
        metrics.contains(&format!(
            "peerlearn_engine_replica_up{{replica=\"{}\"}} 0",
            victim.url()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "peerlearn_engine_replica_up{{replica=\"{}\"}} 1",
            survivor.url()
        )),
        "{metrics}"
    );
    collect(engine.generate(room_request("group-4")))
        .await
        .unwrap();
    assert_eq!(survivor.attempts(), 1, "moved while its replica is down");

    victim.restart().await;
    wait_for_state(&engine, &victim.url(), true).await;
    let (_, done) = collect(engine.generate(room_request("group-4")))
        .await
        .unwrap();
    assert_eq!(done.text, "Hello 🎉 world");
    assert_eq!(
        victim.attempts(),
        2,
        "back home, where its prompt is cached"
    );
    assert_eq!(survivor.attempts(), 1);
}
