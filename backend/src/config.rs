//! Configuration: command-line flag > `PEERLEARN_*` environment variable > `peerlearn.toml` >
//! built-in default.
//!
//! clap resolves the first two layers (every flag carries an `env`), the file is read here, and
//! [`Settings`] is the one resolved, validated view the rest of the program sees. A bad value is
//! reported as a [`ConfigError`] naming the key and the form it expects; the binary exits with 2.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::engine::EngineConfig;

/// The file read when `--config` is not given (only if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "peerlearn.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/peerlearn.db";
pub const DEFAULT_MODEL: &str = "models/default.gguf";
pub const DEFAULT_PROMPTS_DIR: &str = "prompts";
pub const DEFAULT_DB_CONNECT_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_SLOTS: u32 = 16;
pub const DEFAULT_CONTEXT_PER_SLOT: u32 = 2048;
pub const DEFAULT_PURGE_INTERVAL_MINUTES: u64 = 60;
pub const MAX_PURGE_INTERVAL_MINUTES: u64 = 10_080;

/// A configuration value that cannot be used. The message names the key and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: `{key}` {problem}; expected {expected}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
    pub expected: String,
}

impl ConfigError {
    fn new(key: &str, problem: impl Into<String>, expected: &str) -> Self {
        ConfigError {
            key: key.to_string(),
            problem: problem.into(),
            expected: expected.to_string(),
        }
    }
}

/// Where the configuration file is, shared by every subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigFileArg {
    /// Configuration file (TOML). Without this flag `peerlearn.toml` in the working directory is
    /// read when it exists.
    #[arg(long, env = "PEERLEARN_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

/// The database flags, shared by every subcommand that touches the store.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DatabaseArgs {
    /// Database: `sqlite://PATH` (embedded, created on first run) or `postgres://USER@HOST/DB`.
    /// [file key: database_url] [default: sqlite://data/peerlearn.db]
    #[arg(long, env = "PEERLEARN_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// How long to keep retrying (with backoff) while the database is unreachable at start.
    /// [file key: db_connect_timeout_secs] [default: 30]
    #[arg(
        long,
        env = "PEERLEARN_DB_CONNECT_TIMEOUT_SECS",
        value_name = "SECONDS"
    )]
    pub db_connect_timeout_secs: Option<u64>,
}

/// How long a new session's data is kept: `serve` (the dashboard's default) and
/// `session create`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RetentionArgs {
    /// Days a new session's data is kept after the session ended (1 to 3650); then `peerlearn
    /// purge`, or the timer inside `serve`, deletes it. [file key: retention_days] [default: 180]
    #[arg(
        long,
        env = "PEERLEARN_RETENTION_DAYS",
        value_name = "DAYS",
        allow_negative_numbers = true
    )]
    pub retention_days: Option<i64>,
}

impl RetentionArgs {
    /// The retention period in days: flag or environment, else the file, else 180.
    pub fn resolve(&self, file: &FileConfig) -> Result<u32, ConfigError> {
        let days = pick(&self.retention_days, &file.retention_days)
            .unwrap_or(i64::from(crate::store::DEFAULT_RETENTION_DAYS));
        crate::store::check_retention_days(days).map_err(|_| {
            ConfigError::new(
                "retention_days",
                format!("is {days}"),
                &format!(
                    "a whole number of days from 1 to {}",
                    crate::store::MAX_RETENTION_DAYS
                ),
            )
        })
    }
}

/// The engine flags, shared by `serve` and the commands that run the agent.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EngineArgs {
    /// GGUF model for the embedded engine (a Llama 3 Instruct GGUF for classrooms).
    /// [file key: model] [default: models/default.gguf]
    #[arg(long, env = "PEERLEARN_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Use a remote OpenAI-compatible engine (llama-server, vLLM, Ollama) at this base URL
    /// instead of the embedded one. Repeat the flag or separate URLs with commas for replicas
    /// of one model: each room sticks to one, and moves when it is down.
    /// [file key: llm_url, a string or an array]
    #[arg(
        long,
        env = "PEERLEARN_LLM_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub llm_url: Vec<String>,

    /// API key sent as a bearer token to the remote engine. [file key: llm_api_key]
    #[arg(
        long,
        env = "PEERLEARN_LLM_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub llm_api_key: Option<String>,

    /// CPU threads for the embedded engine. [file key: threads] [default: the machine's cores]
    #[arg(long, env = "PEERLEARN_THREADS", value_name = "N")]
    pub threads: Option<u32>,

    /// Rooms whose conversation stays resident in the model's cache at once.
    /// [file key: slots] [default: 16]
    #[arg(long, env = "PEERLEARN_SLOTS", value_name = "N")]
    pub slots: Option<u32>,

    /// Context window (tokens) each room slot gets. [file key: context_per_slot] [default: 2048]
    #[arg(long, env = "PEERLEARN_CONTEXT_PER_SLOT", value_name = "TOKENS")]
    pub context_per_slot: Option<u32>,

    /// Most tokens the embedded engine evaluates in one decode step; at least `slots`.
    /// [file key: batch_size] [default: 512]
    #[arg(long, env = "PEERLEARN_BATCH_SIZE", value_name = "TOKENS")]
    pub batch_size: Option<u32>,

    /// Most prompt tokens added to a decode step while other rooms are generating.
    /// [file key: prefill_chunk] [default: 128]
    #[arg(long, env = "PEERLEARN_PREFILL_CHUNK", value_name = "TOKENS")]
    pub prefill_chunk: Option<u32>,

    /// Most generating rooms that get their next token in one decode step (0 = all of them).
    /// [file key: gen_per_step] [default: 0]
    #[arg(long, env = "PEERLEARN_GEN_PER_STEP", value_name = "N")]
    pub gen_per_step: Option<u32>,

    /// RAM (MiB) for the cache of rooms moved out of their slot.
    /// [file key: parked_state_mib] [default: 2048]
    #[arg(long, env = "PEERLEARN_PARKED_STATE_MIB", value_name = "MIB")]
    pub parked_state_mib: Option<u64>,

    /// One KV buffer shared by all rooms instead of one per room (true/false).
    /// [file key: kv_unified] [default: false]
    #[arg(long, env = "PEERLEARN_KV_UNIFIED", value_name = "BOOL")]
    pub kv_unified: Option<bool>,

    /// Model name sent to the remote engine. [file key: llm_model]
    #[arg(long, env = "PEERLEARN_LLM_MODEL", value_name = "NAME")]
    pub llm_model: Option<String>,

    /// Time allowed to connect to the remote engine. [file key: connect_timeout_ms]
    /// [default: 5000]
    #[arg(long, env = "PEERLEARN_CONNECT_TIMEOUT_MS", value_name = "MS")]
    pub connect_timeout_ms: Option<u64>,

    /// Time allowed from a request to the remote engine to its first token.
    /// [file key: first_token_timeout_ms] [default: 60000]
    #[arg(long, env = "PEERLEARN_FIRST_TOKEN_TIMEOUT_MS", value_name = "MS")]
    pub first_token_timeout_ms: Option<u64>,

    /// Time allowed between two chunks of a remote stream. [file key: idle_timeout_ms]
    /// [default: 30000]
    #[arg(long, env = "PEERLEARN_IDLE_TIMEOUT_MS", value_name = "MS")]
    pub idle_timeout_ms: Option<u64>,

    /// Retries of a remote request that fails before its first token. [file key: retries]
    /// [default: 2]
    #[arg(long, env = "PEERLEARN_RETRIES", value_name = "N")]
    pub retries: Option<u32>,

    /// How often each remote replica's `/health` is probed; a replica that fails is skipped
    /// until it answers again. [file key: health_interval_ms] [default: 5000]
    #[arg(long, env = "PEERLEARN_HEALTH_INTERVAL_MS", value_name = "MS")]
    pub health_interval_ms: Option<u64>,
}

