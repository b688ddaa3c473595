//! The `peerlearn` binary: the command line over the library. Errors from the library are
//! typed; here, at the edge, they become messages and exit codes (2 for bad configuration or
//! bad arguments, 1 for everything else).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use peerlearn::activity::Catalog;
use peerlearn::config::{
    ConfigError, ConfigFileArg, DatabaseArgs, DatabaseSettings, FileConfig, ServeArgs, Settings,
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

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the classroom web app, the dashboard, the chat sockets and the agent.
    Serve(ServeArgs),
    /// Manage sessions (one workshop with one or more groups).
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage facilitator accounts (teachers, researchers) for the dashboard.
    #[command(subcommand)]
    Facilitator(FacilitatorCommand),
    /// Export a session's transcripts for analysis (pseudonymised).
    Export(ExportArgs),
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
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Create a session and print its groups' join codes.
    Create(SessionCreateArgs),
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
    /// The child-safety screen over labelled corpora: recall, false positives, cost per message.
    Safety(peerlearn::bench::safety::SafetyBenchArgs),
}

fn parse_role(s: &str) -> Result<AgentRole, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
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
            if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
                || err
                    .downcast_ref::<peerlearn::analyze::UsageError>()
                    .is_some()
                || err
                    .downcast_ref::<peerlearn::bench::safety::CorpusError>()
                    .is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A mistake in what the user asked for (exit code 2, like clap's own usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(&cli.config)?;
    match cli.command {
        Command::Serve(args) => serve(&args, &file).await,
        Command::Session(SessionCommand::Create(args)) => create_session(args, &file).await,
        Command::Facilitator(FacilitatorCommand::Add { name, database }) => {
            add_facilitator(&name, &database, &file).await
        }
        Command::Export(args) => export(args, &file).await,
        Command::Codebook(cmd) => peerlearn::analyze::run_codebook(cmd, &file).await,
        Command::Analyze(cmd) => peerlearn::analyze::run_analyze(cmd, &file).await,
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
        groups: (1..=args.groups)
            .map(|i| NewGroup {
                name: format!("Group {i}"),
                agent_role: args.agent_role,
            })
            .collect(),
        created_at: store::now_ms(),
        phase_minutes: None,
    };
    let (mut session, groups) = store.create_session(&new).await?;
    if !args.no_start {
        session = store
            .set_session_status(session.id, store::SessionStatus::Running, store::now_ms())
            .await?;
    }
    println!(
        "session {} created ({}): activity {}, agent {} as {}",
        session.id, session.status, session.activity_id, session.agent_name, args.agent_role
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
    let summary = if out.as_os_str() == "-" {
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
        .map_err(export_error)?
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
        match result {
            Ok(summary) => {
                std::fs::rename(&partial, &out)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                summary
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(export_error(e));
            }
        }
    };
    if show_progress {
        eprintln!();
    }
    let detail = format!(
        "format={} group={} pseudonyms={:?} include_hidden={} utterances={}",
        args.format.extension(),
        args.group
            .map_or_else(|| "all".to_string(), |g| g.to_string()),
        args.pseudonyms,
        args.include_hidden,
        summary.utterances
    );
    store
        .audit(
            None,
            "export",
            &format!("session {}", args.session),
            &detail,
            store::now_ms(),
        )
        .await?;
    if out.as_os_str() != "-" && args.format == peerlearn::export::Format::Qdc {
        eprintln!(
            "exported the codebook of session {} to {}",
            args.session,
            out.display()
        );
    } else if out.as_os_str() != "-" {
        eprintln!(
            "exported {} messages of session {} to {}",
            summary.utterances,
            args.session,
            out.display()
        );
    }
    std::io::stderr().flush().ok();
    store.close().await;
    Ok(())
}

fn export_error(e: peerlearn::export::ExportError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PEERLEARN_LOG")
        // llama.cpp logs every load and context detail at info: keep its warnings only.
        .unwrap_or_else(|_| EnvFilter::new("info,llama-cpp-2=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
