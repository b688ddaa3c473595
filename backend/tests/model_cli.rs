//! `peerlearn model pull` and `model list` as a user runs them: the real binary against a file
//! server in this process (nothing reaches the internet) that serves the test model with Range
//! support, and can cut a connection halfway, ask for a token, or claim a size no disk holds.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use sha2::{Digest, Sha256};

use common::engine::test_model;
use common::process::{assert_success, free_port, peerlearn};

/// The test model's bytes, read once for all the tests.
fn model() -> Bytes {
    static MODEL: OnceLock<Bytes> = OnceLock::new();
    MODEL
        .get_or_init(|| std::fs::read(test_model()).unwrap().into())
        .clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    authorization: Option<String>,
}

/// What the server serves and how it misbehaves.
#[derive(Default)]
struct Plan {
    files: HashMap<String, Bytes>,
    /// The next this-many responses stop (the connection is broken) at this byte of the file.
    cut_at: u64,
    cuts: AtomicUsize,
    /// A path that needs `Authorization: Bearer TOKEN`, as a gated repository does.
    gated: Option<(String, String)>,
    /// A `Content-Length` to claim instead of the real one.
    claimed_length: Option<u64>,
    seen: Mutex<Vec<Seen>>,
    /// Body bytes handed to the connection so far.
    sent: AtomicU64,
}

struct FileServer {
    base: String,
    plan: Arc<Plan>,
}

impl FileServer {
    fn start(plan: Plan) -> FileServer {
        let plan = Arc::new(plan);
        let app = axum::Router::new()
            .fallback(serve_file)
            .with_state(plan.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        // Its own thread and runtime: the tests themselves are plain blocking code around the
        // binary. The thread ends with the test process.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        FileServer {
            base: format!("http://{addr}"),
            plan,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.plan.seen.lock().unwrap().clone()
    }
}

fn with_file(path: &str, bytes: Bytes) -> Plan {
    Plan {
        files: HashMap::from([(path.to_string(), bytes)]),
        ..Plan::default()
    }
}

async fn serve_file(State(plan): State<Arc<Plan>>, uri: Uri, headers: HeaderMap) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let seen = Seen {
        path: uri.path().to_string(),
        range: text(header::RANGE),
        authorization: text(header::AUTHORIZATION),
    };
    plan.seen.lock().unwrap().push(seen.clone());
    let status = |code: StatusCode| {
        Response::builder()
            .status(code)
            .body(Body::from(code.to_string()))
            .unwrap()
    };
    if let Some((path, token)) = &plan.gated {
        if *path == seen.path && seen.authorization != Some(format!("Bearer {token}")) {
            return status(StatusCode::UNAUTHORIZED);
        }
    }
    let Some(data) = plan.files.get(&seen.path).cloned() else {
        return status(StatusCode::NOT_FOUND);
    };
    let len = data.len() as u64;
    let start: Option<u64> = seen.range.as_deref().map(|r| {
        r.strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .expect("the client asks for bytes=N-")
    });
    if start.is_some_and(|s| s >= len) {
        return Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty())
            .unwrap();
    }
    let from = start.unwrap_or(0);
    let cut = plan
        .cuts
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
        .then_some(plan.cut_at);
    let sent = plan.clone();
    // Chunks made as the connection takes them, so `sent` shows how far a client read.
    let body = futures::stream::unfold(from, move |pos| {
        let data = data.clone();
        let plan = sent.clone();
        async move {
            if cut.is_some_and(|c| pos >= c) {
                return Some((Err(std::io::Error::other("cut")), u64::MAX));
            }
            if pos >= data.len() as u64 {
                return None;
            }
            let end = (pos + 64 * 1024)
                .min(data.len() as u64)
                .min(cut.unwrap_or(u64::MAX));
            plan.sent.fetch_add(end - pos, Ordering::SeqCst);
            Some((Ok(data.slice(pos as usize..end as usize)), end))
        }
    });
    let mut response = Response::builder()
        .header(
            header::CONTENT_LENGTH,
            plan.claimed_length.unwrap_or(len - from),
        )
        .header(header::ACCEPT_RANGES, "bytes");
    if start.is_some() {
        response = response.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {from}-{}/{len}", len - 1),
        );
    }
    response.body(Body::from_stream(body)).unwrap()
}

/// `peerlearn model pull ARGS` in `dir`, with none of the developer's Hugging Face settings.
fn pull(dir: &Path, args: &[&str]) -> Output {
    pull_with(dir, args, &[])
}