/// Flags of `peerlearn serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. [file key: listen] [default: 127.0.0.1:8080]
    #[arg(long, env = "PEERLEARN_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,

    /// The address children and facilitators open, if it differs from the listen address (for
    /// example behind a proxy); printed at start and on join cards. [file key: public_url]
    #[arg(long, env = "PEERLEARN_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Folder with roles, activities and scenarios; built-in defaults are used when absent.
    /// [file key: prompts_dir] [default: prompts]
    #[arg(long, env = "PEERLEARN_PROMPTS_DIR", value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Minutes between two purges of sessions whose retention period is over (the first runs
    /// at start); 0 turns the timer off (run `peerlearn purge` from cron instead).
    /// [file key: purge_interval_minutes] [default: 60]
    #[arg(long, env = "PEERLEARN_PURGE_INTERVAL_MINUTES", value_name = "MINUTES")]
    pub purge_interval_minutes: Option<u64>,

    /// A reply of the agent that has not shown a word when this many newer children's
    /// messages have come is dropped (and logged), not shown late; 0 never drops one.
    /// [file key: agent_stale_after] [default: 3]
    #[arg(long, env = "PEERLEARN_AGENT_STALE_AFTER", value_name = "MESSAGES")]
    pub agent_stale_after: Option<u32>,

    /// How long a child who asked the agent something should wait at most for its first words
    /// (milliseconds). When the model's first try is refused (a wrong language, the wrong
    /// child, its own instructions), it is tried again only if a second try taking as long
    /// would still come within this time; otherwise a line written by people is said at once.
    /// [file key: agent_answer_within_ms] [default: 800]
    #[arg(long, env = "PEERLEARN_AGENT_ANSWER_WITHIN_MS", value_name = "MS")]
    pub agent_answer_within_ms: Option<u64>,

    /// The same for the agent's other turns (ideas, questions, invitations, summaries, phase
    /// announcements). [file key: agent_reply_within_ms] [default: 1500]
    #[arg(long, env = "PEERLEARN_AGENT_REPLY_WITHIN_MS", value_name = "MS")]
    pub agent_reply_within_ms: Option<u64>,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Flags of the optional safety classifier (docs/safety.md). The rules always run; the
/// classifier, when one is given, can only make a verdict stricter.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SafetyArgs {
    /// A Llama Guard 3 GGUF (1B or 8B) run in-process beside the agent's model, judging every
    /// child's message after the rules. [file key: safety_model] [default: none]
    #[arg(long, env = "PEERLEARN_SAFETY_MODEL", value_name = "PATH")]
    pub safety_model: Option<PathBuf>,

    /// Instead of a file: the base URL of an OpenAI-compatible server that serves Llama Guard
    /// 3. [file key: safety_url] [default: none]
    #[arg(long, env = "PEERLEARN_SAFETY_URL", value_name = "URL")]
    pub safety_url: Option<String>,

    /// The longest a message waits for the classifier before the rules' verdict stands.
    /// [file key: safety_wait_ms] [default: 300]
    #[arg(long, env = "PEERLEARN_SAFETY_WAIT_MS", value_name = "MS")]
    pub safety_wait_ms: Option<u64>,
}

/// The abuse limits of `peerlearn serve` (docs/configuration.md, "Limits").
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Failed joins (unknown code, locked or full group) one address may make within
    /// `join_failure_window_secs` before its joins are refused for a while.
    /// [file key: join_failures_per_address] [default: 10]
    #[arg(long, env = "PEERLEARN_JOIN_FAILURES_PER_ADDRESS", value_name = "N")]
    pub join_failures_per_address: Option<u32>,

    /// The window of `join_failures_per_address`, in seconds.
    /// [file key: join_failure_window_secs] [default: 600]
    #[arg(
        long,
        env = "PEERLEARN_JOIN_FAILURE_WINDOW_SECS",
        value_name = "SECONDS"
    )]
    pub join_failure_window_secs: Option<u64>,

    /// Failed joins from all addresses together per minute before every join waits.
    /// [file key: join_failures_per_minute] [default: 200]
    #[arg(long, env = "PEERLEARN_JOIN_FAILURES_PER_MINUTE", value_name = "N")]
    pub join_failures_per_minute: Option<u32>,

    /// Most children in one group. [file key: max_group_size] [default: 12]
    #[arg(long, env = "PEERLEARN_MAX_GROUP_SIZE", value_name = "N")]
    pub max_group_size: Option<u32>,

    /// How long a child's credential (the `pl_child` cookie) opens the chat after joining.
    /// [file key: child_credential_hours] [default: 12]
    #[arg(long, env = "PEERLEARN_CHILD_CREDENTIAL_HOURS", value_name = "HOURS")]
    pub child_credential_hours: Option<u32>,

    /// Time a client has to send a request's headers. [file key: header_read_timeout_secs]
    /// [default: 10]
    #[arg(
        long,
        env = "PEERLEARN_HEADER_READ_TIMEOUT_SECS",
        value_name = "SECONDS"
    )]
    pub header_read_timeout_secs: Option<u64>,

    /// Time a request may take, body and answer included (not a WebSocket once open).
    /// [file key: request_timeout_secs] [default: 60]
    #[arg(long, env = "PEERLEARN_REQUEST_TIMEOUT_SECS", value_name = "SECONDS")]
    pub request_timeout_secs: Option<u64>,

    /// Most open connections (WebSockets included); more wait to be accepted.
    /// [file key: max_connections] [default: 2048]
    #[arg(long, env = "PEERLEARN_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<u32>,

    /// Most chat sockets one child may have open at once (tabs, devices).
    /// [file key: sockets_per_child] [default: 4]
    #[arg(long, env = "PEERLEARN_SOCKETS_PER_CHILD", value_name = "N")]
    pub sockets_per_child: Option<u32>,

    /// Most chat sockets from one address (a classroom behind one NAT shares one).
    /// [file key: sockets_per_address] [default: 256]
    #[arg(long, env = "PEERLEARN_SOCKETS_PER_ADDRESS", value_name = "N")]
    pub sockets_per_address: Option<u32>,

    /// Password checks (argon2, about 19 MiB each) run at once; more sign-ins get 503.
    /// [file key: concurrent_sign_ins] [default: 4]
    #[arg(long, env = "PEERLEARN_CONCURRENT_SIGN_INS", value_name = "N")]
    pub concurrent_sign_ins: Option<u32>,

    /// Bearer token for `/metrics`; without one `/metrics` is off (404).
    /// [file key: metrics_token]
    #[arg(
        long,
        env = "PEERLEARN_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

