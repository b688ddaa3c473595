//! The `peerlearn` binary: the command line over the library. Errors from the library are
//! typed; here, at the edge, they become messages and exit codes (2 for bad configuration or
//! bad arguments, 1 for everything else: `peerlearn::cli_error`).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use peerlearn::activity::Catalog;
use peerlearn::cli_error::{self, UsageError};
use peerlearn::config::{
    ConfigFileArg, DatabaseArgs, DatabaseSettings, FileConfig, RetentionArgs, ServeArgs, Settings,
    DEFAULT_PROMPTS_DIR,
};
use peerlearn::join_code;
use peerlearn::store::{self, AgentRole, NewGroup, NewSession, Store};

/// peerlearn: children solve a design problem together in a group chat, with an AI peer as
/// their moderator or fellow participant, while a facilitator watches every group live.
///
/// Configuration: a flag beats its PEERLEARN_* environment variable, which beats the key of the
/// same name in peerlearn.toml, which beats the built-in default.
#[derive(Debug, Parser)]
#[command(name = "peerlearn", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    config: ConfigFileArg,

    /// How log lines are written to stderr: `text` for people, `json` (one object per line)
    /// for a service journal or a log collector.
    #[arg(
        long,
        global = true,
        env = "PEERLEARN_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the classroom web app, the dashboard, the chat sockets and the agent.
    Serve(Box<ServeArgs>),
    /// Manage sessions (one workshop with one or more groups).
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage facilitator accounts (teachers, researchers) for the dashboard.
    #[command(subcommand)]
    Facilitator(FacilitatorCommand),
    /// Export a session's transcripts for analysis (pseudonymised).
    Export(ExportArgs),
    /// Delete every session whose retention period is over (the server also does this on a
    /// timer, see --purge-interval-minutes).
    Purge(PurgeArgs),
    /// Manage a session's codebook for thematic analysis.
    #[command(subcommand)]
    Codebook(peerlearn::analyze::CodebookCommand),
    /// Analyse a session: inter-rater agreement, participation.
    #[command(subcommand)]
    Analyze(peerlearn::analyze::AnalyzeCommand),
    /// Run a scripted classroom session (a scenario) against the real agent and measure it.
    Simulate(peerlearn::simulate::SimulateArgs),
    /// Benchmarks; each prints one JSON object.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Fetch a model into the models folder, or list the models there.
    #[command(subcommand)]
    Model(peerlearn::model::ModelCommand),
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Create a session and print its groups' join codes.
    Create(SessionCreateArgs),
    /// Delete a session and all its data now (messages, children, codings, consent records).
    /// Asks on a terminal; `--yes` for scripts.
    Delete(SessionDeleteArgs),
    /// Record the consent a session's data is collected under.
    Consent(SessionConsentArgs),
}

