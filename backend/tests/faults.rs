//! Faults made to happen, against the real binary: the server killed with SIGKILL in the
//! middle of a session while children are sending. Every acknowledged message must be there
//! after a restart, none twice, with no gap in `seq`, and the children's retries (same client
//! ids) must not store anything twice.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::engine::test_model;
use common::process::{assert_success, free_port, peerlearn, session_create, KillOnDrop as Server};
use common::server::TestServer;
use common::socket::{self, message_seqs, Served, Ws};
use serde_json::{json, Value};

async fn start(dir: &std::path::Path, db: &str, port: u16) -> Server {
    let child = peerlearn(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db, "--threads", "1", "--slots", "1"])
        .arg("--model")
        .arg(test_model())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child's socket after `hello` from the start, and the seqs it replayed.
async fn connect(at: &(impl Served + ?Sized), group: i64, cookie: &str) -> (Ws, Vec<i64>) {
    let (ws, frames) = socket::hello(at, group, cookie, 0).await;
    (ws, message_seqs(&frames))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_session_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let db_settings = common::sqlite_at(&dir.path().join("kill.db"));
    let db = db_settings.url.clone();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = start(dir.path(), &db, port).await;
    let out = session_create(dir.path())
        .args(["--agent-role", "none"])
        .args(["--database-url", &db])
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let code = text
        .split("join code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a join code")
        .to_string();

    // Three children join and send as fast as the rate limit lets them, one message in
    // flight each, like the page's outbox.
    let mut kids = Vec::new();
    for name in ["Mia", "Leo", "Zoë"] {
        kids.push(socket::join(&base, &code, name).await);
    }
    let group = kids[0].group;
    let acked: std::sync::Arc<std::sync::Mutex<BTreeMap<String, i64>>> = Default::default();
    let mut tasks = Vec::new();
    for (i, kid) in kids.iter().enumerate() {
        let (mut ws, _) = connect(&base, group, &kid.cookie).await;
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            // Sends until the socket dies; returns the id that was in flight then.
            for n in 0.. {
                let id = format!("k{i}-{n}");
                if futures::SinkExt::send(
                    &mut ws,
                    tokio_tungstenite::tungstenite::Message::Text(
                        json!({"type": "send", "client_msg_id": id, "text": format!("idea {n} of child {i}")})
                            .to_string()
                            .into(),
                    ),
                )
                .await
                .is_err()
                {
                    return Some(id);
                }
                loop {
                    let frame = match tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut ws)).await {
                        Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => serde_json::from_str::<Value>(&t).unwrap(),
                        Ok(Some(Ok(_))) => continue,
                        _ => return Some(id),
                    };
                    match frame["type"].as_str() {
                        Some("ack") if frame["client_msg_id"] == id.as_str() => {
                            acked.lock().unwrap().insert(id.clone(), frame["seq"].as_i64().unwrap());
                            break;
                        }
                        Some("error") if frame["code"] == "rate_limited" => {
                            let wait = frame["retry_after_ms"].as_u64().unwrap_or(500);
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                            // The same id again, as the outbox does.
                            let _ = futures::SinkExt::send(
                                &mut ws,
                                tokio_tungstenite::tungstenite::Message::Text(
                                    json!({"type": "send", "client_msg_id": id, "text": format!("idea {n} of child {i}")})
                                        .to_string()
                                        .into(),
                                ),
                            )
                            .await;
                        }
                        _ => {}
                    }
                }
            }
            None
        }));
    }
    // Let them talk, then SIGKILL: no shutdown code runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 12 {
        assert!(Instant::now() < deadline, "too few acks before the kill");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut server = server;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let mut in_flight = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            in_flight.push(id);
        }
    }
    let acked_before: BTreeMap<String, i64> = acked.lock().unwrap().clone();

    // Restart on the same database; each child reconnects with the last seq it saw and
    // sends its in-flight message again under the same id.
    let _server = start(dir.path(), &db, port).await;
    let mut resent = BTreeMap::new();
    for (i, kid) in kids.iter().enumerate() {
        let (mut ws, replayed) = connect(&base, group, &kid.cookie).await;
        let all: BTreeSet<i64> = replayed.iter().copied().collect();
        for seq in acked_before.values() {
            assert!(
                all.contains(seq),
                "acknowledged seq {seq} is missing after the restart"
            );
        }
        if let Some(id) = in_flight
            .iter()
            .find(|id| id.starts_with(&format!("k{i}-")))
        {
            let ack = socket::say(&mut ws, id, "resent after the restart").await;
            assert_eq!(ack["type"], "ack", "{ack}");
            resent.insert(
                id.clone(),
                (
                    ack["seq"].as_i64().unwrap(),
                    ack["duplicate"].as_bool().unwrap(),
                ),
            );
        }
    }
    // The store: seq 1..N without a gap, every client id once, every ack where it said.
    let store = peerlearn::store::Store::connect(&db_settings)
        .await
        .unwrap();
    let messages = store.messages_after(group, 0, 10_000).await.unwrap();
    let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=messages.len() as i64).collect::<Vec<_>>(),
        "no gap in seq"
    );
    let ids: BTreeSet<&str> = messages.iter().map(|m| m.client_msg_id.as_str()).collect();
    assert_eq!(ids.len(), messages.len(), "no message stored twice");
    for (id, seq) in &acked_before {
        let m = messages
            .iter()
            .find(|m| &m.client_msg_id == id)
            .expect("acked message kept");
        assert_eq!(m.seq, *seq, "{id}");
    }
    for (id, (seq, duplicate)) in &resent {
        // A message committed just before the kill (but not acknowledged) comes back as a
        // duplicate with its original seq; one that was not committed is stored now.
        let m = messages.iter().find(|m| &m.client_msg_id == id).unwrap();
        assert_eq!(m.seq, *seq);
        if *duplicate {
            assert!(!acked_before.contains_key(id));
        }
    }
    store.close().await;
}