/// The keys `peerlearn.toml` may hold. Unknown keys are refused, so a typo does not silently
/// fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub prompts_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub db_connect_timeout_secs: Option<u64>,
    pub model: Option<PathBuf>,
    pub llm_url: Option<UrlList>,
    pub llm_api_key: Option<String>,
    pub threads: Option<u32>,
    pub slots: Option<u32>,
    pub context_per_slot: Option<u32>,
    pub batch_size: Option<u32>,
    pub prefill_chunk: Option<u32>,
    pub gen_per_step: Option<u32>,
    pub parked_state_mib: Option<u64>,
    pub kv_unified: Option<bool>,
    pub llm_model: Option<String>,
    pub connect_timeout_ms: Option<u64>,
    pub first_token_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub retries: Option<u32>,
    pub health_interval_ms: Option<u64>,
    pub safety_model: Option<PathBuf>,
    pub safety_url: Option<String>,
    pub safety_wait_ms: Option<u64>,
    pub agent_stale_after: Option<u32>,
    pub agent_answer_within_ms: Option<u64>,
    pub agent_reply_within_ms: Option<u64>,
    pub join_failures_per_address: Option<u32>,
    pub join_failure_window_secs: Option<u64>,
    pub join_failures_per_minute: Option<u32>,
    pub max_group_size: Option<u32>,
    pub child_credential_hours: Option<u32>,
    pub header_read_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub max_connections: Option<u32>,
    pub sockets_per_child: Option<u32>,
    pub sockets_per_address: Option<u32>,
    pub concurrent_sign_ins: Option<u32>,
    pub metrics_token: Option<String>,
    pub retention_days: Option<i64>,
    pub purge_interval_minutes: Option<u64>,
}

impl FileConfig {
    /// Reads the file named by `--config`, or `peerlearn.toml` when it exists.
    pub fn load(arg: &ConfigFileArg) -> Result<FileConfig, ConfigError> {
        let (path, required) = match &arg.config {
            Some(path) => (path.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if !required && !path.exists() {
            return Ok(FileConfig::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(
                "config",
                format!("cannot read {}: {e}", path.display()),
                "a readable TOML file",
            )
        })?;
        Self::parse(&text, &path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            // An unknown key is named in toml's message; a value of the wrong type is not, so
            // the key is read off the line the error points at.
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let key = line
                .and_then(|l| text.lines().nth(l - 1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_string())
                .filter(|k| !k.is_empty() && !e.message().contains('`'));
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            ConfigError::new(
                key.as_deref().unwrap_or("config"),
                format!("in {}{at}: {}", path.display(), e.message().trim()),
                "the keys listed by `peerlearn serve --help`, each with a value of its form",
            )
        })
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }

    pub fn of_url(url: &str) -> Option<DatabaseKind> {
        if url.starts_with("sqlite:") {
            Some(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseKind::Postgres)
        } else {
            None
        }
    }
}

/// `llm_url` in the file: one URL (commas allowed, as on the command line) or an array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "a URL string or an array of URL strings")]
pub enum UrlList {
    One(String),
    Many(Vec<String>),
}

impl UrlList {
    fn entries(&self) -> Vec<String> {
        match self {
            UrlList::One(s) => s.split(',').map(str::to_string).collect(),
            UrlList::Many(v) => v.clone(),
        }
    }
}

/// Checks the remote engine's URLs: each must be an http(s) base URL the engine accepts, none
/// empty, none twice. `given` is how the user wrote the list, for the message.
pub fn check_llm_urls(entries: &[String]) -> Result<Vec<String>, ConfigError> {
    let given = entries.join(",");
    let expected = "http:// or https:// base URLs of OpenAI-compatible servers, one per replica, \
                    e.g. http://10.0.0.5:8081,http://10.0.0.6:8081";
    let mut urls: Vec<String> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let url = entry.trim();
        if url.is_empty() {
            return Err(ConfigError::new(
                "llm_url",
                format!("has an empty entry (number {} in {given:?})", i + 1),
                expected,
            ));
        }
        if let Err(e) = crate::engine::remote::endpoint_url(url) {
            let reason = match e {
                crate::engine::EngineError::InvalidUrl { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(ConfigError::new(
                "llm_url",
                format!("has {url:?}, which is not usable ({reason})"),
                expected,
            ));
        }
        if urls.iter().any(|u| u == url) {
            return Err(ConfigError::new(
                "llm_url",
                format!("lists {url:?} twice"),
                expected,
            ));
        }
        urls.push(url.to_string());
    }
    Ok(urls)
}

/// Resolved database settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub kind: DatabaseKind,
    pub connect_timeout: Duration,
}

/// Resolved engine settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub model: PathBuf,
    /// The remote engine's replicas; empty: the embedded engine.
    pub llm_urls: Vec<String>,
    pub llm_api_key: Option<String>,
    pub llm_model: Option<String>,
    pub threads: u32,
    pub slots: u32,
    pub context_per_slot: u32,
    pub batch_size: u32,
    pub prefill_chunk: u32,
    pub gen_per_step: u32,
    pub parked_state_mib: u64,
    pub kv_unified: bool,
    pub connect_timeout_ms: u64,
    pub first_token_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub retries: u32,
    pub health_interval_ms: u64,
}

/// Resolved settings of the optional safety classifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SafetySettings {
    /// Where Llama Guard runs: a GGUF file, a remote server, or nowhere (rules only).
    pub classifier: Option<ClassifierSource>,
    /// The longest a message waits for it.
    pub wait: Duration,
}

/// Where the safety classifier runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifierSource {
    Model(PathBuf),
    Url(String),
}

