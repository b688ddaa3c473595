//! `peerlearn bench chat`: many rooms of children chatting over loopback WebSockets.
//!
//! Each simulated child joins through `POST /api/join` like a browser, says `hello`, then sends
//! `--rate` messages a minute (first one at a random offset, so rooms do not beat in step). Every
//! message carries its send time; every client records, for each `message` frame it receives,
//! the delivery delay and whether it saw that `seq` before. At the end the clients wait for
//! stragglers and the report counts what was lost or duplicated.
//!
//! Without `--url` the server runs in this process on a fresh SQLite database in a temporary
//! folder, so its resident memory can be read from /proc; the figure per connection then also
//! includes the benchmark's own client sockets, making it an upper bound.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::config::{DatabaseKind, DatabaseSettings, EngineSettings, Settings};
use crate::server::{self, StartOptions};
use crate::store::{self, AgentRole, NewGroup, NewSession, SessionStatus};

/// Arguments of `peerlearn bench chat`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatBenchArgs {
    /// Number of groups chatting at once.
    #[arg(long, default_value_t = 20)]
    pub rooms: usize,
    /// Children per group.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Messages each child sends per minute.
    #[arg(long, default_value_t = 12.0)]
    pub rate: f64,
    /// How long the children chat.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Benchmark a running server instead (it must have a session whose join codes are given
    /// with --codes); without it a server is started in this process.
    #[arg(long)]
    pub url: Option<String>,
    /// Comma-separated join codes of the groups to use with --url (one per room).
    #[arg(long, requires = "url")]
    pub codes: Option<String>,
    /// Print only the JSON object (the default prints it too; kept for scripts).
    #[arg(long)]
    pub json: bool,
}

/// What one simulated child saw.
#[derive(Default)]
struct ClientReport {
    sent: u64,
    acked: u64,
    errors: u64,
    received: u64,
    duplicated: u64,
    out_of_order: u64,
    resyncs: u64,
    delivery_us: Vec<u64>,
    ack_us: Vec<u64>,
}

