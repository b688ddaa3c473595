//! The data files of the prompts folder (activities, role templates, fallback lines): which
//! files of a kind a folder holds, and which line of a file an error is on.

use std::path::{Path, PathBuf};

/// The files in `dir` whose name ends in `.{ext}`, sorted so they load in the same order
/// everywhere. A missing or unreadable folder has none: the built-in data is used instead.
pub fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// The 1-based line of a byte offset in `text`, for error messages.
pub fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_one_kind_sorted_and_none_without_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.toml", "a.toml", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = files_in(dir.path(), "toml")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.toml", "b.toml"]);
        assert!(files_in(&dir.path().join("missing"), "toml").is_empty());
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a", 99), 1);
    }
}
