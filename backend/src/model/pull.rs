//! `peerlearn model pull`: one command from a model's address to a file the server can load.
//!
//! A school's connection is slow and breaks, and a model is gigabytes, so the download goes to
//! `NAME.gguf.part` and resumes with an HTTP Range request, both after a broken connection in
//! the same run (a few retries with backoff) and in the next run. The file gets its real name
//! only by a rename once it is complete, its SHA-256 checked and its GGUF header read, so a
//! `models/` folder never holds a half-written model under a name `--model` would load. The
//! first bytes are checked for the GGUF magic as soon as they arrive: a web page (a login
//! page, a wrong link) stops the download at once.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::gguf::{GgufError, MAGIC};
use super::list::{self, human_size, ModelInfo};
use super::progress::Progress;

/// What an unfinished download's file name ends with.
pub const PART_SUFFIX: &str = ".part";
/// Hugging Face's public server; `HF_ENDPOINT` names a mirror (or a test server).
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for the next bytes before the connection counts as broken (and is retried).
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Bytes gathered before a write: few system calls, and little lost on a crash.
const WRITE_BUFFER: usize = 1 << 20;

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    /// `hf:OWNER/REPO/FILE`, FILE possibly in a folder of the repository.
    HuggingFace {
        owner: String,
        repo: String,
        file: String,
    },
}

impl Source {
    pub fn parse(text: &str) -> Result<Source, PullError> {
        let bad = |why: &str| PullError::BadSource(format!("{text:?}: {why}"));
        if let Some(rest) = text.strip_prefix("hf:") {
            let mut parts = rest.splitn(3, '/');
            let (Some(owner), Some(repo), Some(file)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected hf:OWNER/REPO/FILE, e.g. hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf"));
            };
            let fine = |s: &str| {
                !s.is_empty()
                    && s != "."
                    && s != ".."
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            };
            if !fine(owner) || !fine(repo) || !file.split('/').all(fine) {
                return Err(bad(
                    "the owner, repository and file may hold letters, digits, `-`, `_` and `.`",
                ));
            }
            return Ok(Source::HuggingFace {
                owner: owner.into(),
                repo: repo.into(),
                file: file.into(),
            });
        }
        let url = reqwest::Url::parse(text)
            .map_err(|e| bad(&format!("not a URL ({e}) nor hf:OWNER/REPO/FILE")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http:// and https:// addresses can be downloaded"));
        }
        Ok(Source::Url(text.into()))
    }

    /// The address to download from.
    pub fn url(&self, hf_endpoint: &str) -> String {
        match self {
            Source::Url(u) => u.clone(),
            Source::HuggingFace { owner, repo, file } => format!(
                "{}/{owner}/{repo}/resolve/main/{file}",
                hf_endpoint.trim_end_matches('/')
            ),
        }
    }

    /// The name the file is saved as unless `--name` says: the last part of its path.
    pub fn file_name(&self) -> Option<String> {
        let path = match self {
            Source::HuggingFace { file, .. } => file.clone(),
            Source::Url(u) => reqwest::Url::parse(u).ok()?.path().to_string(),
        };
        let last = path.rsplit('/').next()?;
        check_name(last).ok().map(str::to_string)
    }
}

/// A name the file may be saved as: one plain file name ending in `.gguf`.
fn check_name(name: &str) -> Result<&str, PullError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.to_ascii_lowercase().ends_with(".gguf");
    if plain {
        Ok(name)
    } else {
        Err(PullError::BadSource(format!(
            "{name:?} is not a file name ending in .gguf; pass --name NAME.gguf"
        )))
    }
}

/// What to download, where to, and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub source: Source,
    /// The models folder (created when missing).
    pub dir: PathBuf,
    /// The file name, when the source's last part is not the one wanted.
    pub name: Option<String>,
    /// The expected SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// Replace a file of the same name.
    pub force: bool,
    pub hf_endpoint: String,
    /// Sent as a bearer token to Hugging Face (gated repositories), never to other servers.
    pub hf_token: Option<String>,
    /// Failed attempts in a row (without a new byte) retried before giving up.
    pub retries: u32,
}

/// A finished download.
#[derive(Debug)]
pub struct Pulled {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// The SHA-256 was compared with `--sha256`.
    pub checked: bool,
    /// None when the header is of a newer GGUF version than this reader knows.
    pub info: Option<ModelInfo>,
}