pub async fn run(args: ChatBenchArgs) -> anyhow::Result<Value> {
    if args.rooms == 0 || args.clients == 0 || args.rate <= 0.0 || args.seconds == 0 {
        bail!("--rooms, --clients, --rate and --seconds must all be positive");
    }
    if args.rate > 30.0 {
        bail!("--rate above 30 messages a minute would hit the children's rate limit (5 per 10 s)");
    }
    raise_fd_limit(args.rooms * args.clients * 2 + 256)?;

    let mut local = None;
    let (base, codes) = match &args.url {
        Some(url) => {
            let codes: Vec<String> = args
                .codes
                .as_deref()
                .context("--url needs --codes with one join code per room")?
                .split(',')
                .map(|c| c.trim().to_string())
                .collect();
            if codes.len() < args.rooms {
                bail!(
                    "--codes names {} groups but --rooms is {}",
                    codes.len(),
                    args.rooms
                );
            }
            (url.trim_end_matches('/').to_string(), codes)
        }
        None => {
            let dir = tempfile::tempdir().context("temporary folder for the database")?;
            let settings = bench_settings(dir.path());
            let srv = server::start_with(
                &settings,
                StartOptions {
                    load_engine: false,
                    ..Default::default()
                },
            )
            .await
            .context("starting the server")?;
            let (session, groups) = srv
                .context
                .store
                .create_session(&NewSession {
                    facilitator_id: None,
                    activity_id: "playground".into(),
                    language: "en".into(),
                    agent_name: "Blue".into(),
                    groups: NewGroup::numbered((0..args.rooms).map(|_| AgentRole::None)),
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
            local = Some((srv, dir));
            (base, groups.into_iter().map(|g| g.join_code).collect())
        }
    };

    let rss_before = rss_kib();
    let http = reqwest::Client::new();
    let total = args.rooms * args.clients;
    let ready = Arc::new(Barrier::new(total + 1));
    let bench_start = Instant::now();
    let interval = Duration::from_secs_f64(60.0 / args.rate);
    let chat_for = Duration::from_secs(args.seconds);
    let mut tasks = Vec::with_capacity(total);
    for (room, code) in codes.iter().take(args.rooms).enumerate() {
        for child in 0..args.clients {
            let (cookie, group_id) = join(&http, &base, code, &format!("Kid {child}"))
                .await
                .with_context(|| format!("room {room}"))?;
            let ws_url = format!("{}/ws?group={group_id}", base.replacen("http", "ws", 1));
            let ready = ready.clone();
            tasks.push(tokio::spawn(async move {
                client(
                    ws_url,
                    cookie,
                    ready,
                    bench_start,
                    interval,
                    chat_for,
                    format!("r{room}c{child}"),
                )
                .await
            }));
        }
    }
    ready.wait().await;
    let connected_at = Instant::now();
    // Memory once everyone is connected and chatting.
    tokio::time::sleep(Duration::from_millis(1500).min(chat_for / 2)).await;
    let rss_connected = rss_kib();

    let mut reports = Vec::with_capacity(total);
    for t in tasks {
        reports.push(t.await.context("a client task failed")??);
    }
    let elapsed = connected_at.elapsed();

    let sent: u64 = reports.iter().map(|r| r.sent).sum();
    let acked: u64 = reports.iter().map(|r| r.acked).sum();
    let received: u64 = reports.iter().map(|r| r.received).sum();
    let duplicated: u64 = reports.iter().map(|r| r.duplicated).sum();
    // Every message goes to every member of its room, the sender included.
    let expected = acked * args.clients as u64;
    let mut delivery: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.delivery_us.iter().copied())
        .collect();
    let mut ack: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.ack_us.iter().copied())
        .collect();
    delivery.sort_unstable();
    ack.sort_unstable();
    let rss_per_connection = match (rss_before, rss_connected) {
        (Some(b), Some(c)) if local.is_some() => Some(c.saturating_sub(b) as f64 / total as f64),
        _ => None,
    };
    let report = json!({
        "rooms": args.rooms,
        "clients_per_room": args.clients,
        "connections": total,
        "rate_per_minute": args.rate,
        "seconds": elapsed.as_secs_f64(),
        "sent": sent,
        "acked": acked,
        "send_errors": reports.iter().map(|r| r.errors).sum::<u64>(),
        "delivered": received - duplicated,
        "expected_deliveries": expected,
        "lost": expected.saturating_sub(received - duplicated),
        "duplicated": duplicated,
        "out_of_order": reports.iter().map(|r| r.out_of_order).sum::<u64>(),
        "resyncs": reports.iter().map(|r| r.resyncs).sum::<u64>(),
        "delivery_ms_p50": percentile_ms(&delivery, 0.50),
        "delivery_ms_p99": percentile_ms(&delivery, 0.99),
        "delivery_ms_max": percentile_ms(&delivery, 1.0),
        "ack_ms_p50": percentile_ms(&ack, 0.50),
        "ack_ms_p99": percentile_ms(&ack, 0.99),
        "rss_kib_per_connection": rss_per_connection,
        "rss_kib_total": rss_connected,
        "rss_note": if local.is_some() { "in-process server: includes the benchmark's own client sockets (upper bound)" } else { "remote server: not measured" },
    });
    if let Some((srv, _dir)) = local {
        srv.stop().await.ok();
    }
    Ok(report)
}