fn pull_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = peerlearn(dir);
    cmd.args(["model", "pull"])
        .args(args)
        .env_remove("HF_TOKEN")
        .env_remove("HF_ENDPOINT")
        .envs(env.iter().copied());
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The names in `dir` (none when it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn models(dir: &Path) -> PathBuf {
    dir.join("models")
}

fn assert_is_the_model(path: &Path) {
    let got = std::fs::read(path).unwrap();
    assert!(
        got == model(),
        "{} differs from the test model",
        path.display()
    );
}

#[test]
fn a_pull_saves_the_whole_file_in_the_models_folder_and_prints_its_checksum() {
    let server = FileServer::start(with_file("/files/SmolLM2.gguf", model()));
    let dir = tempfile::tempdir().unwrap();
    let out = pull(dir.path(), &[&server.url("/files/SmolLM2.gguf")]);
    assert_success(&out);
    let saved = models(dir.path()).join("SmolLM2.gguf");
    assert_is_the_model(&saved);
    assert_eq!(names(&models(dir.path())), ["SmolLM2.gguf"]);
    let sha = sha256_hex(&model());
    let said = stdout(&out);
    assert!(said.contains(&format!("--sha256 {sha}")), "{said}");
    assert!(
        said.contains("llama, chat template chatml, context 8192 tokens"),
        "{said}"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].range, None);
    // No token goes to a server that is not Hugging Face's, even when one is set.
    let again = pull_with(
        dir.path(),
        &[
            &server.url("/files/SmolLM2.gguf"),
            "--force",
            "--sha256",
            &sha,
        ],
        &[("HF_TOKEN", "hf_secret")],
    );
    assert_success(&again);
    assert!(
        stdout(&again).contains("(matches --sha256)"),
        "{}",
        stdout(&again)
    );
    assert_eq!(server.seen()[1].authorization, None);
    assert_is_the_model(&saved);
}

#[test]
fn a_broken_download_resumes_on_the_next_run_with_a_range_request() {
    let len = model().len() as u64;
    let server = FileServer::start(Plan {
        cut_at: len / 2,
        cuts: AtomicUsize::new(1),
        ..with_file("/m.gguf", model())
    });
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/m.gguf");
    let out = pull(dir.path(), &[&url, "--retries", "0"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    assert_eq!(names(&models(dir.path())), ["m.gguf.part"]);
    let kept = std::fs::metadata(models(dir.path()).join("m.gguf.part"))
        .unwrap()
        .len();
    assert!(kept > 0 && kept <= len / 2, "{kept} of {len} kept");

    let out = pull(dir.path(), &[&url]);
    assert_success(&out);
    assert!(stderr(&out).contains("resuming"), "{}", stderr(&out));
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].range.as_deref(), Some(&*format!("bytes={kept}-")));
    assert_is_the_model(&models(dir.path()).join("m.gguf"));
    assert_eq!(names(&models(dir.path())), ["m.gguf"]);
    assert!(stdout(&out).contains(&sha256_hex(&model())));
}

#[test]
fn a_broken_connection_is_retried_within_the_run() {
    let len = model().len() as u64;
    let server = FileServer::start(Plan {
        cut_at: len / 3,
        cuts: AtomicUsize::new(2),
        ..with_file("/m.gguf", model())
    });
    let dir = tempfile::tempdir().unwrap();
    let out = pull(dir.path(), &[&server.url("/m.gguf")]);
    assert_success(&out);
    assert!(stderr(&out).contains("trying again"), "{}", stderr(&out));
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].range, None);
    for s in &seen[1..] {
        let from: u64 = s
            .range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a retry without a range: {seen:?}"));
        assert!(from > 0 && from <= len / 3, "{seen:?}");
    }
    assert_is_the_model(&models(dir.path()).join("m.gguf"));
}