impl SafetySettings {
    pub const DEFAULT_WAIT_MS: u64 = 300;

    pub fn resolve(args: &SafetyArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let model = pick(&args.safety_model, &file.safety_model);
        let url = pick(&args.safety_url, &file.safety_url);
        let classifier = match (model, url) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "safety_model",
                    "is set together with safety_url",
                    "one of them: a Llama Guard GGUF file, or the URL of a server that runs it",
                ))
            }
            (Some(path), None) => Some(ClassifierSource::Model(path)),
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                    return Err(ConfigError::new(
                        "safety_url",
                        format!("is {url:?}"),
                        "an http:// or https:// base URL of an OpenAI-compatible server",
                    ));
                }
                Some(ClassifierSource::Url(url))
            }
            (None, None) => None,
        };
        let wait_ms =
            pick(&args.safety_wait_ms, &file.safety_wait_ms).unwrap_or(Self::DEFAULT_WAIT_MS);
        if !(10..=5_000).contains(&wait_ms) {
            return Err(ConfigError::new(
                "safety_wait_ms",
                format!("is {wait_ms}"),
                "milliseconds from 10 to 5000",
            ));
        }
        Ok(SafetySettings {
            classifier,
            wait: Duration::from_millis(wait_ms),
        })
    }
}

/// Resolved abuse limits (docs/configuration.md, "Limits"). `Default` is the documented
/// defaults.
#[derive(Clone, PartialEq, Eq)]
pub struct LimitSettings {
    pub join_failures_per_address: u32,
    pub join_failure_window: Duration,
    pub join_failures_per_minute: u32,
    pub max_group_size: u32,
    pub child_credential_lifetime: Duration,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: u32,
    pub sockets_per_child: u32,
    pub sockets_per_address: u32,
    pub concurrent_sign_ins: u32,
    /// None: `/metrics` is off.
    pub metrics_token: Option<String>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            join_failures_per_address: 10,
            join_failure_window: Duration::from_secs(600),
            join_failures_per_minute: 200,
            max_group_size: 12,
            child_credential_lifetime: Duration::from_secs(12 * 3600),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 2048,
            sockets_per_child: 4,
            sockets_per_address: 256,
            concurrent_sign_ins: 4,
            metrics_token: None,
        }
    }
}

impl std::fmt::Debug for LimitSettings {
    // By hand, so that the metrics token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitSettings")
            .field("join_failures_per_address", &self.join_failures_per_address)
            .field("join_failure_window", &self.join_failure_window)
            .field("join_failures_per_minute", &self.join_failures_per_minute)
            .field("max_group_size", &self.max_group_size)
            .field("child_credential_lifetime", &self.child_credential_lifetime)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_connections", &self.max_connections)
            .field("sockets_per_child", &self.sockets_per_child)
            .field("sockets_per_address", &self.sockets_per_address)
            .field("concurrent_sign_ins", &self.concurrent_sign_ins)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

impl LimitSettings {
    pub fn resolve(args: &LimitArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let d = LimitSettings::default();
        let n = |key: &str, a: &Option<u32>, f: &Option<u32>, default: u32, min: u64, max: u64| {
            let v = pick(a, f).unwrap_or(default);
            in_range(key, v.into(), min, max, "a whole number").map(|v| v as u32)
        };
        let secs = |key: &str, a: &Option<u64>, f: &Option<u64>, default: Duration, max: u64| {
            let v = pick(a, f).unwrap_or(default.as_secs());
            in_range(key, v, 1, max, "a number of seconds").map(Duration::from_secs)
        };
        let metrics_token = pick(&args.metrics_token, &file.metrics_token);
        if let Some(t) = &metrics_token {
            if t.len() < 16 || t.len() > 256 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::new(
                    "metrics_token",
                    format!("has {} characters", t.chars().count()),
                    "16 to 256 printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)",
                ));
            }
        }
        let hours = n(
            "child_credential_hours",
            &args.child_credential_hours,
            &file.child_credential_hours,
            (d.child_credential_lifetime.as_secs() / 3600) as u32,
            1,
            24 * 7,
        )?;
        Ok(LimitSettings {
            join_failures_per_address: n(
                "join_failures_per_address",
                &args.join_failures_per_address,
                &file.join_failures_per_address,
                d.join_failures_per_address,
                1,
                100_000,
            )?,
            join_failure_window: secs(
                "join_failure_window_secs",
                &args.join_failure_window_secs,
                &file.join_failure_window_secs,
                d.join_failure_window,
                86_400,
            )?,
            join_failures_per_minute: n(
                "join_failures_per_minute",
                &args.join_failures_per_minute,
                &file.join_failures_per_minute,
                d.join_failures_per_minute,
                1,
                1_000_000,
            )?,
            max_group_size: n(
                "max_group_size",
                &args.max_group_size,
                &file.max_group_size,
                d.max_group_size,
                1,
                1000,
            )?,
            child_credential_lifetime: Duration::from_secs(u64::from(hours) * 3600),
            header_read_timeout: secs(
                "header_read_timeout_secs",
                &args.header_read_timeout_secs,
                &file.header_read_timeout_secs,
                d.header_read_timeout,
                600,
            )?,
            request_timeout: secs(
                "request_timeout_secs",
                &args.request_timeout_secs,
                &file.request_timeout_secs,
                d.request_timeout,
                3600,
            )?,
            max_connections: n(
                "max_connections",
                &args.max_connections,
                &file.max_connections,
                d.max_connections,
                1,
                1_000_000,
            )?,
            sockets_per_child: n(
                "sockets_per_child",
                &args.sockets_per_child,
                &file.sockets_per_child,
                d.sockets_per_child,
                1,
                1000,
            )?,
            sockets_per_address: n(
                "sockets_per_address",
                &args.sockets_per_address,
                &file.sockets_per_address,
                d.sockets_per_address,
                1,
                1_000_000,
            )?,
            concurrent_sign_ins: n(
                "concurrent_sign_ins",
                &args.concurrent_sign_ins,
                &file.concurrent_sign_ins,
                d.concurrent_sign_ins,
                1,
                256,
            )?,
            metrics_token,
        })
    }
}

/// Resolved settings of `peerlearn serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub prompts_dir: PathBuf,
    pub database: DatabaseSettings,
    pub engine: EngineSettings,
    pub safety: SafetySettings,
    pub limits: LimitSettings,
    pub data: DataSettings,
    pub agent: AgentSettings,
}

/// The default of `agent_stale_after`: three messages on, a reply answers a conversation the
/// children have left.
pub const DEFAULT_AGENT_STALE_AFTER: u32 = 3;