/// Joins a group as a child does, through `POST /api/join`: the credential cookie
/// (`name=value`) and the group's id.
pub(super) async fn join(
    http: &reqwest::Client,
    base: &str,
    code: &str,
    nickname: &str,
) -> anyhow::Result<(String, i64)> {
    let resp = http
        .post(format!("{base}/api/join"))
        .json(&json!({"code": code, "nickname": nickname, "avatar": "🦊"}))
        .send()
        .await
        .context("joining")?;
    if !resp.status().is_success() {
        bail!(
            "joining failed: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no credential cookie")?
        .to_string();
    let group_id = resp.json::<Value>().await?["group_id"]
        .as_i64()
        .context("no group id")?;
    Ok((cookie, group_id))
}

async fn client(
    ws_url: String,
    cookie: String,
    ready: Arc<Barrier>,
    bench_start: Instant,
    interval: Duration,
    chat_for: Duration,
    name: String,
) -> anyhow::Result<ClientReport> {
    let mut req = ws_url.into_client_request()?;
    req.headers_mut().insert("cookie", cookie.parse()?);
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .context("connecting")?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::Text(
        json!({"type": "hello", "v": 1, "last_seq": 0})
            .to_string()
            .into(),
    ))
    .await?;
    // Wait for `synced`.
    let mut last_seq = loop {
        let Some(msg) = rx.next().await else {
            bail!("closed before synced")
        };
        if let Message::Text(t) = msg? {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "synced" {
                break v["last_seq"].as_i64().unwrap_or(0);
            }
        }
    };
    ready.wait().await;

    let mut report = ClientReport::default();
    let mut seen: HashSet<i64> = HashSet::new();
    let offset = Duration::from_secs_f64(rand::thread_rng().gen_range(0.0..interval.as_secs_f64()));
    let mut next_send = tokio::time::Instant::now() + offset;
    let stop_sending = tokio::time::Instant::now() + chat_for;
    // After the last send, wait for the last deliveries to arrive (or be declared lost).
    let drain_until = stop_sending + Duration::from_secs(5);
    let mut pending_acks: std::collections::HashMap<String, Instant> = Default::default();
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_send), if next_send < stop_sending => {
                let id = format!("{name}-{n}");
                n += 1;
                let sent_us = bench_start.elapsed().as_micros();
                let frame = json!({"type": "send", "client_msg_id": id, "text": format!("bench {sent_us} idea {n}")});
                tx.send(Message::Text(frame.to_string().into())).await?;
                pending_acks.insert(id, Instant::now());
                report.sent += 1;
                next_send += interval;
            }
            _ = tokio::time::sleep_until(drain_until) => break,
            msg = rx.next() => {
                let Some(msg) = msg else { bail!("the server closed the connection") };
                let Message::Text(t) = msg? else { continue };
                let v: Value = serde_json::from_str(&t)?;
                match v["type"].as_str() {
                    Some("message") => {
                        let seq = v["seq"].as_i64().unwrap_or(0);
                        report.received += 1;
                        if !seen.insert(seq) {
                            report.duplicated += 1;
                        } else if seq <= last_seq {
                            report.out_of_order += 1;
                        }
                        last_seq = last_seq.max(seq);
                        if let Some(sent_us) = v["text"].as_str().and_then(|t| t.split(' ').nth(1)).and_then(|s| s.parse::<u128>().ok()) {
                            let now_us = bench_start.elapsed().as_micros();
                            report.delivery_us.push(now_us.saturating_sub(sent_us) as u64);
                        }
                    }
                    Some("ack") => {
                        report.acked += 1;
                        if let Some(at) = v["client_msg_id"].as_str().and_then(|id| pending_acks.remove(id)) {
                            report.ack_us.push(at.elapsed().as_micros() as u64);
                        }
                    }
                    Some("error") => report.errors += 1,
                    Some("resync") => {
                        report.resyncs += 1;
                        tx.send(Message::Text(json!({"type": "hello", "v": 1, "last_seq": last_seq}).to_string().into())).await?;
                    }
                    _ => {}
                }
            }
        }
    }
    let _ = tx.send(Message::Close(None)).await;
    Ok(report)
}

pub(super) fn bench_settings(dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        public_url: "http://127.0.0.1".into(),
        prompts_dir: crate::config::DEFAULT_PROMPTS_DIR.into(),
        database: DatabaseSettings {
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            kind: DatabaseKind::Sqlite,
            connect_timeout: Duration::from_secs(5),
        },
        engine: EngineSettings::resolve(
            &crate::config::EngineArgs {
                threads: Some(1),
                slots: Some(1),
                ..Default::default()
            },
            &crate::config::FileConfig::default(),
        )
        .expect("valid engine settings"),
        safety: Default::default(),
        // The benchmark's many children come from one address and fill big groups.
        limits: crate::config::LimitSettings {
            max_group_size: 1000,
            sockets_per_address: 1_000_000,
            ..Default::default()
        },
        data: Default::default(),
        agent: Default::default(),
    }
}

pub(super) fn percentile_ms(sorted_us: &[u64], q: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let idx = ((sorted_us.len() - 1) as f64 * q).round() as usize;
    Some(sorted_us[idx] as f64 / 1000.0)
}

/// Resident memory of this process (VmRSS) in KiB, on Linux.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Two sockets per simulated child in one process: make sure the descriptor limit allows it.
pub(super) fn raise_fd_limit(needed: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(soft) if soft < needed => {
            bail!("this benchmark needs {needed} open files but the limit is {soft}; raise it with `ulimit -n {needed}`")
        }
        _ => Ok(()),
    }
}