#[test]
fn a_wrong_checksum_keeps_nothing() {
    let server = FileServer::start(with_file("/m.gguf", model()));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/m.gguf");
    let out = pull(dir.path(), &[&url, "--sha256", &"0".repeat(64)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("SHA-256") && err.contains(&sha256_hex(&model())),
        "{err}"
    );
    assert!(names(&models(dir.path())).is_empty());

    let out = pull(dir.path(), &[&url, "--sha256", "abc"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("64 hexadecimal digits"), "{err}");
    assert_eq!(
        server.seen().len(),
        1,
        "a bad --sha256 asks the server nothing"
    );
}

#[test]
fn a_file_that_is_not_gguf_stops_the_download_at_once_and_keeps_nothing() {
    let mut page = b"<!DOCTYPE html><html><body>Sign in</body></html>".to_vec();
    page.resize(64 << 20, b' ');
    let server = FileServer::start(with_file("/login.gguf", page.into()));
    let dir = tempfile::tempdir().unwrap();
    let out = pull(dir.path(), &[&server.url("/login.gguf")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is not a GGUF model") && err.contains("a web page"),
        "{err}"
    );
    assert!(names(&models(dir.path())).is_empty());
    // It stopped reading early: what the connection took is a few buffers, not 64 MiB.
    let sent = server.plan.sent.load(Ordering::SeqCst);
    assert!(sent < 32 << 20, "{sent} bytes were sent");
}

#[test]
fn http_errors_are_clear_and_keep_nothing() {
    let server = FileServer::start(with_file("/m.gguf", model()));
    let dir = tempfile::tempdir().unwrap();
    let out = pull(dir.path(), &[&server.url("/missing.gguf")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("404 Not Found"), "{err}");
    assert!(names(&models(dir.path())).is_empty());

    // Nobody listening: retried as asked, then reported, and nothing left behind.
    let nobody = format!("http://127.0.0.1:{}/m.gguf", free_port());
    let out = pull(dir.path(), &[&nobody, "--retries", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("failed 2 times in a row") && err.contains("nothing was kept"),
        "{err}"
    );
    assert!(names(&models(dir.path())).is_empty());
}

#[test]
fn hf_sources_use_the_endpoint_and_the_token() {
    let path = "/bartowski/Small-GGUF/resolve/main/Small-Q4.gguf";
    let server = FileServer::start(Plan {
        gated: Some((path.into(), "hf_secret".into())),
        ..with_file(path, model())
    });
    let dir = tempfile::tempdir().unwrap();
    let source = "hf:bartowski/Small-GGUF/Small-Q4.gguf";
    let endpoint = [("HF_ENDPOINT", server.base.as_str())];
    let out = pull_with(dir.path(), &[source], &endpoint);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("401") && err.contains("gated") && err.contains("HF_TOKEN"),
        "{err}"
    );
    assert!(names(&models(dir.path())).is_empty());

    let out = pull_with(
        dir.path(),
        &[source],
        &[endpoint[0], ("HF_TOKEN", "hf_secret")],
    );
    assert_success(&out);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].path, path);
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer hf_secret"));
    assert_is_the_model(&models(dir.path()).join("Small-Q4.gguf"));
}

#[test]
fn an_existing_model_is_not_overwritten_without_force() {
    let server = FileServer::start(with_file("/m.gguf", model()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(models(dir.path())).unwrap();
    let existing = models(dir.path()).join("m.gguf");
    std::fs::write(&existing, "the teacher's own model").unwrap();
    let out = pull(dir.path(), &[&server.url("/m.gguf")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("exists already") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "the teacher's own model"
    );
    assert!(
        server.seen().is_empty(),
        "nothing is downloaded to be thrown away"
    );

    let out = pull(dir.path(), &[&server.url("/m.gguf"), "--force"]);
    assert_success(&out);
    assert_is_the_model(&existing);
}

#[test]
fn a_full_disk_is_a_clear_error() {
    // A size no disk holds: refused before a byte is written.
    let server = FileServer::start(Plan {
        claimed_length: Some(1 << 60),
        ..with_file("/m.gguf", model())
    });
    let dir = tempfile::tempdir().unwrap();
    let out = pull(dir.path(), &[&server.url("/m.gguf")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not enough space"), "{err}");
    assert!(names(&models(dir.path())).is_empty());

    // A disk that fills while writing: the unfinished download is /dev/full, whose writes
    // fail with ENOSPC.
    let server = FileServer::start(with_file("/m.gguf", model()));
    std::fs::create_dir_all(models(dir.path())).unwrap();
    std::os::unix::fs::symlink("/dev/full", models(dir.path()).join("m.gguf.part")).unwrap();
    let out = pull(dir.path(), &[&server.url("/m.gguf")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the disk is full") && err.contains("run the same command again"),
        "{err}"
    );
    assert!(!models(dir.path()).join("m.gguf").exists());
}

#[test]
fn model_list_reads_each_header() {
    let dir = tempfile::tempdir().unwrap();
    let out = peerlearn(dir.path())
        .args(["model", "list"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        stdout(&out).contains("no models in models"),
        "{}",
        stdout(&out)
    );

    let folder = models(dir.path());
    std::fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(test_model(), folder.join("default.gguf")).unwrap();
    let out = peerlearn(dir.path())
        .args(["model", "list"])
        .output()
        .unwrap();
    assert_success(&out);
    let table = stdout(&out);
    let row = table
        .lines()
        .find(|l| l.starts_with("default.gguf"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["default.gguf", "93.8", "MiB", "llama", "chatml", "8192"],
        "{table}"
    );
    assert!(table.starts_with("NAME"), "{table}");

    // A download cut short at 100 kB, a text file, and an unfinished download.
    std::fs::write(folder.join("cut.gguf"), &model()[..100_000]).unwrap();
    std::fs::write(folder.join("notes.gguf"), "my notes about models").unwrap();
    std::fs::write(folder.join("next.gguf.part"), &model()[..1000]).unwrap();
    let out = peerlearn(dir.path())
        .args(["model", "list", "--dir", "models"])
        .output()
        .unwrap();
    let table = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 of the .gguf files in models cannot be read"),
        "{}",
        stderr(&out)
    );
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {table}"))
            .to_string()
    };
    assert!(
        row("cut.gguf").contains("unreadable: it is truncated"),
        "{table}"
    );
    assert!(row("notes.gguf").contains("not a GGUF file"), "{table}");
    assert!(
        row("next.gguf.part").contains("unfinished download"),
        "{table}"
    );
    assert!(row("default.gguf").contains("chatml"), "{table}");
}
