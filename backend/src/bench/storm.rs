//! `peerlearn bench storm`: every socket drops and reconnects at once (a school's Wi-Fi comes
//! back), each resuming from the last `seq` it had shown.
//!
//! The children join and connect, one message each is stored; then every socket is dropped,
//! the group's first child writes `--missed` messages while the others are away, and all of
//! them reconnect at the same instant with their `last_seq`. The report says how long the
//! resumes took (from the storm's start to each socket's `synced`) and checks what every socket
//! got back: exactly the messages after its `last_seq`, in order, none missing, none twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::chat::{bench_settings, join, percentile_ms, raise_fd_limit};
use crate::room::RoomConfig;
use crate::server::{self, StartOptions};
use crate::store::{self, AgentRole, NewGroup, NewSession, SessionStatus};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Arguments of `peerlearn bench storm`.
#[derive(Debug, Clone, clap::Args)]
pub struct StormBenchArgs {
    /// Sockets that drop and reconnect at once.
    #[arg(long, default_value_t = 500)]
    pub sockets: usize,
    /// Children per group.
    #[arg(long, default_value_t = 10)]
    pub group_size: usize,
    /// Messages each group gets while its children are away.
    #[arg(long, default_value_t = 3)]
    pub missed: usize,
    /// Print only the JSON object (the default prints it too; kept for scripts).
    #[arg(long)]
    pub json: bool,
}

struct Kid {
    group_id: i64,
    ws_url: String,
    cookie: String,
    origin: String,
}

pub async fn run(args: StormBenchArgs) -> anyhow::Result<Value> {
    if args.sockets == 0 || args.group_size == 0 {
        bail!("--sockets and --group-size must be positive");
    }
    raise_fd_limit(args.sockets * 2 + 256)?;
    let dir = tempfile::tempdir().context("temporary folder for the database")?;
    let srv = server::start_with(
        &bench_settings(dir.path()),
        StartOptions {
            room_config: RoomConfig {
                // The benchmark's children all come from this machine's one address and write
                // as fast as they can: the per-child limits are not what is measured here.
                rate_limit: 1000,
                broadcast_capacity: 1024,
                ..RoomConfig::default()
            },
            load_engine: false,
        },
    )
    .await
    .context("starting the server")?;
    let groups_n = args.sockets.div_ceil(args.group_size);
    let (session, groups) = srv
        .context
        .store
        .create_session(&NewSession {
            facilitator_id: None,
            activity_id: "playground".into(),
            language: "en".into(),
            agent_name: "Blue".into(),
            groups: NewGroup::numbered((0..groups_n).map(|_| AgentRole::None)),
            created_at: store::now_ms(),
            phase_minutes: None,
            safety_level: "standard".into(),
        })
        .await?;
    srv.context
        .store
        .set_session_status(session.id, SessionStatus::Running, store::now_ms())
        .await?;
    let base = format!("http://{}", srv.addr);
    let http = reqwest::Client::new();
    let mut kids = Vec::with_capacity(args.sockets);
    for i in 0..args.sockets {
        let code = &groups[i / args.group_size].join_code;
        let nickname = format!("Kid {}", i % args.group_size);
        let (cookie, group_id) = join(&http, &base, code, &nickname).await?;
        kids.push(Kid {
            group_id,
            ws_url: format!("{}/ws?group={group_id}", base.replacen("http", "ws", 1)),
            cookie,
            origin: base.clone(),
        });
    }

    // Everyone connects and says one thing; each socket remembers the last seq it showed.
    let mut sockets = Vec::with_capacity(kids.len());
    for (i, kid) in kids.iter().enumerate() {
        let (mut ws, _) = hello(kid, 0).await?;
        say(&mut ws, &format!("first-{i}")).await?;
        sockets.push(ws);
    }
    let mut last_seq = HashMap::new();
    for g in &groups {
        last_seq.insert(g.id, srv.context.store.group(g.id).await?.last_seq);
    }
    // The Wi-Fi drops: every socket at once.
    drop(sockets);
    // While they are away each group's first child (on a fresh socket) writes.
    for g in &groups {
        let first = kids
            .iter()
            .find(|k| k.group_id == g.id)
            .context("a child")?;
        let (mut ws, _) = hello(first, last_seq[&g.id]).await?;
        for n in 0..args.missed {
            say(&mut ws, &format!("missed-{}-{n}", g.id)).await?;
        }
    }
    let mut expected = HashMap::new();
    for g in &groups {
        expected.insert(g.id, srv.context.store.group(g.id).await?.last_seq);
    }

    // The storm: all reconnect at the same instant, each from what it had shown.
    let kids = Arc::new(kids);
    let start = Arc::new(Barrier::new(kids.len()));
    let storm_started = Instant::now();
    let mut tasks = Vec::with_capacity(kids.len());
    for i in 0..kids.len() {
        let (kids, start) = (kids.clone(), start.clone());
        let from = last_seq[&kids[i].group_id];
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let t0 = Instant::now();
            let (_ws, replayed) = hello(&kids[i], from).await?;
            anyhow::Ok((t0.elapsed(), from, replayed))
        }));
    }
    let mut resume_us = Vec::with_capacity(tasks.len());
    let (mut gaps, mut duplicates, mut errors) = (0u64, 0u64, 0u64);
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.context("a client task panicked")? {
            Ok((took, from, replayed)) => {
                resume_us.push(took.as_micros() as u64);
                let want: Vec<i64> = (from + 1..=expected[&kids[i].group_id]).collect();
                let mut seen = replayed.clone();
                seen.dedup();
                duplicates += (replayed.len() - seen.len()) as u64;
                if seen != want {
                    gaps += 1;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a reconnect failed");
                errors += 1;
            }
        }
    }
    let storm = storm_started.elapsed();
    resume_us.sort_unstable();
    let report = json!({
        "sockets": kids.len(),
        "groups": groups_n,
        "missed_per_group": args.missed,
        "storm_seconds": storm.as_secs_f64(),
        "resumed": resume_us.len(),
        "errors": errors,
        "sockets_with_a_gap": gaps,
        "duplicates": duplicates,
        "resume_ms_p50": percentile_ms(&resume_us, 0.50),
        "resume_ms_p95": percentile_ms(&resume_us, 0.95),
        "resume_ms_p99": percentile_ms(&resume_us, 0.99),
        "resume_ms_max": percentile_ms(&resume_us, 1.0),
    });
    srv.stop().await.ok();
    Ok(report)
}

