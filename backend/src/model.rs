//! Checks on the model file that run before the server opens its port, so a wrong `--model`
//! is a clear message at start rather than a failure in front of the children.

use std::io::Read;
use std::path::Path;

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
        Ok(()) if &magic == b"GGUF" => Ok(()),
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
