//! The binary as a user runs it: configuration precedence and errors, exit codes, `session
//! create`, and `serve` up to its health check and a clean shutdown.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::engine::test_model;
use common::process::{assert_success, free_port, peerlearn, session_create, KillOnDrop};

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = peerlearn(dir.path())
        .args(["serve", "--threads", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--threads"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = peerlearn(dir.path())
        .args(["serve"])
        .env("PEERLEARN_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`listen`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(dir.path().join("peerlearn.toml"), "slots = \"many\"\n").unwrap();
    let out = peerlearn(dir.path()).args(["serve"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`slots`") && err.contains("peerlearn.toml:1"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("peerlearn.toml"),
        "lisen = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = peerlearn(dir.path()).args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));

    let out = peerlearn(dir.path())
        .args(["--config", "missing.toml", "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));

    std::fs::remove_file(dir.path().join("peerlearn.toml")).unwrap();
    let out = peerlearn(dir.path())
        .args(["serve", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`database_url`"));

    // Engine tunables: the environment is checked like a flag, and a flag beats it.
    let out = peerlearn(dir.path())
        .args(["serve"])
        .env("PEERLEARN_BATCH_SIZE", "8")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`batch_size`"));
    let out = peerlearn(dir.path())
        .args(["serve", "--first-token-timeout-ms", "5"])
        .env("PEERLEARN_FIRST_TOKEN_TIMEOUT_MS", "5000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`first_token_timeout_ms`"));
}

#[test]
fn llm_url_lists_from_the_environment_and_flags_are_checked_entry_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    for (env, flags, needle) in [
        (
            "http://10.0.0.5:8081,,http://10.0.0.6:8081",
            &[][..],
            "empty entry (number 2",
        ),
        (
            "http://10.0.0.5:8081,10.0.0.6:8081",
            &[][..],
            "\"10.0.0.6:8081\"",
        ),
        (
            "http://10.0.0.5:8081",
            &["--llm-url", "http://a:1", "--llm-url", "ftp://b"][..],
            "\"ftp://b\"",
        ),
    ] {
        let out = peerlearn(dir.path())
            .arg("serve")
            .args(flags)
            .env("PEERLEARN_LLM_URL", env)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("`llm_url`") && err.contains(needle), "{err}");
    }
}

#[test]
fn bench_engine_checks_its_llm_urls_as_serve_does() {
    let dir = tempfile::tempdir().unwrap();
    for (urls, needle) in [
        ("http://127.0.0.1:9,http://127.0.0.1:9", "twice"),
        ("http://127.0.0.1:9,ftp://b", "\"ftp://b\""),
    ] {
        let out = peerlearn(dir.path())
            .args([
                "bench",
                "engine",
                "--rooms",
                "1",
                "--turns",
                "1",
                "--llm-url",
                urls,
            ])
            .env_remove("PEERLEARN_LLM_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("llm_url") && err.contains(needle), "{err}");
    }
}

#[test]
fn a_missing_or_wrong_model_fails_before_the_port_opens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.gguf"), "definitely not a model").unwrap();
    for (model, says) in [
        ("nope.gguf", "does not exist"),
        ("notes.gguf", "not a GGUF"),
    ] {
        let port = free_port();
        let out = peerlearn(dir.path())
            .args([
                "serve",
                "--model",
                model,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says) && err.contains(model), "{err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("running"));
        // The database was never created either: nothing was half-started.
        assert!(!dir.path().join("data").exists());
    }
}

#[test]
fn an_unreachable_database_is_retried_then_reported() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = session_create(dir.path())
        .args(["--database-url", "postgres://x@127.0.0.1:1/db"])
        .args(["--db-connect-timeout-secs", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn session_create_prints_join_codes_and_lists_activities_when_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let out = session_create(dir.path())
        .args(["--groups", "3", "--agent-role", "participant"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_success(&out);
    let codes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("join code ").nth(1))
        .collect();
    assert_eq!(codes.len(), 3, "{text}");
    for code in codes {
        assert!(peerlearn::join_code::normalise(code).is_some(), "{code}");
    }
    assert!(text.contains("(running)"), "started at once: {text}");
    let waiting = session_create(dir.path())
        .args(["--no-start"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&waiting.stdout).contains("(created)"));
    let nobody = session_create(dir.path())
        .args(["--facilitator", "nobody"])
        .output()
        .unwrap();
    assert_eq!(nobody.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("facilitator add"));
    assert!(
        dir.path().join("data/peerlearn.db").exists(),
        "the default database is created on first run"
    );

    let out = peerlearn(dir.path())
        .args(["session", "create", "--activity", "volcano"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    for known in ["playground", "robot-helper", "lunch-waste"] {
        assert!(err.contains(known), "{err}");
    }
    let out = session_create(dir.path())
        .args(["--agent-role", "boss"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("moderator"));
}

const METRICS_TOKEN: &str = "a-metrics-token-for-the-test";

#[test]
fn serve_prints_its_address_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = KillOnDrop(
        peerlearn(dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("PEERLEARN_MODEL", test_model())
            .env("PEERLEARN_METRICS_TOKEN", METRICS_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains(&format!("http://127.0.0.1:{port}/")),
        "{line}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let get = |path: &str, token: Option<&str>| {
            let mut req = reqwest::Client::new().get(format!("http://127.0.0.1:{port}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        // Without the token: the status only, and no metrics.
        let public: serde_json::Value = get("/healthz", None).await.unwrap().json().await.unwrap();
        assert_eq!(public, serde_json::json!({"status": "ok"}));
        assert_eq!(get("/metrics", None).await.unwrap().status(), 401);
        assert_eq!(
            get("/metrics", Some("not-the-token-at-all"))
                .await
                .unwrap()
                .status(),
            401
        );
        let health: serde_json::Value = get("/healthz", Some(METRICS_TOKEN))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        assert_eq!(health["database"], "sqlite");
        assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
        let model = health["model"].as_str().unwrap();
        assert!(!model.is_empty() && model != "none", "{health}");
        assert!(health["uptime_seconds"].is_u64());
        let metrics = get("/metrics", Some(METRICS_TOKEN)).await.unwrap();
        assert_eq!(metrics.status(), 200);
        assert!(metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = metrics.text().await.unwrap();
        assert!(text.contains("peerlearn_messages_stored_total 0"), "{text}");
    });
    // SIGTERM: a graceful stop with exit code 0.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn session_create_takes_a_retention_period() {
    let dir = tempfile::tempdir().unwrap();
    let create = |extra: &[&str]| session_create(dir.path()).args(extra).output().unwrap();
    let out = create(&[]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("data kept 180 days after it ends"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = create(&["--retention-days", "30"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("data kept 30 days"));
    std::fs::write(dir.path().join("peerlearn.toml"), "retention_days = 45\n").unwrap();
    let out = create(&[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("data kept 45 days"));
    for bad in ["0", "-5", "3651"] {
        let out = create(&["--retention-days", bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains(&format!("`retention_days` is {bad}")) && err.contains("from 1 to 3650"),
            "{bad}: {err}"
        );
    }
    let out = session_create(dir.path())
        .env("PEERLEARN_RETENTION_DAYS", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = create(&["--retention-days", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let out = peerlearn(dir.path())
        .args(["serve", "--purge-interval-minutes", "99999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("purge_interval_minutes"));
}

#[test]
fn session_create_takes_a_safety_level_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = session_create(dir.path())
        .args(["--safety-level", "strict"])
        .output()
        .unwrap();
    assert_success(&out);
    let out = session_create(dir.path())
        .args(["--safety-level", "loose"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--safety-level"), "{err}");
}

/// Starts `serve` (after the global `flags`) with its log on a pipe, and returns its first `n`
/// log lines (the model loading: they come within seconds); the server is stopped after.
fn first_log_lines(dir: &std::path::Path, flags: &[&str], n: usize) -> Vec<String> {
    let db = format!("sqlite://{}", dir.join("log.db").display());
    let mut child = KillOnDrop(
        peerlearn(dir)
            .env("PEERLEARN_LOG", "info")
            .args(flags)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--database-url", &db, "--threads", "1", "--slots", "1"])
            .arg("--model")
            .arg(test_model())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    BufReader::new(child.0.stderr.take().unwrap())
        .lines()
        .take(n)
        .map(|l| l.unwrap())
        .collect()
}

/// A log written to a file or a journal (stderr not a terminal) has no colour codes.
#[test]
fn log_lines_have_no_colour_codes_when_not_at_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let lines = first_log_lines(dir.path(), &[], 5);
    assert!(
        lines.iter().any(|l| l.contains("INFO")),
        "log lines were written: {lines:?}"
    );
    for l in &lines {
        assert!(!l.contains('\u{1b}'), "colour codes in {l:?}");
    }
}

/// `--log-format json`: every log line is one JSON object (a service journal, a collector), and
/// an unknown format is refused with the accepted ones named.
#[test]
fn log_lines_are_json_objects_with_log_format_json() {
    let dir = tempfile::tempdir().unwrap();
    let lines = first_log_lines(dir.path(), &["--log-format", "json"], 3);
    assert!(!lines.is_empty(), "log lines were written");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
        assert_eq!(v["level"], "INFO", "{l}");
        assert!(v["timestamp"].is_string() && v["fields"].is_object(), "{l}");
    }

    let bad = peerlearn(dir.path())
        .args(["--log-format", "xml", "serve"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("xml") && err.contains("json"), "{err}");
}