/// Connects and says hello from `last_seq`; the socket after `synced` and the replayed seqs.
async fn hello(kid: &Kid, last_seq: i64) -> anyhow::Result<(Ws, Vec<i64>)> {
    let mut req = kid.ws_url.as_str().into_client_request()?;
    req.headers_mut().insert("cookie", kid.cookie.parse()?);
    req.headers_mut().insert("origin", kid.origin.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::Text(
        json!({"type": "hello", "v": 1, "last_seq": last_seq})
            .to_string()
            .into(),
    ))
    .await?;
    let mut replayed = Vec::new();
    loop {
        let f = next_frame(&mut ws).await?;
        match f["type"].as_str() {
            Some("message") => replayed.push(f["seq"].as_i64().context("a seq")?),
            Some("synced") => return Ok((ws, replayed)),
            Some("error") => bail!("refused: {f}"),
            _ => {}
        }
    }
}

async fn say(ws: &mut Ws, id: &str) -> anyhow::Result<()> {
    ws.send(Message::Text(
        json!({"type": "send", "client_msg_id": id, "text": "a slide with a ramp"})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        let f = next_frame(ws).await?;
        match f["type"].as_str() {
            Some("ack") if f["client_msg_id"] == id => return Ok(()),
            Some("error") => bail!("refused: {f}"),
            _ => {}
        }
    }
}

async fn next_frame(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .context("no frame within a minute")?
            .context("the socket closed")??;
        if let Message::Text(t) = msg {
            return Ok(serde_json::from_str(&t)?);
        }
    }
}