/// A throwaway PostgreSQL cluster of this test's own, which it can stop and start again.
struct Cluster {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn pg(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        cmd.arg("-D").arg(self.dir.path().join("data")).args(args);
        cmd.output().unwrap()
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let out = self.pg(&["-l", log.to_str().unwrap(), "-w", "-o", &opts, "start"]);
        assert_success(&out);
    }

    fn stop(&self) {
        let out = self.pg(&["-m", "fast", "-w", "stop"]);
        assert_success(&out);
    }

    fn new() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed (scripts/test.sh installs it)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb");
        let dir = tempfile::tempdir().unwrap();
        if running_as_root() {
            Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let mut init = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("initdb"));
            c
        } else {
            Command::new(bin.join("initdb"))
        };
        let out = init
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert_success(&out);
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
        };
        cluster.start();
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg(&["-m", "immediate", "stop"]);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A chat-only server in this process on `database`, one running group with Mia connected, and
/// the seqs of three messages she has already sent (ids `{prefix}-0..2`).
struct Session {
    srv: TestServer,
    group: i64,
    ws: Ws,
    acked: BTreeMap<String, i64>,
}

async fn session_on(database: peerlearn::config::DatabaseSettings, prefix: &str) -> Session {
    let srv = TestServer::builder()
        .database(database)
        .rooms(|r| r.rate_limit = 1000)
        .start()
        .await;
    let (_, groups) = srv.running_session(1).await;
    let (group, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = socket::join(&srv, &code, "Mia").await;
    let mut ws = socket::child_socket(&srv, group, &mia.cookie).await;
    let mut acked = BTreeMap::new();
    for n in 0..3 {
        let ack = socket::say(&mut ws, &format!("{prefix}-{n}"), "before").await;
        acked.insert(format!("{prefix}-{n}"), ack["seq"].as_i64().unwrap());
    }
    Session {
        srv,
        group,
        ws,
        acked,
    }
}

/// Sends `id` again until the database is back and it is acknowledged (as the page's outbox
/// does); its seq.
async fn acked_once_back(ws: &mut Ws, id: &str, text: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = socket::say(ws, id, text).await;
        if answer["type"] == "ack" {
            return answer["seq"].as_i64().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the room did not recover: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The group's stored messages are exactly the acknowledged ones, at their seqs, 1..N.
async fn exactly_the_acknowledged(srv: &TestServer, group: i64, acked: &BTreeMap<String, i64>) {
    let messages = srv.store().messages_after(group, 0, 100_000).await.unwrap();
    let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=messages.len() as i64).collect::<Vec<_>>(),
        "no gap in seq"
    );
    assert_eq!(
        messages.len(),
        acked.len(),
        "nothing stored twice, nothing unacknowledged kept"
    );
    for (id, seq) in acked {
        let m = messages
            .iter()
            .find(|m| &m.client_msg_id == id)
            .expect("kept");
        assert_eq!(m.seq, *seq, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_session_loses_nothing_acknowledged() {
    let cluster = Cluster::new();
    let Session {
        srv,
        group: g,
        mut ws,
        mut acked,
    } = session_on(
        peerlearn::config::DatabaseSettings {
            url: format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port),
            kind: peerlearn::config::DatabaseKind::Postgres,
            connect_timeout: Duration::from_secs(10),
        },
        "p",
    )
    .await;
    // The database goes away: a send is refused as not saved (never acknowledged), quickly.
    cluster.stop();
    let refused = socket::say(&mut ws, "p-away", "while it is away").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "internal", "{refused}");
    assert_eq!(refused["client_msg_id"], "p-away");
    // It comes back: the same room (no server restart) stores the retry once.
    cluster.start();
    let seq = acked_once_back(&mut ws, "p-away", "while it is away").await;
    acked.insert("p-away".into(), seq);
    let ack = socket::say(&mut ws, "p-after", "after").await;
    acked.insert("p-after".into(), ack["seq"].as_i64().unwrap());
    exactly_the_acknowledged(&srv, g, &acked).await;
}

/// A small filesystem of the test's own (tmpfs), unmounted when the test ends.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new(size: &str) -> SmallDisk {
        assert!(
            running_as_root(),
            "this test mounts a small filesystem to fill it: run it as root (scripts/test.sh and CI do)"
        );
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    /// Fills the disk to the last byte; returns the filler's path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        // What a whole block no longer fits into, byte by byte.
        while f.write_all(&[0]).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_then_recovers_without_a_restart() {
    let disk = SmallDisk::new("16m");
    let Session {
        srv,
        group: g,
        mut ws,
        mut acked,
    } = session_on(common::sqlite_at(&disk.dir.path().join("full.db")), "f").await;
    // The disk fills up: sooner or later a send is refused as not saved, never acknowledged.
    let filler = disk.fill();
    let long = "a slide with a ramp and a tunnel and a quiet corner for reading. ".repeat(8);
    let mut refused = None;
    for n in 0..2000 {
        let id = format!("full-{n}");
        let answer = socket::say(&mut ws, &id, &long[..480]).await;
        match answer["type"].as_str() {
            Some("ack") => {
                acked.insert(id, answer["seq"].as_i64().unwrap());
            }
            _ => {
                assert_eq!(answer["code"], "internal", "{answer}");
                assert_eq!(answer["client_msg_id"], id.as_str());
                refused = Some(id);
                break;
            }
        }
    }
    let refused = refused.expect("a write failed on the full disk");
    // Space again: the same room stores the retry, once.
    std::fs::remove_file(filler).unwrap();
    let seq = acked_once_back(&mut ws, &refused, &long[..480]).await;
    acked.insert(refused, seq);
    exactly_the_acknowledged(&srv, g, &acked).await;
    drop(srv);
}