/// Why a pull failed. [`PullError::is_usage`] tells the user's mistakes (exit 2) from failures.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("bad model source {0}")]
    BadSource(String),
    #[error("--sha256 must be 64 hexadecimal digits, not {0:?}")]
    BadChecksum(String),
    #[error("{0} exists already; pass --force to replace it")]
    Exists(PathBuf),
    #[error("cannot create the models folder {path}: {cause}")]
    Folder {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{url} answered 404 Not Found: check the address (for Hugging Face: the owner, repository and file name, which are case-sensitive)")]
    NotFound { url: String },
    #[error("{url} answered {status}{hint}")]
    Unauthorized {
        url: String,
        status: StatusCode,
        hint: &'static str,
    },
    #[error("{url} answered {status}")]
    Http { url: String, status: StatusCode },
    #[error("the download from {url} failed {attempts} times in a row ({cause}); {next}")]
    Broken {
        url: String,
        attempts: u32,
        cause: String,
        /// What was kept and how to go on.
        next: String,
    },
    #[error(
        "{url} is not a GGUF model: it starts with {start:?}, not \"GGUF\"{hint}; nothing was kept"
    )]
    NotGguf {
        url: String,
        start: String,
        hint: &'static str,
    },
    #[error("the downloaded file {0}; it was removed")]
    BadHeader(GgufError),
    #[error("the SHA-256 of the download is {actual}, not {expected} as --sha256 says; the file was removed")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("not enough space in {dir}: the download needs {needs} more, only {free} are free")]
    NoSpace {
        dir: PathBuf,
        needs: String,
        free: String,
    },
    #[error("the disk is full while writing {0}: free some space and run the same command again to resume")]
    DiskFull(PathBuf),
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot start the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl PullError {
    /// The user asked for something wrong (exit 2), rather than the download failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            PullError::BadSource(_) | PullError::BadChecksum(_) | PullError::Exists(_)
        )
    }
}

/// `--sha256 HEX` as bytes.
pub fn parse_sha256(hex_text: &str) -> Result<[u8; 32], PullError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text.trim(), &mut out)
        .map_err(|_| PullError::BadChecksum(hex_text.into()))?;
    Ok(out)
}