/// The default of `agent_answer_within_ms`: a child who asked should see words within a blink.
pub const DEFAULT_AGENT_ANSWER_WITHIN_MS: u64 = 800;

/// The default of `agent_reply_within_ms`: a turn nobody asked for may take a little longer.
pub const DEFAULT_AGENT_REPLY_WITHIN_MS: u64 = 1500;

/// Resolved settings of the agent's timing (see docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// Newer children's messages after which an agent reply not yet shown is dropped (0: never).
    pub stale_after: u32,
    /// The longest a child who asked should wait for the agent's first words.
    pub answer_within: Duration,
    /// The longest the group should wait for the agent's other turns.
    pub reply_within: Duration,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            stale_after: DEFAULT_AGENT_STALE_AFTER,
            answer_within: Duration::from_millis(DEFAULT_AGENT_ANSWER_WITHIN_MS),
            reply_within: Duration::from_millis(DEFAULT_AGENT_REPLY_WITHIN_MS),
        }
    }
}

impl AgentSettings {
    fn resolve(args: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let stale_after = pick(&args.agent_stale_after, &file.agent_stale_after)
            .unwrap_or(DEFAULT_AGENT_STALE_AFTER);
        if stale_after > 50 {
            return Err(ConfigError::new(
                "agent_stale_after",
                format!("is {stale_after}"),
                "a number of messages from 0 (never drop) to 50",
            ));
        }
        let within = |key: &str, value: Option<u64>, default: u64| {
            millis_in(key, value.unwrap_or(default), 100, 60_000).map(Duration::from_millis)
        };
        Ok(AgentSettings {
            stale_after,
            answer_within: within(
                "agent_answer_within_ms",
                pick(&args.agent_answer_within_ms, &file.agent_answer_within_ms),
                DEFAULT_AGENT_ANSWER_WITHIN_MS,
            )?,
            reply_within: within(
                "agent_reply_within_ms",
                pick(&args.agent_reply_within_ms, &file.agent_reply_within_ms),
                DEFAULT_AGENT_REPLY_WITHIN_MS,
            )?,
        })
    }
}

/// Resolved settings about children's data (see docs/architecture.md, "Children's data").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSettings {
    /// The retention period a new session gets on the dashboard, in days.
    pub retention_days: u32,
    /// How often `serve` purges expired sessions; None: never (the timer is off).
    pub purge_interval: Option<Duration>,
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            retention_days: crate::store::DEFAULT_RETENTION_DAYS,
            purge_interval: Some(Duration::from_secs(DEFAULT_PURGE_INTERVAL_MINUTES * 60)),
        }
    }
}

impl DataSettings {
    pub fn resolve(args: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let minutes = pick(&args.purge_interval_minutes, &file.purge_interval_minutes)
            .unwrap_or(DEFAULT_PURGE_INTERVAL_MINUTES);
        if minutes > MAX_PURGE_INTERVAL_MINUTES {
            return Err(ConfigError::new(
                "purge_interval_minutes",
                format!("is {minutes}"),
                &format!(
                    "a number of minutes from 0 (no timer) to {MAX_PURGE_INTERVAL_MINUTES} (a week)"
                ),
            ));
        }
        Ok(DataSettings {
            retention_days: args.retention.resolve(file)?,
            purge_interval: (minutes > 0).then(|| Duration::from_secs(minutes * 60)),
        })
    }
}

