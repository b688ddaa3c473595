//! Model files: the check that runs before the server opens its port (so a wrong `--model` is
//! a clear message at start rather than a failure in front of the children), and the `model`
//! commands that fetch a model into the models folder ([`pull`]) and show what is there
//! ([`list`]), both reading GGUF headers with [`gguf`].

pub mod gguf;
pub mod list;
pub mod progress;
pub mod pull;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli_error::UsageError;

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("the model file {path} does not exist{hint}")]
    Missing { path: String, hint: &'static str },
    #[error("the model file {path} cannot be read: {cause}")]
    Unreadable { path: String, cause: String },
    #[error(
        "the model file {path} is not a GGUF file (it does not start with the GGUF magic bytes)"
    )]
    NotGguf { path: String },
}

/// Confirms that `path` exists and starts with the GGUF magic (`GGUF`).
pub fn check_gguf(path: &Path) -> Result<(), ModelFileError> {
    let shown = path.display().to_string();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = if path == Path::new(crate::config::DEFAULT_MODEL) {
                "; run scripts/fetch-model.sh to fetch the default model, or pass --model PATH"
            } else {
                "; pass --model with the path of a GGUF file"
            };
            return Err(ModelFileError::Missing { path: shown, hint });
        }
        Err(e) => {
            return Err(ModelFileError::Unreadable {
                path: shown,
                cause: e.to_string(),
            })
        }
    };
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(ModelFileError::NotGguf { path: shown });
    }
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == gguf::MAGIC => Ok(()),
        Ok(()) => Err(ModelFileError::NotGguf { path: shown }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(ModelFileError::NotGguf { path: shown })
        }
        Err(e) => Err(ModelFileError::Unreadable {
            path: shown,
            cause: e.to_string(),
        }),
    }
}

/// The file name without its extension, as the model's display name.
pub fn display_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The models folder: where `serve`'s default `--model` lives (`models`).
pub fn default_dir() -> PathBuf {
    Path::new(crate::config::DEFAULT_MODEL)
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Download a GGUF model into the models folder. A broken download resumes (retried at
    /// once, and by running the same command again); the file gets its name only when it is
    /// complete and its checksum checked.
    Pull(PullArgs),
    /// The models in the models folder: size, architecture, chat template, context length.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// A URL (https://...), or hf:OWNER/REPO/FILE for a file of a Hugging Face repository,
    /// e.g. hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf
    pub source: String,
    /// The file's expected SHA-256 (64 hex digits); a download that differs is removed.
    /// Without it, the SHA-256 is printed so it can be pinned next time.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub dir: DirArg,
    /// The name to save the file as (ending in .gguf). [default: the source's last part]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace a file of the same name in the folder.
    #[arg(long)]
    pub force: bool,
    /// Failed attempts in a row retried, with backoff, before giving up (a later run resumes
    /// all the same).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
    /// The Hugging Face server hf: sources are fetched from (a mirror). The token in HF_TOKEN,
    /// when set, is sent to it as a bearer token (for gated repositories).
    #[arg(long, env = "HF_ENDPOINT", default_value = pull::DEFAULT_HF_ENDPOINT, value_name = "URL")]
    pub hf_endpoint: String,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub dir: DirArg,
}

#[derive(Debug, clap::Args)]
pub struct DirArg {
    /// The models folder. [default: models, the folder of serve's default --model]
    #[arg(long, env = "PEERLEARN_MODELS_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl DirArg {
    pub fn resolve(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(default_dir)
    }
}

/// Runs a `model` command: results go to standard output, progress to standard error.
pub async fn run(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Pull(args) => run_pull(args).await,
        ModelCommand::List(args) => run_list(&args.dir.resolve()),
    }
}

async fn run_pull(args: PullArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let request = pull::Request {
        source: pull::Source::parse(&args.source)?,
        dir: args.dir.resolve(),
        name: args.name,
        sha256: args.sha256.as_deref().map(pull::parse_sha256).transpose()?,
        force: args.force,
        hf_endpoint: args.hf_endpoint,
        hf_token: std::env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
        retries: args.retries,
    };
    eprintln!(
        "downloading {} into {}",
        request.source.url(&request.hf_endpoint),
        request.dir.display()
    );
    let mut progress = progress::Stderr::new(std::io::stderr().is_terminal());
    let pulled = pull::pull(&request, &mut progress).await?;
    let about = pulled.info.as_ref().map_or_else(
        || " (a GGUF version newer than this program reads)".to_string(),
        |i| format!(": {}", describe(i)),
    );
    println!(
        "saved {} ({}){about}",
        pulled.path.display(),
        list::human_size(pulled.size)
    );
    if pulled.checked {
        println!("sha256 {} (matches --sha256)", pulled.sha256);
    } else {
        println!(
            "sha256 {} (pass --sha256 {} to check it on another machine)",
            pulled.sha256, pulled.sha256
        );
    }
    println!("use it: peerlearn serve --model {}", pulled.path.display());
    Ok(())
}

/// `llama, chat template llama3, context 131072 tokens`.
fn describe(info: &list::ModelInfo) -> String {
    format!(
        "{}, chat template {}, context {}",
        info.architecture
            .as_deref()
            .unwrap_or("unknown architecture"),
        info.template.as_str(),
        info.context_length
            .map_or_else(|| "unknown".into(), |n| format!("{n} tokens"))
    )
}

fn run_list(dir: &Path) -> anyhow::Result<()> {
    let entries = list::list(dir).map_err(|e| {
        UsageError(format!(
            "cannot read the models folder {}: {e}",
            dir.display()
        ))
    })?;
    if entries.is_empty() {
        println!(
            "no models in {} yet; fetch one with `peerlearn model pull SOURCE`",
            dir.display()
        );
        return Ok(());
    }
    print!("{}", list::table(&entries));
    let unreadable = entries
        .iter()
        .filter(|e| matches!(e.kind, list::EntryKind::Unreadable(_)))
        .count();
    if unreadable > 0 {
        anyhow::bail!(
            "{unreadable} of the .gguf files in {} cannot be read as GGUF models (see above)",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_gguf_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.gguf");
        assert!(matches!(
            check_gguf(&missing),
            Err(ModelFileError::Missing { .. })
        ));
        let text = dir.path().join("model.gguf");
        std::fs::write(&text, "this is not a model").unwrap();
        assert!(matches!(
            check_gguf(&text),
            Err(ModelFileError::NotGguf { .. })
        ));
        let short = dir.path().join("short.gguf");
        std::fs::write(&short, "GG").unwrap();
        assert!(matches!(
            check_gguf(&short),
            Err(ModelFileError::NotGguf { .. })
        ));
        assert!(matches!(
            check_gguf(dir.path()),
            Err(ModelFileError::NotGguf { .. })
        ));
        let good = dir.path().join("good.gguf");
        std::fs::write(&good, b"GGUF\x03\x00\x00\x00").unwrap();
        check_gguf(&good).unwrap();
    }
}