/// Downloads `req.source` into `req.dir`, resuming an unfinished download of the same name.
pub async fn pull(req: &Request, progress: &mut dyn Progress) -> Result<Pulled, PullError> {
    let url = req.source.url(&req.hf_endpoint);
    let name = match &req.name {
        Some(n) => check_name(n)?.to_string(),
        None => req.source.file_name().ok_or_else(|| {
            PullError::BadSource(format!(
                "{url:?}: its last part is not a file name ending in .gguf; pass --name NAME.gguf"
            ))
        })?,
    };
    let target = req.dir.join(&name);
    // Before any network traffic: an existing model is never replaced by surprise.
    // (`symlink_metadata`: a link to a model elsewhere counts as a model here.)
    if target.symlink_metadata().is_ok() && !req.force {
        return Err(PullError::Exists(target));
    }
    std::fs::create_dir_all(&req.dir).map_err(|cause| PullError::Folder {
        path: req.dir.clone(),
        cause,
    })?;
    let hugging_face = sends_token(&req.source, &url, &req.hf_endpoint);
    let token = req.hf_token.as_deref().filter(|_| hugging_face);
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(concat!("peerlearn/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(PullError::Client)?;

    let part_path = req.dir.join(format!("{name}{PART_SUFFIX}"));
    let mut part = Part::open(&part_path, progress)?;
    let mut failures = 0;
    loop {
        let before = part.written();
        let to = Server {
            url: &url,
            token,
            hugging_face,
        };
        let outcome = attempt(&client, &to, &req.dir, &mut part, progress).await;
        progress.finish();
        match outcome {
            Ok(()) => break,
            Err(Failed::Fatal(e)) => {
                if part.written() == 0 || matches!(e, PullError::NotGguf { .. }) {
                    part.remove();
                }
                return Err(e);
            }
            Err(Failed::Retry(cause)) => {
                // A try that brought new bytes is progress: only failures in a row count.
                if part.written() > before {
                    failures = 0;
                }
                failures += 1;
                if failures > req.retries {
                    part.flush()?;
                    let next = if part.written() == 0 {
                        part.remove();
                        "nothing was kept".to_string()
                    } else {
                        format!(
                            "{} kept in {}: run the same command again to resume",
                            human_size(part.written()),
                            part_path.display()
                        )
                    };
                    return Err(PullError::Broken {
                        url,
                        attempts: failures,
                        cause,
                        next,
                    });
                }
                let wait = FIRST_BACKOFF
                    .saturating_mul(1 << (failures - 1).min(5))
                    .min(MAX_BACKOFF);
                progress.note(&format!(
                    "the download broke off ({cause}); trying again in {} s from {}",
                    wait.as_secs(),
                    human_size(part.written())
                ));
                tokio::time::sleep(wait).await;
            }
        }
    }
    part.finish(&target, req.sha256)
}

/// The token goes to Hugging Face only: an `hf:` source, or an address on the endpoint.
fn sends_token(source: &Source, url: &str, endpoint: &str) -> bool {
    matches!(source, Source::HuggingFace { .. })
        || url.starts_with(&format!("{}/", endpoint.trim_end_matches('/')))
}

/// How one attempt ended badly.
enum Failed {
    /// Worth another try (a broken connection, a server error).
    Retry(String),
    Fatal(PullError),
}

impl From<PullError> for Failed {
    fn from(e: PullError) -> Failed {
        Failed::Fatal(e)
    }
}

/// Where one attempt goes.
struct Server<'a> {
    url: &'a str,
    token: Option<&'a str>,
    /// The address is Hugging Face's (a 401 then gets the hint about gated repositories).
    hugging_face: bool,
}

async fn attempt(
    client: &reqwest::Client,
    to: &Server<'_>,
    dir: &Path,
    part: &mut Part,
    progress: &mut dyn Progress,
) -> Result<(), Failed> {
    let (url, token) = (to.url, to.token);
    let from = part.written();
    let mut request = client.get(url);
    if from > 0 {
        request = request.header(RANGE, format!("bytes={from}-"));
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failed::Retry(error_chain(&e)))?;
    let status = response.status();
    let range = response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(ContentRange::parse);
    let total = match status {
        StatusCode::PARTIAL_CONTENT => match range {
            Some(r) if r.start == Some(from) => r.total,
            _ => {
                // The server sent another part than the one asked for: start over.
                progress
                    .note("the server did not resume where the download stopped; starting again");
                part.restart()?;
                return Err(Failed::Retry("a resume at the wrong byte".into()));
            }
        },
        StatusCode::OK => {
            if from > 0 {
                progress.note("the server cannot resume a download; starting again from the start");
                part.restart()?;
            }
            response.content_length()
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            if range.and_then(|r| r.total) == Some(from) {
                // The last run had everything but had not renamed it yet.
                return Ok(());
            }
            progress.note("the unfinished download is longer than the file; starting again");
            part.restart()?;
            return Err(Failed::Retry("a stale unfinished download".into()));
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let hint = if token.is_some() {
                ": HF_TOKEN is not accepted for this repository (accept its licence on its Hugging Face page with the account the token belongs to)"
            } else if to.hugging_face {
                ": the repository may be gated; accept its licence on its Hugging Face page, then set HF_TOKEN to an access token of that account"
            } else {
                ""
            };
            return Err(PullError::Unauthorized {
                url: url.into(),
                status,
                hint,
            }
            .into());
        }
        StatusCode::NOT_FOUND => return Err(PullError::NotFound { url: url.into() }.into()),
        s if s == StatusCode::REQUEST_TIMEOUT
            || s == StatusCode::TOO_MANY_REQUESTS
            || s.is_server_error() =>
        {
            return Err(Failed::Retry(format!("the server answered {s}")));
        }
        s => {
            return Err(PullError::Http {
                url: url.into(),
                status: s,
            }
            .into())
        }
    };
    if let Some(total) = total {
        check_space(dir, total.saturating_sub(part.written()))?;
    }
    progress.start(part.written(), total);
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Failed::Retry(error_chain(&e)))?;
        part.write(&chunk, url)?;
        progress.advance(part.written());
    }
    part.flush()?;
    match total {
        Some(total) if part.written() < total => Err(Failed::Retry(format!(
            "the connection closed after {} of {}",
            human_size(part.written()),
            human_size(total)
        ))),
        _ if part.written() < MAGIC.len() as u64 => Err(PullError::NotGguf {
            url: url.into(),
            start: String::from_utf8_lossy(&part.pending).into_owned(),
            hint: "",
        }
        .into()),
        _ => Ok(()),
    }
}