#[derive(Debug, clap::Args)]
struct PurgeArgs {
    /// Print what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
struct SessionDeleteArgs {
    /// The session to delete.
    id: i64,
    /// Do not ask (needed when standard input is not a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
struct SessionConsentArgs {
    /// The session the consent is for.
    id: i64,
    /// Whose consent: school, parents, child-assent or other.
    #[arg(long)]
    kind: String,
    /// The day it was given, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// What was consented to, or where the signed forms are (required for `other`).
    #[arg(long, default_value = "")]
    note: String,
    /// The facilitator recording it (their name), if any.
    #[arg(long)]
    facilitator: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
enum FacilitatorCommand {
    /// Add a facilitator. Asks for the password on a terminal, else reads its first line from
    /// standard input (`echo "$PW" | peerlearn facilitator add ms-lee`).
    Add {
        /// The name to sign in with.
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, clap::Args)]
struct SessionCreateArgs {
    /// The activity the groups work on (`peerlearn session create --activity ?` lists them).
    #[arg(long)]
    activity: String,
    /// Number of groups.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    groups: u32,
    /// The agent's role in every group: moderator, participant, or none (control condition).
    #[arg(long, default_value = "moderator", value_parser = parse_role)]
    agent_role: AgentRole,
    /// The agent's name, as children see it.
    #[arg(long, default_value = "Blue")]
    agent_name: String,
    /// The session's language (the agent speaks it), e.g. en, de, fr.
    #[arg(long, default_value = "en")]
    language: String,
    /// How the safety screen treats mild words ("damn", "heck"): strict holds them for the
    /// teacher, standard masks them, relaxed lets them through. Personal data, harm and
    /// disclosures are screened at every level.
    #[arg(long, default_value = "standard", value_parser = parse_safety_level)]
    safety_level: peerlearn::safety::Level,
    /// Folder with roles, activities and scenarios. [file key: prompts_dir] [default: prompts]
    #[arg(long, env = "PEERLEARN_PROMPTS_DIR", value_name = "DIR")]
    prompts_dir: Option<std::path::PathBuf>,
    /// The facilitator who owns the session (it shows on their dashboard).
    #[arg(long)]
    facilitator: Option<String>,
    /// Leave the session waiting for a facilitator to start it from the dashboard; by default
    /// it starts at once, so the agent opens as soon as children join.
    #[arg(long)]
    no_start: bool,
    #[command(flatten)]
    retention: RetentionArgs,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The session to export.
    #[arg(long)]
    session: i64,
    /// csv, jsonl, txt (a readable script), qdpx (REFI-QDA for NVivo, ATLAS.ti, MAXQDA,
    /// QualCoder; with the codebook and codings) or qdc (the codebook alone).
    #[arg(long, default_value = "csv")]
    format: peerlearn::export::Format,
    /// Only this group (by id).
    #[arg(long)]
    group: Option<i64>,
    /// `numbered` (Child 1, Child 2...; nicknames also removed from texts) or `nicknames`.
    #[arg(long, default_value = "numbered", value_parser = parse_pseudonyms)]
    pseudonyms: peerlearn_transcripts::PseudonymMode,
    /// Also export messages a facilitator hid.
    #[arg(long)]
    include_hidden: bool,
    /// Start a CSV with a UTF-8 byte order mark, so Excel shows non-English text correctly.
    #[arg(long)]
    bom: bool,
    /// Write CSV text cells as they are, without the `'` put in front of those that start
    /// with `=`, `+`, `-`, `@`, tab or CR (which spreadsheets would run as formulas). Only for
    /// files read by R or pandas, never opened in a spreadsheet.
    #[arg(long)]
    no_formula_guard: bool,
    /// Keep the coders' names in a .qdpx (by default they are Coder 1, Coder 2, ...).
    #[arg(long)]
    keep_coder_names: bool,
    /// Where to write; `-` for standard output. [default: session-ID.FORMAT]
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

fn parse_pseudonyms(s: &str) -> Result<peerlearn_transcripts::PseudonymMode, String> {
    match s {
        "numbered" => Ok(peerlearn_transcripts::PseudonymMode::Numbered),
        "nicknames" => Ok(peerlearn_transcripts::PseudonymMode::Nicknames),
        other => Err(format!(
            "unknown pseudonyms {other:?}; expected numbered or nicknames"
        )),
    }
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Many rooms of children chatting over loopback WebSockets: delivery, loss, memory.
    Chat(peerlearn::bench::chat::ChatBenchArgs),
    /// The inference engine under a fixed multi-room group-chat workload.
    Engine(peerlearn::bench::engine::EngineBenchArgs),
    /// Exports of a large seeded session through the store: CSV and QDPX times, peak memory.
    Export(peerlearn::bench::export::ExportBenchArgs),
    /// Every socket drops and reconnects at once, each resuming from its last seq.
    Storm(peerlearn::bench::storm::StormBenchArgs),
    /// The child-safety screen over labelled corpora: recall, false positives, cost per message.
    Safety(peerlearn::bench::safety::SafetyBenchArgs),
}

fn parse_safety_level(s: &str) -> Result<peerlearn::safety::Level, String> {
    s.parse()
}

fn parse_role(s: &str) -> Result<AgentRole, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli_error::exit_code(&err))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(&cli.config)?;
    match cli.command {
        Command::Serve(args) => serve(&args, &file).await,
        Command::Session(SessionCommand::Create(args)) => create_session(args, &file).await,
        Command::Session(SessionCommand::Delete(args)) => delete_session(args, &file).await,
        Command::Session(SessionCommand::Consent(args)) => add_consent(args, &file).await,
        Command::Purge(args) => purge(args, &file).await,
        Command::Facilitator(FacilitatorCommand::Add { name, database }) => {
            add_facilitator(&name, &database, &file).await
        }
        Command::Export(args) => export(args, &file).await,
        Command::Codebook(cmd) => peerlearn::analyze::run_codebook(cmd, &file).await,
        Command::Analyze(cmd) => peerlearn::analyze::run_analyze(cmd, &file).await,
        Command::Model(cmd) => peerlearn::model::run(cmd).await,
        Command::Simulate(args) => {
            let report = peerlearn::simulate::run_command(&args, &file).await?;
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{}", report.summary());
            }
            Ok(())
        }
        Command::Bench(BenchCommand::Chat(args)) => {
            let report = peerlearn::bench::chat::run(args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Engine(args)) => {
            let report = peerlearn::bench::engine::run(args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Export(args)) => {
            let report = peerlearn::bench::export::run(args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Storm(args)) => {
            let report = peerlearn::bench::storm::run(args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Safety(args)) => {
            let json = args.json;
            let report = peerlearn::bench::safety::run(args)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", peerlearn::bench::safety::summary(&report));
            }
            Ok(())
        }
    }
}

async fn serve(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<()> {
    let settings = Settings::resolve(args, file)?;
    let server = peerlearn::server::start(&settings).await?;
    tracing::info!(addr = %server.addr, database = settings.database.kind.name(), "listening");
    println!(
        "peerlearn is running. Open {}/ in a browser (Ctrl-C stops it).",
        settings.public_url
    );
    server
        .run_until_signal()
        .await
        .context("server stopped with an error")
}

async fn create_session(args: SessionCreateArgs, file: &FileConfig) -> anyhow::Result<()> {
    let prompts_dir = args
        .prompts_dir
        .clone()
        .or_else(|| file.prompts_dir.clone())
        .unwrap_or_else(|| DEFAULT_PROMPTS_DIR.into());
    let catalog = Catalog::load(&prompts_dir)?;
    if catalog.get(&args.activity).is_none() {
        let known = catalog
            .all()
            .map(|a| format!("  {:<14} {}", a.id, a.title))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(UsageError(format!(
            "unknown activity {:?}; the known activities are:\n{known}",
            args.activity
        ))
        .into());
    }
    let name = args.agent_name.trim();
    if name.is_empty() || name.chars().count() > 24 {
        return Err(UsageError("--agent-name must be 1 to 24 characters".into()).into());
    }
    let retention_days = args.retention.resolve(file)?;
    let settings = DatabaseSettings::resolve(&args.database, file)?;
    let store = Store::connect(&settings).await?;
    let facilitator_id = match &args.facilitator {
        Some(name) => match store.facilitator_by_name(name).await {
            Ok(f) => Some(f.id),
            Err(store::StoreError::NotFound(_)) => {
                return Err(UsageError(format!(
                    "no facilitator is called {name:?}; add one with `peerlearn facilitator add`"
                ))
                .into())
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let new = NewSession {
        facilitator_id,
        activity_id: args.activity.clone(),
        language: args.language.clone(),
        agent_name: name.to_string(),
        groups: NewGroup::numbered_as((0..args.groups).map(|_| args.agent_role), |n| {
            peerlearn::i18n::Lang::of_session(&args.language).t1("dash-group-n", "index", n)
        }),
        created_at: store::now_ms(),
        phase_minutes: None,
        safety_level: args.safety_level.as_str().into(),
    };
    let (mut session, groups) = store
        .create_session_with_retention(&new, retention_days)
        .await?;
    if !args.no_start {
        session = store
            .set_session_status(session.id, store::SessionStatus::Running, store::now_ms())
            .await?;
    }
    println!(
        "session {} created ({}): activity {}, agent {} as {}, data kept {} days after it ends",
        session.id,
        session.status,
        session.activity_id,
        session.agent_name,
        args.agent_role,
        session.retention_days
    );
    for g in &groups {
        println!(
            "  {:<10} join code {}",
            g.name,
            join_code::display(&g.join_code)
        );
    }
    store.close().await;
    Ok(())
}

async fn add_facilitator(
    name: &str,
    database: &DatabaseArgs,
    file: &FileConfig,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    peerlearn::auth::check_name(name).map_err(|e| UsageError(e.to_string()))?;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {name}: "))?;
        let again = rpassword::prompt_password("The same password again: ")?;
        if first != again {
            return Err(UsageError("the two passwords differ; nothing was changed".into()).into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let hash = tokio::task::spawn_blocking(move || peerlearn::auth::hash_password(&password))
        .await?
        .map_err(|e| UsageError(e.to_string()))?;
    let settings = DatabaseSettings::resolve(database, file)?;
    let store = Store::connect(&settings).await?;
    let added = store.add_facilitator(name, &hash, store::now_ms()).await;
    store.close().await;
    match added {
        Ok(f) => {
            println!("facilitator {} added (id {})", f.name, f.id);
            Ok(())
        }
        Err(e @ store::AddFacilitatorError::NameTaken(_)) => Err(UsageError(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}

/// "2026-11-26" from milliseconds since the epoch.
fn day_of(ms: i64) -> String {
    peerlearn_transcripts::iso8601(ms)[..10].to_string()
}

async fn purge(args: PurgeArgs, file: &FileConfig) -> anyhow::Result<()> {
    let settings = DatabaseSettings::resolve(&args.database, file)?;
    let store = Store::connect(&settings).await?;
    let now = store::now_ms();
    if args.dry_run {
        let expired = store.expired_sessions(now).await?;
        for e in &expired {
            let rows = store.session_rows(e.session_id).await?;
            println!(
                "would delete session {} (kept {} days from {}, expired {}): {}",
                e.session_id,
                e.retention_days,
                day_of(e.counted_from),
                day_of(e.expired_at),
                rows.detail()
            );
        }
        println!(
            "{} session{} past {} retention period; nothing was deleted (--dry-run)",
            expired.len(),
            if expired.len() == 1 { " is" } else { "s are" },
            if expired.len() == 1 { "its" } else { "their" }
        );
    } else {
        let done = store.purge_expired(now).await?;
        for (e, rows) in &done {
            println!(
                "deleted session {} (kept {} days from {}, expired {}): {}",
                e.session_id,
                e.retention_days,
                day_of(e.counted_from),
                day_of(e.expired_at),
                rows.detail()
            );
        }
        println!(
            "purged {} session{}",
            done.len(),
            if done.len() == 1 { "" } else { "s" }
        );
    }
    store.close().await;
    Ok(())
}

async fn delete_session(args: SessionDeleteArgs, file: &FileConfig) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let settings = DatabaseSettings::resolve(&args.database, file)?;
    let store = Store::connect(&settings).await?;
    let session = match store.session(args.id).await {
        Ok(s) => s,
        Err(store::StoreError::NotFound(_)) => {
            return Err(UsageError(format!("session {} not found", args.id)).into())
        }
        Err(e) => return Err(e.into()),
    };
    if matches!(
        session.status,
        store::SessionStatus::Running | store::SessionStatus::Paused
    ) {
        return Err(UsageError(format!(
            "session {} is {}; end it on the dashboard first, so no child is still writing",
            session.id, session.status
        ))
        .into());
    }
    let rows = store.session_rows(session.id).await?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!(
                "refusing to delete session {} without confirmation: standard input is not a \
                 terminal; pass --yes",
                session.id
            ))
            .into());
        }
        eprint!(
            "Delete session {} ({}) and all its data ({})? This cannot be undone. [y/N] ",
            session.id,
            session.activity_id,
            rows.detail()
        );
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            store.close().await;
            anyhow::bail!("nothing was deleted");
        }
    }
    let deleted = match store
        .delete_session(
            session.id,
            store::Deleter::CommandLine,
            "reason=request",
            store::now_ms(),
        )
        .await
    {
        Ok(d) => d,
        Err(store::StoreError::NotFound(_)) => {
            return Err(UsageError(format!("session {} not found", args.id)).into())
        }
        Err(e) => return Err(e.into()),
    };
    println!("deleted session {}: {}", session.id, deleted.detail());
    store.close().await;
    Ok(())
}

async fn add_consent(args: SessionConsentArgs, file: &FileConfig) -> anyhow::Result<()> {
    let consent = store::check_consent(&args.kind, &args.date, &args.note, store::now_ms())
        .map_err(UsageError)?;
    let settings = DatabaseSettings::resolve(&args.database, file)?;
    let store = Store::connect(&settings).await?;
    let recorded_by = match &args.facilitator {
        Some(name) => match store.facilitator_by_name(name).await {
            Ok(f) => Some(f.id),
            Err(store::StoreError::NotFound(_)) => {
                return Err(UsageError(format!("no facilitator is called {name:?}")).into())
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let record = match store
        .add_consent(args.id, &consent, recorded_by, store::now_ms())
        .await
    {
        Ok(r) => r,
        Err(store::StoreError::NotFound(_)) => {
            return Err(UsageError(format!("session {} not found", args.id)).into())
        }
        Err(e) => return Err(e.into()),
    };
    store
        .audit(
            recorded_by,
            "add_consent",
            &format!("session {}", args.id),
            &format!(
                "consent={} kind={} given_on={} via=command line",
                record.id, record.kind, record.given_on
            ),
            store::now_ms(),
        )
        .await?;
    println!(
        "consent {} recorded for session {}: {} on {}",
        record.id, args.id, record.kind, record.given_on
    );
    store.close().await;
    Ok(())
}

async fn export(args: ExportArgs, file: &FileConfig) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let settings = DatabaseSettings::resolve(&args.database, file)?;
    let store = Store::connect(&settings).await?;
    let header = match peerlearn::export::session_header(&store, args.session, args.group).await {
        Ok(h) => h,
        Err(e) if e.is_usage() => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    let options = peerlearn_transcripts::ExportOptions {
        pseudonyms: args.pseudonyms,
        include_hidden: args.include_hidden,
        groups: args.group.map(|g| vec![g]),
        csv_bom: args.bom,
        csv_formula_guard: !args.no_formula_guard,
        pseudonymise_coders: !args.keep_coder_names,
        ..Default::default()
    };
    let mut total = 0;
    for g in &header.groups {
        if args.group.is_none_or(|only| only == g.id) {
            total += store.message_count(g.id).await?;
        }
    }
    let show_progress = std::io::stderr().is_terminal() && total > 10_000;
    let progress = |done: u64| {
        if show_progress {
            eprint!("\rexporting: {done} of {total} messages");
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| format!("session-{}.{}", args.session, args.format.extension()).into());
    let to_stdout = out.as_os_str() == "-";
    // The consent records go beside a CSV, JSON Lines or text transcript (a .qdpx holds them).
    let consent_out = (!to_stdout
        && matches!(
            args.format,
            peerlearn::export::Format::Transcript(
                peerlearn_transcripts::ExportFormat::Csv
                    | peerlearn_transcripts::ExportFormat::Jsonl
                    | peerlearn_transcripts::ExportFormat::Txt
            )
        ))
    .then(|| consent_path(&out));
    let detail =
        |utterances: &str| {
            format!(
            "format={} group={} pseudonyms={:?} include_hidden={} coder_names={} utterances={}{}",
            args.format.extension(),
            args.group
                .map_or_else(|| "all".to_string(), |g| g.to_string()),
            args.pseudonyms,
            args.include_hidden,
            if args.keep_coder_names { "kept" } else { "pseudonymised" },
            utterances,
            consent_out
                .as_ref()
                .map_or_else(String::new, |p| format!(" consent_file={}", p.display()))
        )
        };
    // The audit entry is written before anything leaves: if it cannot be written, nothing
    // is exported (a file is kept as `.partial` until then, and removed on failure).
    let audit = |detail: String| {
        let store = store.clone();
        async move {
            store
                .audit(
                    None,
                    "export",
                    &format!("session {}", args.session),
                    &detail,
                    store::now_ms(),
                )
                .await
                .context("cannot write the audit log entry for this export; nothing was exported")
        }
    };
    let summary = if to_stdout {
        audit(detail("streamed")).await?;
        let stdout = std::io::stdout().lock();
        peerlearn::export::write_file(
            &store,
            &header,
            args.format,
            &options,
            std::io::BufWriter::new(stdout),
            progress,
        )
        .await
        .map_err(UsageError::or_failure)?
    } else {
        // Write beside the target and rename at the end: a failed export leaves no half file.
        let partial = out.with_extension(format!("{}.partial", args.format.extension()));
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let result = peerlearn::export::write_file(
            &store,
            &header,
            args.format,
            &options,
            std::io::BufWriter::new(file),
            progress,
        )
        .await;
        let result = match (result, &consent_out) {
            (Ok(summary), Some(path)) => write_consent_file(&header, &options, path)
                .map(|_| summary)
                .map_err(|e| e.context(format!("cannot write {}", path.display()))),
            (Ok(summary), None) => Ok(summary),
            (Err(e), _) => Err(UsageError::or_failure(e)),
        };
        let result = match result {
            Ok(summary) => audit(detail(&summary.utterances.to_string()))
                .await
                .map(|_| summary),
            Err(e) => Err(e),
        };
        match result {
            Ok(summary) => {
                std::fs::rename(&partial, &out)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                summary
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                if let Some(path) = &consent_out {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    };
    if show_progress {
        eprintln!();
    }
    if !to_stdout && args.format == peerlearn::export::Format::Qdc {
        eprintln!(
            "exported the codebook of session {} to {}",
            args.session,
            out.display()
        );
    } else if !to_stdout {
        eprintln!(
            "exported {} messages of session {} to {}{}",
            summary.utterances,
            args.session,
            out.display(),
            consent_out.as_ref().map_or_else(String::new, |p| format!(
                " (consent records: {})",
                p.display()
            ))
        );
    }
    std::io::stderr().flush().ok();
    store.close().await;
    Ok(())
}

/// `out/session-1.csv` -> `out/session-1-consent.csv`.
fn consent_path(out: &std::path::Path) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "export".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-consent.csv"))
}

fn write_consent_file(
    header: &peerlearn_transcripts::SessionExport,
    options: &peerlearn_transcripts::ExportOptions,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    peerlearn::export::write_consent_csv(header, options, &mut file)?;
    file.flush()?;
    Ok(())
}

/// The form of the log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PEERLEARN_LOG")
        // llama.cpp logs every load and context detail at info: keep its warnings only.
        .unwrap_or_else(|_| EnvFilter::new("info,llama-cpp-2=warn"));
    // Colour codes only for a person at a terminal: a log file or a service journal gets
    // plain text.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