impl DatabaseSettings {
    pub fn resolve(args: &DatabaseArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let url = pick(&args.database_url, &file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let kind = DatabaseKind::of_url(&url).ok_or_else(|| {
            ConfigError::new(
                "database_url",
                format!("is {url:?}"),
                "sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            )
        })?;
        if kind == DatabaseKind::Sqlite
            && url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .is_empty()
        {
            return Err(ConfigError::new(
                "database_url",
                "names no file",
                "sqlite://PATH, for example sqlite://data/peerlearn.db",
            ));
        }
        let secs = pick(&args.db_connect_timeout_secs, &file.db_connect_timeout_secs)
            .unwrap_or(DEFAULT_DB_CONNECT_TIMEOUT_SECS);
        if secs > 3600 {
            return Err(ConfigError::new(
                "db_connect_timeout_secs",
                format!("is {secs}"),
                "a number of seconds from 0 to 3600",
            ));
        }
        Ok(DatabaseSettings {
            url,
            kind,
            connect_timeout: Duration::from_secs(secs),
        })
    }
}

impl EngineSettings {
    pub fn resolve(args: &EngineArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let model = pick(&args.model, &file.model).unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL));
        // The flag (or its environment variable) replaces the file's list, it does not add to it.
        let llm_urls = if !args.llm_url.is_empty() {
            check_llm_urls(&args.llm_url)?
        } else {
            match &file.llm_url {
                Some(UrlList::Many(v)) if v.is_empty() => {
                    return Err(ConfigError::new(
                        "llm_url",
                        "is an empty array",
                        "at least one URL, or no llm_url key for the embedded engine",
                    ))
                }
                Some(list) => check_llm_urls(&list.entries())?,
                None => Vec::new(),
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let threads = pick(&args.threads, &file.threads).unwrap_or(cores);
        if !(1..=256).contains(&threads) {
            return Err(ConfigError::new(
                "threads",
                format!("is {threads}"),
                "a whole number from 1 to 256",
            ));
        }
        let slots = pick(&args.slots, &file.slots).unwrap_or(DEFAULT_SLOTS);
        if !(1..=256).contains(&slots) {
            return Err(ConfigError::new(
                "slots",
                format!("is {slots}"),
                "a whole number from 1 to 256",
            ));
        }
        let context_per_slot = pick(&args.context_per_slot, &file.context_per_slot)
            .unwrap_or(DEFAULT_CONTEXT_PER_SLOT);
        if !(256..=131_072).contains(&context_per_slot) {
            return Err(ConfigError::new(
                "context_per_slot",
                format!("is {context_per_slot}"),
                "a number of tokens from 256 to 131072",
            ));
        }
        let defaults = EngineConfig::default();
        let batch_size = pick(&args.batch_size, &file.batch_size).unwrap_or(defaults.batch_size);
        if !(16..=8192).contains(&batch_size) || batch_size < slots {
            return Err(ConfigError::new(
                "batch_size",
                format!("is {batch_size} with {slots} slots"),
                "a number of tokens from 16 to 8192 and at least `slots` (every generating room adds a token to each step)",
            ));
        }
        let prefill_chunk =
            pick(&args.prefill_chunk, &file.prefill_chunk).unwrap_or(defaults.prefill_chunk);
        if !(1..=batch_size).contains(&prefill_chunk) {
            return Err(ConfigError::new(
                "prefill_chunk",
                format!("is {prefill_chunk} with batch_size {batch_size}"),
                "a number of tokens from 1 to `batch_size`",
            ));
        }
        let gen_per_step =
            pick(&args.gen_per_step, &file.gen_per_step).unwrap_or(defaults.gen_per_step);
        if gen_per_step > 256 {
            return Err(ConfigError::new(
                "gen_per_step",
                format!("is {gen_per_step}"),
                "a whole number from 0 (all generating rooms) to 256",
            ));
        }
        let parked_state_mib = pick(&args.parked_state_mib, &file.parked_state_mib)
            .unwrap_or(defaults.parked_state_mib);
        if parked_state_mib > 1 << 20 {
            return Err(ConfigError::new(
                "parked_state_mib",
                format!("is {parked_state_mib}"),
                "a number of MiB from 0 to 1048576",
            ));
        }
        let llm_model = pick(&args.llm_model, &file.llm_model);
        if llm_model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(ConfigError::new(
                "llm_model",
                "is empty",
                "the model name the remote server knows, e.g. llama3.2:3b",
            ));
        }
        let connect_timeout_ms = millis_in(
            "connect_timeout_ms",
            pick(&args.connect_timeout_ms, &file.connect_timeout_ms)
                .unwrap_or(defaults.connect_timeout_ms),
            100,
            600_000,
        )?;
        let first_token_timeout_ms = millis_in(
            "first_token_timeout_ms",
            pick(&args.first_token_timeout_ms, &file.first_token_timeout_ms)
                .unwrap_or(defaults.first_token_timeout_ms),
            100,
            3_600_000,
        )?;
        let idle_timeout_ms = millis_in(
            "idle_timeout_ms",
            pick(&args.idle_timeout_ms, &file.idle_timeout_ms).unwrap_or(defaults.idle_timeout_ms),
            100,
            3_600_000,
        )?;
        let health_interval_ms = millis_in(
            "health_interval_ms",
            pick(&args.health_interval_ms, &file.health_interval_ms)
                .unwrap_or(defaults.health_interval_ms),
            100,
            3_600_000,
        )?;
        let retries = pick(&args.retries, &file.retries).unwrap_or(defaults.retries);
        if retries > 10 {
            return Err(ConfigError::new(
                "retries",
                format!("is {retries}"),
                "a whole number from 0 to 10",
            ));
        }
        Ok(EngineSettings {
            model,
            llm_urls,
            llm_api_key: pick(&args.llm_api_key, &file.llm_api_key),
            llm_model,
            threads,
            slots,
            context_per_slot,
            batch_size,
            prefill_chunk,
            gen_per_step,
            parked_state_mib,
            kv_unified: pick(&args.kv_unified, &file.kv_unified).unwrap_or(defaults.kv_unified),
            connect_timeout_ms,
            first_token_timeout_ms,
            idle_timeout_ms,
            retries,
            health_interval_ms,
        })
    }

    /// The engine's configuration; what these settings do not name keeps the engine's defaults.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            model_path: self.model.clone(),
            threads: self.threads,
            slots: self.slots,
            context_per_slot: self.context_per_slot,
            batch_size: self.batch_size,
            prefill_chunk: self.prefill_chunk,
            gen_per_step: self.gen_per_step,
            parked_state_mib: self.parked_state_mib,
            kv_unified: self.kv_unified,
            llm_urls: self.llm_urls.clone(),
            llm_api_key: self.llm_api_key.clone(),
            llm_model: self.llm_model.clone(),
            connect_timeout_ms: self.connect_timeout_ms,
            first_token_timeout_ms: self.first_token_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            retries: self.retries,
            health_interval_ms: self.health_interval_ms,
            ..EngineConfig::default()
        }
    }
}

impl Settings {
    pub fn resolve(args: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let listen_text =
            pick(&args.listen, &file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::new(
                "listen",
                format!("is {listen_text:?}"),
                "ADDRESS:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080",
            )
        })?;
        let public_url = match pick(&args.public_url, &file.public_url) {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError::new(
                        "public_url",
                        format!("is {url:?}"),
                        "an http:// or https:// URL",
                    ));
                }
                url.trim_end_matches('/').to_string()
            }
            None => default_public_url(listen),
        };
        Ok(Settings {
            listen,
            public_url,
            prompts_dir: pick(&args.prompts_dir, &file.prompts_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_PROMPTS_DIR)),
            database: DatabaseSettings::resolve(&args.database, file)?,
            engine: EngineSettings::resolve(&args.engine, file)?,
            safety: SafetySettings::resolve(&args.safety, file)?,
            limits: LimitSettings::resolve(&args.limits, file)?,
            data: DataSettings::resolve(args, file)?,
            agent: AgentSettings::resolve(args, file)?,
        })
    }
}

/// The address to print: an unspecified listen address (0.0.0.0) is opened as localhost here.
fn default_public_url(listen: SocketAddr) -> String {
    let host = if listen.ip().is_unspecified() {
        "localhost".to_string()
    } else if listen.is_ipv6() {
        format!("[{}]", listen.ip())
    } else {
        listen.ip().to_string()
    };
    format!("http://{host}:{}", listen.port())
}

/// `value` if it lies in `min..=max`, else an error naming `key` and what was expected
/// (`unit`: "a whole number", "milliseconds" ...).
fn in_range(key: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            key,
            format!("is {value}"),
            &format!("{unit} from {min} to {max}"),
        ))
    }
}

/// `value` if it lies in `min..=max` milliseconds, else an error naming `key`.
fn millis_in(key: &str, value: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    in_range(key, value, min, max, "milliseconds")
}