/// An error with its causes (reqwest's own message alone is often just "error decoding body").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL` on a 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    start: Option<u64>,
    total: Option<u64>,
}

impl ContentRange {
    fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes ")?;
        let (span, total) = rest.split_once('/')?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse().ok()?),
        };
        let start = match span.trim() {
            "*" => None,
            s => Some(s.split_once('-')?.0.parse().ok()?),
        };
        Some(ContentRange { start, total })
    }
}

/// Refuses to start a download the disk cannot hold. When the free space cannot be asked for,
/// the writes themselves find out (and say "the disk is full").
fn check_space(dir: &Path, needs: u64) -> Result<(), PullError> {
    let Ok(stat) = rustix::fs::statvfs(dir) else {
        return Ok(());
    };
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    if free < needs {
        return Err(PullError::NoSpace {
            dir: dir.into(),
            needs: human_size(needs),
            free: human_size(free),
        });
    }
    Ok(())
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

/// The `.part` file being written, and the SHA-256 of what it holds so far.
///
/// Writes are plain blocking writes: the command does nothing else meanwhile, and a buffered
/// write of a chunk is a copy in memory most of the time.
struct Part {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    /// Bytes written (to the buffer or the file).
    written: u64,
    /// The first bytes of a new file, held until there are enough to check the magic.
    pending: Vec<u8>,
}

impl Part {
    /// Opens the unfinished download at `path`, or a new one. What it holds already is hashed
    /// (the checksum covers the whole file); one that is not a GGUF start is dropped.
    fn open(path: &Path, progress: &mut dyn Progress) -> Result<Part, PullError> {
        let write_err = |cause| PullError::Write {
            path: path.into(),
            cause,
        };
        let mut hasher = Sha256::new();
        let mut written = 0;
        if let Ok(mut file) = std::fs::File::open(path) {
            let len = file.metadata().map_err(write_err)?.len();
            let mut magic = [0u8; 4];
            let starts_right = len >= 4 && file.read_exact(&mut magic).is_ok() && &magic == MAGIC;
            if starts_right {
                progress.note(&format!(
                    "resuming the unfinished download ({} already here)",
                    human_size(len)
                ));
                file.rewind().map_err(write_err)?;
                written = std::io::copy(&mut file, &mut hasher).map_err(write_err)?;
            } else if len > 0 {
                drop(file);
                std::fs::remove_file(path).map_err(write_err)?;
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(write_err)?;
        Ok(Part {
            path: path.into(),
            file: std::io::BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher,
            written,
            pending: Vec::new(),
        })
    }

    /// Bytes of the file received so far (the first few may still wait for the magic check).
    fn written(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    fn io_error(&self, cause: std::io::Error) -> PullError {
        if is_disk_full(&cause) {
            PullError::DiskFull(self.path.clone())
        } else {
            PullError::Write {
                path: self.path.clone(),
                cause,
            }
        }
    }

    fn write(&mut self, chunk: &[u8], url: &str) -> Result<(), PullError> {
        if self.written < MAGIC.len() as u64 {
            self.pending.extend_from_slice(chunk);
            if self.pending.len() < MAGIC.len() {
                return Ok(());
            }
            if &self.pending[..4] != MAGIC {
                let start: String =
                    String::from_utf8_lossy(&self.pending[..self.pending.len().min(16)])
                        .chars()
                        .map(|c| if c.is_control() { '.' } else { c })
                        .collect();
                let hint = if start.trim_start().starts_with('<') {
                    " (a web page: for Hugging Face use the file's `resolve` address, or hf:OWNER/REPO/FILE)"
                } else {
                    ""
                };
                return Err(PullError::NotGguf {
                    url: url.into(),
                    start,
                    hint,
                });
            }
            let head = std::mem::take(&mut self.pending);
            return self.append(&head);
        }
        self.append(chunk)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), PullError> {
        self.file.write_all(bytes).map_err(|e| self.io_error(e))?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PullError> {
        self.file.flush().map_err(|e| self.io_error(e))
    }

    /// Empties the file to download it again from its first byte.
    fn restart(&mut self) -> Result<(), PullError> {
        self.flush()?;
        self.file
            .get_ref()
            .set_len(0)
            .map_err(|e| self.io_error(e))?;
        self.hasher = Sha256::new();
        self.written = 0;
        self.pending.clear();
        Ok(())
    }

    fn remove(&mut self) {
        let _ = self.file.flush();
        let _ = std::fs::remove_file(&self.path);
    }

    /// Checks the complete file and gives it its name: the checksum, then the header.
    fn finish(mut self, target: &Path, expected: Option<[u8; 32]>) -> Result<Pulled, PullError> {
        self.flush()?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(|e| self.io_error(e))?;
        let actual: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if let Some(expected) = expected {
            if actual != expected {
                self.remove();
                return Err(PullError::ChecksumMismatch {
                    expected: hex::encode(expected),
                    actual: hex::encode(actual),
                });
            }
        }
        let info = match list::info(&self.path) {
            Ok(info) => Some(info),
            // A newer format than this reader knows is no reason to throw the file away.
            Err(GgufError::UnsupportedVersion(_)) => None,
            Err(e) => {
                self.remove();
                return Err(PullError::BadHeader(e));
            }
        };
        std::fs::rename(&self.path, target).map_err(|e| self.io_error(e))?;
        Ok(Pulled {
            path: target.into(),
            size: self.written,
            sha256: hex::encode(actual),
            checked: expected.is_some(),
            info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_their_file_names() {
        let hf = Source::parse(
            "hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        )
        .unwrap();
        assert_eq!(
            hf.url("https://huggingface.co/"),
            "https://huggingface.co/bartowski/Llama-3.2-3B-Instruct-GGUF/resolve/main/Llama-3.2-3B-Instruct-Q4_K_M.gguf"
        );
        assert_eq!(
            hf.file_name().as_deref(),
            Some("Llama-3.2-3B-Instruct-Q4_K_M.gguf")
        );
        let nested = Source::parse("hf:o/r/q4/m.gguf").unwrap();
        assert_eq!(nested.file_name().as_deref(), Some("m.gguf"));
        let url = Source::parse("https://example.org/models/m.GGUF?download=1").unwrap();
        assert_eq!(url.file_name().as_deref(), Some("m.GGUF"));
        assert_eq!(
            Source::parse("https://example.org/get?id=3")
                .unwrap()
                .file_name(),
            None
        );
        for bad in [
            "hf:owner/repo",
            "hf:owner/../x.gguf",
            "hf:o/r/a b.gguf",
            "ftp://x/m.gguf",
            "models/m.gguf",
        ] {
            let err = Source::parse(bad).unwrap_err();
            assert!(err.is_usage(), "{bad}: {err}");
        }
        assert!(check_name("../m.gguf").is_err());
        assert!(check_name(".gguf").is_err());
        assert!(check_name("m.bin").is_err());
    }

    #[test]
    fn checksums_and_content_ranges_are_parsed() {
        assert!(parse_sha256(&"ab".repeat(32)).is_ok());
        assert!(parse_sha256("abc").unwrap_err().is_usage());
        assert!(parse_sha256(&"zz".repeat(32)).is_err());
        assert_eq!(
            ContentRange::parse("bytes 100-199/200"),
            Some(ContentRange {
                start: Some(100),
                total: Some(200)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes */200"),
            Some(ContentRange {
                start: None,
                total: Some(200)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 0-9/*"),
            Some(ContentRange {
                start: Some(0),
                total: None
            })
        );
        assert_eq!(ContentRange::parse("items 0-9/10"), None);
    }

    #[test]
    fn the_token_goes_to_hugging_face_only() {
        let hf = Source::parse("hf:o/r/m.gguf").unwrap();
        assert!(sends_token(
            &hf,
            &hf.url(DEFAULT_HF_ENDPOINT),
            DEFAULT_HF_ENDPOINT
        ));
        let on_hf = Source::parse("https://huggingface.co/o/r/resolve/main/m.gguf").unwrap();
        assert!(sends_token(&on_hf, &on_hf.url(""), DEFAULT_HF_ENDPOINT));
        let elsewhere = Source::parse("https://huggingface.co.evil.example/m.gguf").unwrap();
        assert!(!sends_token(
            &elsewhere,
            &elsewhere.url(""),
            DEFAULT_HF_ENDPOINT
        ));
    }

    #[test]
    fn a_full_disk_is_told_apart() {
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(28)));
        assert!(!is_disk_full(&std::io::Error::from_raw_os_error(13)));
    }
}
