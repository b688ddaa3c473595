//! The research commands beside `export`: `peerlearn codebook import`, `peerlearn analyze irr`
//! and `peerlearn analyze participation`. The work is in [`crate::export`] and the store;
//! this module is the command line over it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use peerlearn_transcripts as tx;

use crate::cli_error::UsageError;
use crate::config::{DatabaseArgs, DatabaseSettings, FileConfig};
use crate::export::{self, ParticipationTable};
use crate::store::{self, CodingError, Store};

#[derive(Debug, clap::Subcommand)]
pub enum CodebookCommand {
    /// Import a codebook (REFI-QDA .qdc, or CSV with a name column) into a session. Codes
    /// already there (same GUID or name) are updated; a malformed file imports nothing.
    Import(CodebookImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct CodebookImportArgs {
    /// The session whose codebook receives the codes.
    #[arg(long)]
    pub session: i64,
    /// The .qdc or .csv file.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum AnalyzeCommand {
    /// Inter-rater agreement on a session's codings: Cohen's kappa per code for each pair of
    /// coders and Krippendorff's alpha (nominal) over all coders.
    Irr(IrrArgs),
    /// Participation per group and per speaker as CSV: turns, words, share of talk, Gini of
    /// children's turns, the agent's share and reply latency, directives and compliance.
    Participation(ParticipationArgs),
}

#[derive(Debug, clap::Args)]
pub struct IrrArgs {
    #[arg(long)]
    pub session: i64,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
    /// What a coder who applied no code to an utterance means: `groups-coded` (they looked at
    /// every utterance of each group they coded in), `all-units` (they looked at everything)
    /// or `units-coded` (only at utterances they coded).
    #[arg(long, default_value = "groups-coded", value_parser = parse_coverage)]
    pub coverage: tx::agreement::Coverage,
    /// Count hidden messages as units too.
    #[arg(long)]
    pub include_hidden: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
pub struct ParticipationArgs {
    #[arg(long)]
    pub session: i64,
    /// Only this group (by id).
    #[arg(long)]
    pub group: Option<i64>,
    /// Count hidden messages too.
    #[arg(long)]
    pub include_hidden: bool,
    /// Where the per-group table goes; the per-speaker table goes beside it with `-speakers`
    /// before the extension. `-` prints both tables, separated by an empty line.
    /// [default: session-ID-participation.csv]
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

fn parse_coverage(s: &str) -> Result<tx::agreement::Coverage, String> {
    use tx::agreement::Coverage;
    match s {
        "groups-coded" => Ok(Coverage::GroupsCoded),
        "all-units" => Ok(Coverage::AllUnits),
        "units-coded" => Ok(Coverage::UnitsCoded),
        other => Err(format!(
            "unknown coverage {other:?}; expected groups-coded, all-units or units-coded"
        )),
    }
}

async fn connect(args: &DatabaseArgs, file: &FileConfig) -> anyhow::Result<Store> {
    let settings = DatabaseSettings::resolve(args, file)?;
    Ok(Store::connect(&settings).await?)
}

pub async fn run_codebook(cmd: CodebookCommand, file: &FileConfig) -> anyhow::Result<()> {
    let CodebookCommand::Import(args) = cmd;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.file.display())))?;
    let store = connect(&args.database, file).await?;
    let summary = match store
        .import_codebook_file(args.session, &bytes, store::now_ms())
        .await
    {
        Ok(s) => s,
        Err(CodingError::Store(store::StoreError::NotFound(_))) => {
            return Err(UsageError(format!("session {} not found", args.session)).into())
        }
        Err(e) if e.is_usage() => {
            return Err(UsageError(format!(
                "{}: {e}; nothing was imported",
                args.file.display()
            ))
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    store
        .audit(
            None,
            "codebook_import",
            &format!("session {}", args.session),
            &format!(
                "file={} created={} updated={}",
                args.file.display(),
                summary.created,
                summary.updated
            ),
            store::now_ms(),
        )
        .await?;
    println!(
        "imported {} codes into session {} ({} new, {} updated)",
        summary.created + summary.updated,
        args.session,
        summary.created,
        summary.updated
    );
    store.close().await;
    Ok(())
}

pub async fn run_analyze(cmd: AnalyzeCommand, file: &FileConfig) -> anyhow::Result<()> {
    match cmd {
        AnalyzeCommand::Irr(args) => irr(args, file).await,
        AnalyzeCommand::Participation(args) => participation(args, file).await,
    }
}

async fn irr(args: IrrArgs, file: &FileConfig) -> anyhow::Result<()> {
    let store = connect(&args.database, file).await?;
    let header = export::session_header(&store, args.session, None)
        .await
        .map_err(UsageError::or_failure)?;
    let options = tx::ExportOptions {
        include_hidden: args.include_hidden,
        ..Default::default()
    };
    let report = export::agreement(&store, &header, &options, args.coverage)
        .await
        .map_err(UsageError::or_failure)?;
    store.close().await;
    if report.coders.len() < 2 {
        let who = if report.coders.is_empty() {
            "no coder has coded anything yet".to_string()
        } else {
            format!("only {} has coded", report.coders.join(", "))
        };
        return Err(UsageError(format!(
            "agreement needs codings by at least two coders; in session {} {who}",
            args.session
        ))
        .into());
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", irr_table(args.session, &report))?;
    }
    Ok(())
}

/// The agreement report as a table for a terminal.
fn irr_table(session: i64, r: &tx::agreement::AgreementReport) -> String {
    use std::fmt::Write as _;
    let num = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "session {session}: {} coders ({}), {} utterances, coverage {:?}",
        r.coders.len(),
        r.coders.join(", "),
        r.units,
        r.coverage
    );
    if r.ignored_codings > 0 {
        let _ = writeln!(
            s,
            "{} codings left out (hidden or filtered utterances)",
            r.ignored_codings
        );
    }
    let width = r
        .codes
        .iter()
        .map(|c| c.code_name.chars().count())
        .chain([4])
        .max()
        .unwrap_or(4)
        .min(40);
    let _ = writeln!(
        s,
        "\n{:<width$}  {:>7}  {:>6}  {:<24}  {:>6}  {:>6}",
        "code", "applied", "alpha", "coders", "units", "kappa"
    );
    for c in &r.codes {
        let name: String = c.code_name.chars().take(width).collect();
        for (i, p) in c.pairs.iter().enumerate() {
            let pair = format!("{} / {}", p.coder_a, p.coder_b);
            if i == 0 {
                let _ = writeln!(
                    s,
                    "{name:<width$}  {:>7}  {:>6}  {pair:<24}  {:>6}  {:>6}",
                    c.applications,
                    num(c.alpha.alpha),
                    p.kappa.n,
                    num(p.kappa.kappa)
                );
            } else {
                let _ = writeln!(
                    s,
                    "{:<width$}  {:>7}  {:>6}  {pair:<24}  {:>6}  {:>6}",
                    "",
                    "",
                    "",
                    p.kappa.n,
                    num(p.kappa.kappa)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n\"-\": undefined (no units both coders covered, or no variation at all)"
    );
    s
}

async fn participation(args: ParticipationArgs, file: &FileConfig) -> anyhow::Result<()> {
    let store = connect(&args.database, file).await?;
    let header = export::session_header(&store, args.session, args.group)
        .await
        .map_err(UsageError::or_failure)?;
    let options = tx::ExportOptions {
        include_hidden: args.include_hidden,
        groups: args.group.map(|g| vec![g]),
        ..Default::default()
    };
    let report = export::participation(&store, &header, &options)
        .await
        .map_err(UsageError::or_failure)?;
    let out = args
        .out
        .unwrap_or_else(|| format!("session-{}-participation.csv", args.session).into());
    // Per-child figures leave the system like a transcript does, so they are audited alike.
    store
        .audit(
            None,
            "export",
            &format!("session {}", args.session),
            &format!(
                "format=participation group={} include_hidden={}",
                args.group
                    .map_or_else(|| "all".to_string(), |g| g.to_string()),
                args.include_hidden
            ),
            store::now_ms(),
        )
        .await?;
    store.close().await;
    if out.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        tx::participation::write_groups_csv(&report, &mut stdout)?;
        writeln!(stdout)?;
        tx::participation::write_speakers_csv(&report, &mut stdout)?;
        return Ok(());
    }
    let speakers = speakers_path(&out);
    for (path, table) in [
        (&out, ParticipationTable::Groups),
        (&speakers, ParticipationTable::Speakers),
    ] {
        let mut bytes = Vec::new();
        match table {
            ParticipationTable::Groups => tx::participation::write_groups_csv(&report, &mut bytes)?,
            ParticipationTable::Speakers => {
                tx::participation::write_speakers_csv(&report, &mut bytes)?
            }
        }
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "participation of session {}: {} groups in {}, {} speakers in {}",
        args.session,
        report.groups.len(),
        out.display(),
        report.speakers.len(),
        speakers.display()
    );
    Ok(())
}

/// `x.csv` -> `x-speakers.csv`.
fn speakers_path(groups: &Path) -> PathBuf {
    let stem = groups
        .file_stem()
        .map_or_else(|| "participation".into(), |s| s.to_string_lossy());
    let name = match groups.extension() {
        Some(ext) => format!("{stem}-speakers.{}", ext.to_string_lossy()),
        None => format!("{stem}-speakers"),
    };
    groups.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_table_goes_beside_the_groups_table() {
        assert_eq!(
            speakers_path(Path::new("out/p.csv")),
            PathBuf::from("out/p-speakers.csv")
        );
        assert_eq!(speakers_path(Path::new("p")), PathBuf::from("p-speakers"));
    }
}
