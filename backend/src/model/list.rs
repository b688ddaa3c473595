//! `peerlearn model list`: what is in the models folder, read from each file's GGUF header, so
//! a teacher sees which file is the Llama 3 one without opening it in another tool.

use std::path::Path;

use super::gguf::{self, GgufError, TemplateFamily};
use super::pull::PART_SUFFIX;

/// What the header says about one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub architecture: Option<String>,
    pub template: TemplateFamily,
    pub context_length: Option<u64>,
}

/// One file of the folder.
#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub kind: EntryKind,
}

#[derive(Debug)]
pub enum EntryKind {
    Model(ModelInfo),
    /// A `.gguf` file whose header cannot be read.
    Unreadable(GgufError),
    /// A download `model pull` has not finished (it resumes it).
    Partial,
}

/// Reads the header of the model at `path`.
pub fn info(path: &Path) -> Result<ModelInfo, GgufError> {
    let header = gguf::read_path(path)?;
    Ok(ModelInfo {
        architecture: header.architecture().map(str::to_string),
        template: header.template_family(),
        context_length: header.context_length(),
    })
}

/// The `.gguf` files (and unfinished downloads) in `dir`, by name. A folder that does not exist
/// is empty.
pub fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for item in read {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        let path = item.path();
        // Follows symbolic links: a folder of links to a shared model store is common.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let kind = if lower.ends_with(&format!(".gguf{PART_SUFFIX}")) {
            EntryKind::Partial
        } else if lower.ends_with(".gguf") {
            match info(&path) {
                Ok(i) => EntryKind::Model(i),
                Err(e) => EntryKind::Unreadable(e),
            }
        } else {
            continue;
        };
        entries.push(Entry {
            name,
            size: meta.len(),
            kind,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// The listing as a table, one line per file, columns aligned.
pub fn table(entries: &[Entry]) -> String {
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            let (arch, template, context) = match &e.kind {
                EntryKind::Model(i) => (
                    i.architecture.clone().unwrap_or_else(|| "?".into()),
                    i.template.as_str().to_string(),
                    i.context_length
                        .map_or_else(|| "?".into(), |n| n.to_string()),
                ),
                EntryKind::Unreadable(err) => {
                    (format!("unreadable: it {err}"), "".into(), "".into())
                }
                EntryKind::Partial => (
                    "unfinished download (`peerlearn model pull` resumes it)".into(),
                    "".into(),
                    "".into(),
                ),
            };
            [e.name.clone(), human_size(e.size), arch, template, context]
        })
        .collect();
    let head = ["NAME", "SIZE", "ARCHITECTURE", "TEMPLATE", "CONTEXT"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&head).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&head).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `93.8 MiB`, `1.9 GiB`, `512 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(98_362_432), "93.8 MiB");
        assert_eq!(human_size(2_019_377_696), "1.9 GiB");
    }

    #[test]
    fn a_missing_folder_is_empty_and_other_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("nope")).unwrap().is_empty());
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::write(dir.path().join("b.gguf"), "garbage").unwrap();
        std::fs::write(dir.path().join("a.gguf.part"), "GGUF").unwrap();
        std::fs::create_dir(dir.path().join("c.gguf")).unwrap();
        let entries = list(dir.path()).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.gguf.part", "b.gguf"]);
        assert!(matches!(entries[0].kind, EntryKind::Partial));
        assert!(matches!(
            entries[1].kind,
            EntryKind::Unreadable(GgufError::NotGguf)
        ));
        let table = table(&entries);
        assert!(table.starts_with("NAME "), "{table}");
        assert!(
            table.contains("unreadable: it is not a GGUF file"),
            "{table}"
        );
    }
}