/// Flag or environment (already merged by clap) wins over the file.
fn pick<T: Clone>(cli_or_env: &Option<T>, file: &Option<T>) -> Option<T> {
    cli_or_env.clone().or_else(|| file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: ServeArgs, file: &str) -> Result<Settings, ConfigError> {
        let file = FileConfig::parse(file, Path::new("peerlearn.toml"))?;
        Settings::resolve(&args, &file)
    }

    #[test]
    fn a_stale_agent_reply_is_dropped_after_three_messages_unless_configured() {
        assert_eq!(
            serve(ServeArgs::default(), "").unwrap().agent.stale_after,
            3
        );
        assert_eq!(
            serve(ServeArgs::default(), "agent_stale_after = 0\n")
                .unwrap()
                .agent
                .stale_after,
            0
        );
        let args = ServeArgs {
            agent_stale_after: Some(5),
            ..ServeArgs::default()
        };
        assert_eq!(
            serve(args, "agent_stale_after = 1\n")
                .unwrap()
                .agent
                .stale_after,
            5,
            "the flag wins over the file"
        );
    }

    #[test]
    fn the_agents_time_budgets_default_to_a_blink_and_take_flags_and_file_keys() {
        let s = serve(ServeArgs::default(), "").unwrap();
        assert_eq!(s.agent.answer_within, Duration::from_millis(800));
        assert_eq!(s.agent.reply_within, Duration::from_millis(1500));
        let args = ServeArgs {
            agent_answer_within_ms: Some(2000),
            ..ServeArgs::default()
        };
        let s = serve(
            args,
            "agent_answer_within_ms = 500\nagent_reply_within_ms = 3000\n",
        )
        .unwrap();
        assert_eq!(
            s.agent.answer_within,
            Duration::from_millis(2000),
            "the flag wins over the file"
        );
        assert_eq!(s.agent.reply_within, Duration::from_millis(3000));
    }

    #[test]
    fn the_safety_classifier_is_off_by_default_and_checked_when_set() {
        let s = serve(ServeArgs::default(), "").unwrap();
        assert_eq!(s.safety.classifier, None);
        assert_eq!(s.safety.wait, Duration::from_millis(300));
        let s = serve(
            ServeArgs::default(),
            "safety_model = \"guard.gguf\"\nsafety_wait_ms = 500\n",
        )
        .unwrap();
        assert_eq!(
            s.safety.classifier,
            Some(ClassifierSource::Model(PathBuf::from("guard.gguf")))
        );
        assert_eq!(s.safety.wait, Duration::from_millis(500));
        for bad in [
            "safety_url = \"ftp://x\"\n",
            "safety_wait_ms = 0\n",
            "safety_wait_ms = 60000\n",
            "safety_model = \"a.gguf\"\nsafety_url = \"http://127.0.0.1:9\"\n",
        ] {
            let e = serve(ServeArgs::default(), bad).unwrap_err();
            assert!(e.to_string().contains("safety"), "{bad}: {e}");
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = serve(ServeArgs::default(), "").unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database.url, DEFAULT_DATABASE_URL);
        assert_eq!(s.database.kind, DatabaseKind::Sqlite);
        assert_eq!(s.engine.model, PathBuf::from(DEFAULT_MODEL));
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(s.engine.threads >= 1);
        assert_eq!(s.data, DataSettings::default());
        assert_eq!(s.data.retention_days, 180);
    }

    #[test]
    fn retention_settings_resolve() {
        let s = serve(
            ServeArgs::default(),
            "retention_days = 30\npurge_interval_minutes = 0\n",
        )
        .unwrap();
        assert_eq!(s.data.retention_days, 30);
        assert_eq!(s.data.purge_interval, None);
        let args = ServeArgs {
            retention: RetentionArgs {
                retention_days: Some(7),
            },
            purge_interval_minutes: Some(5),
            ..Default::default()
        };
        let s = serve(args, "retention_days = 30\n").unwrap();
        assert_eq!(s.data.retention_days, 7, "the flag wins over the file");
        assert_eq!(s.data.purge_interval, Some(Duration::from_secs(300)));
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let args = ServeArgs {
            listen: Some("127.0.0.1:9000".into()),
            ..Default::default()
        };
        let s = serve(args, "listen = \"0.0.0.0:7000\"\nslots = 4\n").unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.engine.slots, 4);
    }

    #[test]
    fn engine_tunables_reach_the_engine_config() {
        let defaults = serve(ServeArgs::default(), "")
            .unwrap()
            .engine
            .engine_config();
        let engine = EngineConfig::default();
        assert_eq!(defaults.batch_size, engine.batch_size);
        assert_eq!(defaults.prefill_chunk, engine.prefill_chunk);
        assert_eq!(defaults.gen_per_step, engine.gen_per_step);
        assert_eq!(
            defaults.first_token_timeout_ms,
            engine.first_token_timeout_ms
        );
        assert_eq!(defaults.retries, engine.retries);
        assert_eq!(defaults.health_interval_ms, engine.health_interval_ms);

        let args = ServeArgs {
            engine: EngineArgs {
                batch_size: Some(256),
                first_token_timeout_ms: Some(9_000),
                ..Default::default()
            },
            ..Default::default()
        };
        let file = "batch_size = 64\nprefill_chunk = 32\ngen_per_step = 0\nparked_state_mib = 10\n\
                    kv_unified = true\nllm_model = \"m\"\nconnect_timeout_ms = 700\n\
                    first_token_timeout_ms = 800\nidle_timeout_ms = 900\nretries = 0\n\
                    health_interval_ms = 250\n";
        let c = serve(args, file).unwrap().engine.engine_config();
        assert_eq!(c.batch_size, 256, "the flag wins over the file");
        assert_eq!(
            c.first_token_timeout_ms, 9_000,
            "the flag wins over the file"
        );
        assert_eq!(c.prefill_chunk, 32);
        assert_eq!(c.gen_per_step, 0);
        assert_eq!(c.parked_state_mib, 10);
        assert!(c.kv_unified);
        assert_eq!(c.llm_model.as_deref(), Some("m"));
        assert_eq!(c.connect_timeout_ms, 700);
        assert_eq!(c.idle_timeout_ms, 900);
        assert_eq!(c.retries, 0);
        assert_eq!(c.health_interval_ms, 250);
        assert_eq!(c.slots, DEFAULT_SLOTS);
    }

    fn engine_args(urls: &[&str]) -> ServeArgs {
        ServeArgs {
            engine: EngineArgs {
                llm_url: urls.iter().map(|u| u.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn llm_url_takes_one_url_or_a_list_from_flags_and_file() {
        let urls = |args: ServeArgs, file: &str| serve(args, file).unwrap().engine.llm_urls;
        assert!(urls(ServeArgs::default(), "").is_empty(), "embedded engine");
        assert_eq!(
            urls(ServeArgs::default(), "llm_url = \"http://a:8081\""),
            ["http://a:8081"]
        );
        assert_eq!(
            urls(
                ServeArgs::default(),
                "llm_url = [\"http://a:8081\", \" https://b/v1 \"]"
            ),
            ["http://a:8081", "https://b/v1"]
        );
        assert_eq!(
            urls(
                ServeArgs::default(),
                "llm_url = \"http://a:8081, http://b:8081\""
            ),
            ["http://a:8081", "http://b:8081"],
            "a string may hold a comma-separated list, as the flag does"
        );
        assert_eq!(
            urls(
                engine_args(&["http://x:1", "http://y:2"]),
                "llm_url = \"http://a:8081\""
            ),
            ["http://x:1", "http://y:2"],
            "the flags replace the file's list"
        );
        let c = serve(engine_args(&["http://x:1", "http://y:2"]), "")
            .unwrap()
            .engine
            .engine_config();
        assert!(c.is_remote());
        assert_eq!(c.llm_urls, ["http://x:1", "http://y:2"]);
    }

    #[test]
    fn bad_llm_url_entries_are_named() {
        for (args, file, needle) in [
            (
                engine_args(&["http://a:1", ""]),
                "",
                "empty entry (number 2",
            ),
            (
                engine_args(&["http://a:1", " "]),
                "",
                "empty entry (number 2",
            ),
            (
                engine_args(&[]),
                "llm_url = \"http://a:1,,http://b:2\"",
                "empty entry (number 2",
            ),
            (engine_args(&[]), "llm_url = []", "empty array"),
            (
                engine_args(&[]),
                "llm_url = [\"\"]",
                "empty entry (number 1",
            ),
            (
                engine_args(&["http://a:1", "localhost:8081"]),
                "",
                "\"localhost:8081\"",
            ),
            (
                engine_args(&[]),
                "llm_url = [\"http://a:1\", \"ftp://b/\"]",
                "\"ftp://b/\"",
            ),
            (
                engine_args(&["http://"]),
                "",
                "\"http://\", which is not usable (empty host)",
            ),
            (
                engine_args(&["http://a:1", "http://a:1"]),
                "",
                "lists \"http://a:1\" twice",
            ),
        ] {
            let err = serve(args, file).unwrap_err();
            assert_eq!(err.key, "llm_url", "{file}: {err}");
            let text = err.to_string();
            assert!(text.contains(needle), "{text}");
            assert!(text.contains("expected"), "{text}");
        }
        let err = serve(ServeArgs::default(), "llm_url = 3").unwrap_err();
        assert!(err.to_string().contains("llm_url"), "{err}");
    }

    #[test]
    fn unknown_file_key_is_named() {
        let err = serve(ServeArgs::default(), "lisen = \"x\"").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn wrong_type_in_file_is_named() {
        let err = serve(ServeArgs::default(), "threads = \"many\"").unwrap_err();
        assert!(err.to_string().contains("threads"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    listen: Some("localhost".into()),
                    ..Default::default()
                },
                "listen",
            ),
            (
                ServeArgs {
                    public_url: Some("example.org".into()),
                    ..Default::default()
                },
                "public_url",
            ),
        ];
        for (args, key) in cases {
            let err = serve(args, "").unwrap_err();
            assert_eq!(err.key, key);
        }
        for (text, key) in [
            ("database_url = \"mysql://x\"", "database_url"),
            ("database_url = \"sqlite://\"", "database_url"),
            ("threads = 0", "threads"),
            ("slots = 1000", "slots"),
            ("context_per_slot = 10", "context_per_slot"),
            ("batch_size = 8", "batch_size"),
            ("slots = 32\nbatch_size = 16", "batch_size"),
            ("prefill_chunk = 0", "prefill_chunk"),
            ("prefill_chunk = 600", "prefill_chunk"),
            ("gen_per_step = 1000", "gen_per_step"),
            ("parked_state_mib = 99999999", "parked_state_mib"),
            ("kv_unified = \"yes\"", "kv_unified"),
            ("llm_model = \" \"", "llm_model"),
            ("connect_timeout_ms = 0", "connect_timeout_ms"),
            ("first_token_timeout_ms = 10", "first_token_timeout_ms"),
            ("idle_timeout_ms = 99999999", "idle_timeout_ms"),
            ("retries = 11", "retries"),
            ("health_interval_ms = 5", "health_interval_ms"),
            ("llm_url = \"ftp://x\"", "llm_url"),
            ("db_connect_timeout_secs = 99999", "db_connect_timeout_secs"),
            ("join_failures_per_address = 0", "join_failures_per_address"),
            ("join_failure_window_secs = 0", "join_failure_window_secs"),
            ("join_failures_per_minute = 0", "join_failures_per_minute"),
            ("max_group_size = 0", "max_group_size"),
            ("child_credential_hours = 0", "child_credential_hours"),
            ("header_read_timeout_secs = 0", "header_read_timeout_secs"),
            ("request_timeout_secs = 99999", "request_timeout_secs"),
            ("max_connections = 0", "max_connections"),
            ("sockets_per_child = 0", "sockets_per_child"),
            ("sockets_per_address = 0", "sockets_per_address"),
            ("concurrent_sign_ins = 0", "concurrent_sign_ins"),
            ("metrics_token = \"short\"", "metrics_token"),
            ("retention_days = 0", "retention_days"),
            ("retention_days = -3", "retention_days"),
            ("retention_days = 3651", "retention_days"),
            ("purge_interval_minutes = 99999", "purge_interval_minutes"),
            ("agent_stale_after = 51", "agent_stale_after"),
            ("agent_answer_within_ms = 0", "agent_answer_within_ms"),
            ("agent_answer_within_ms = 99", "agent_answer_within_ms"),
            ("agent_reply_within_ms = 60001", "agent_reply_within_ms"),
        ] {
            let err = serve(ServeArgs::default(), text).unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
            assert!(err.to_string().contains("expected"), "{err}");
        }
    }

    #[test]
    fn limits_have_defaults_and_take_flags_and_file_keys() {
        let s = serve(ServeArgs::default(), "").unwrap();
        assert_eq!(s.limits, LimitSettings::default());
        assert_eq!(s.limits.max_group_size, 12);
        assert_eq!(s.limits.metrics_token, None);
        let args = ServeArgs {
            limits: LimitArgs {
                max_group_size: Some(30),
                ..Default::default()
            },
            ..Default::default()
        };
        let file =
            "max_group_size = 5\nsockets_per_child = 2\nmetrics_token = \"0123456789abcdef\"\n";
        let s = serve(args, file).unwrap();
        assert_eq!(s.limits.max_group_size, 30, "the flag wins over the file");
        assert_eq!(s.limits.sockets_per_child, 2);
        assert_eq!(s.limits.metrics_token.as_deref(), Some("0123456789abcdef"));
        assert!(!format!("{:?}", s.limits).contains("0123456789abcdef"));
    }

    #[test]
    fn postgres_urls_are_recognised() {
        assert_eq!(
            DatabaseKind::of_url("postgres://u@h/db"),
            Some(DatabaseKind::Postgres)
        );
        assert_eq!(
            DatabaseKind::of_url("postgresql://u@h/db"),
            Some(DatabaseKind::Postgres)
        );
        assert_eq!(
            DatabaseKind::of_url("sqlite::memory:"),
            Some(DatabaseKind::Sqlite)
        );
    }

    #[test]
    fn unspecified_listen_prints_localhost() {
        let args = ServeArgs {
            listen: Some("0.0.0.0:8080".into()),
            ..Default::default()
        };
        assert_eq!(serve(args, "").unwrap().public_url, "http://localhost:8080");
    }
}
