//! The command line's errors at its edge: [`UsageError`], a mistake in what the user asked
//! for, and [`exit_code`], the one place that decides what an error means for the exit code.

use crate::bench::safety::CorpusError;
use crate::config::ConfigError;
use crate::export::ExportError;
use crate::model::pull::PullError;

/// A mistake in what the user asked for (exit code 2, like clap's own usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// An export error: the user's mistake (an unknown session or group, no codebook) is a
    /// usage error, anything else a failure.
    pub fn or_failure(e: ExportError) -> anyhow::Error {
        if e.is_usage() {
            UsageError(e.to_string()).into()
        } else {
            e.into()
        }
    }
}

/// 2 for a mistake in what was asked (a usage error, bad configuration, a malformed safety
/// corpus, a bad model source or an existing model file), 1 for a failure.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let asked_wrong = err.downcast_ref::<UsageError>().is_some()
        || err.downcast_ref::<ConfigError>().is_some()
        || err.downcast_ref::<CorpusError>().is_some()
        || err
            .downcast_ref::<PullError>()
            .is_some_and(PullError::is_usage);
    if asked_wrong {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn mistakes_exit_2_and_failures_1() {
        let usage: anyhow::Result<()> = Err(UsageError("session 9 not found".into()).into());
        assert_eq!(exit_code(&usage.context("exporting").unwrap_err()), 2);
        let corpus = anyhow::Error::from(CorpusError {
            file: "c.jsonl".into(),
            line: 3,
            reason: "bad".into(),
        });
        assert_eq!(exit_code(&corpus), 2);
        assert_eq!(
            exit_code(&UsageError::or_failure(ExportError::UnknownSession(9))),
            2
        );
        assert_eq!(exit_code(&anyhow::anyhow!("the disk is full")), 1);
        assert_eq!(
            exit_code(&PullError::Exists("models/m.gguf".into()).into()),
            2
        );
        assert_eq!(
            exit_code(&PullError::DiskFull("models/m.gguf.part".into()).into()),
            1
        );
    }
}
