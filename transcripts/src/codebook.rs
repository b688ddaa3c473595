//! Codebooks: validation, REFI-QDA `.qdc` export and import, CSV export and import.
//!
//! Imports are all-or-nothing: they return the complete [`Codebook`] or a
//! [`CodebookError`] naming the line and the reason, and never a partial result, so the
//! server can replace a codebook in one transaction.
//!
//! CSV codebooks have a header row. Recognised columns (case-insensitive, any order, others
//! ignored): `name` (also `code`, `tag`, `code name`; required), `description` (also
//! `definition`, `memo`), `color`/`colour`, `parent` (the parent's name or id), `parent_id`,
//! `id`/`guid`. Comma, semicolon (Excel in many European locales) and tab separators are
//! detected from the header; a UTF-8 byte order mark is skipped. Names must be unique
//! (ignoring case) because parents are referenced by name; rows without an id get a GUID
//! derived from the name, so importing the same file twice gives the same ids. Written cells
//! that a spreadsheet would run as a formula get a `'` in front ([`crate::spreadsheet`]); the
//! reader drops a `'` that stands before a formula character, so a written file reads back.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::model::{Code, Codebook};
use crate::qdpx::guid::{guid_for_id, is_guid, GuidGen};
use crate::qdpx::xml;
use crate::spreadsheet::{guard_cell, unguard_cell};

/// Imports larger than this are refused: a codebook is a few hundred codes, and the limit
/// keeps a wrong upload from exhausting memory.
pub const MAX_IMPORT_BYTES: usize = 16 << 20;

/// Why a codebook cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodebookError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("{0}")]
    Invalid(String),
}

fn at(line: u64, reason: impl Into<String>) -> CodebookError {
    CodebookError::Line {
        line,
        reason: reason.into(),
    }
}

/// `#RGB` or `#RRGGBB` (the schema's `RGBType`), normalised to upper-case `#RRGGBB`. A
/// missing `#` is tolerated because spreadsheets often drop it.
pub fn normalize_color(s: &str) -> Option<String> {
    let hex = s.trim();
    let hex = hex.strip_prefix('#').unwrap_or(hex);
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(format!("#{}", hex.to_ascii_uppercase())),
        3 => Some(format!(
            "#{}",
            hex.chars()
                .flat_map(|c| [c, c])
                .collect::<String>()
                .to_ascii_uppercase()
        )),
        _ => None,
    }
}

impl Codebook {
    /// Checks that ids are unique and non-empty, names non-empty, colours valid, parents
    /// listed and free of cycles.
    pub fn validate(&self) -> Result<(), CodebookError> {
        let mut ids = HashSet::new();
        for c in &self.codes {
            if c.id.trim().is_empty() {
                return Err(CodebookError::Invalid(format!(
                    "code {:?} has an empty id",
                    c.name
                )));
            }
            if !ids.insert(c.id.as_str()) {
                return Err(CodebookError::Invalid(format!(
                    "code id {:?} is used twice",
                    c.id
                )));
            }
            if c.name.trim().is_empty() {
                return Err(CodebookError::Invalid(format!(
                    "code {:?} has an empty name",
                    c.id
                )));
            }
            if let Some(col) = &c.color {
                if normalize_color(col).is_none() || !col.starts_with('#') {
                    return Err(CodebookError::Invalid(format!(
                        "code {:?}: colour {col:?} is not #RRGGBB",
                        c.name
                    )));
                }
            }
        }
        for c in &self.codes {
            if let Some(p) = &c.parent {
                if !ids.contains(p.as_str()) {
                    return Err(CodebookError::Invalid(format!(
                        "code {:?}: parent {p:?} is not in the codebook",
                        c.name
                    )));
                }
            }
        }
        let parent: HashMap<&str, &str> = self
            .codes
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.parent.as_deref()?)))
            .collect();
        for c in &self.codes {
            let mut cur = c.id.as_str();
            for _ in 0..=self.codes.len() {
                match parent.get(cur) {
                    Some(p) => cur = p,
                    None => break,
                }
                if cur == c.id {
                    return Err(CodebookError::Invalid(format!(
                        "code {:?} is its own ancestor",
                        c.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Indices of the top-level codes and of each code's children, in listed order.
    pub(crate) fn tree(&self) -> (Vec<usize>, Vec<Vec<usize>>) {
        let index: HashMap<&str, usize> = self
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let mut roots = Vec::new();
        let mut children = vec![Vec::new(); self.codes.len()];
        for (i, c) in self.codes.iter().enumerate() {
            match c.parent.as_deref().and_then(|p| index.get(p)) {
                Some(&p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        (roots, children)
    }
}

/// The GUIDs of the codes (shared by `.qdc` and `.qdpx` so that both import as the same codes).
pub(crate) fn code_guids(codebook: &Codebook, salt: &str) -> Vec<String> {
    let gen = GuidGen::new(salt, None);
    codebook
        .codes
        .iter()
        .map(|c| guid_for_id(&gen, "code", &c.id))
        .collect()
}

/// Writes the `<Code>` elements of the tree (shared with the project writer).
pub(crate) fn write_codes<W: Write + ?Sized>(
    w: &mut W,
    codebook: &Codebook,
    guids: &[String],
) -> std::io::Result<()> {
    fn code<W: Write + ?Sized>(
        w: &mut W,
        cb: &Codebook,
        guids: &[String],
        children: &[Vec<usize>],
        i: usize,
    ) -> std::io::Result<()> {
        let c = &cb.codes[i];
        write!(w, "<Code guid=\"{}\" name=\"", guids[i])?;
        xml::attr(w, c.name.trim())?;
        write!(w, "\" isCodable=\"{}\"", c.codable)?;
        if let Some(col) = c.color.as_deref().and_then(normalize_color) {
            write!(w, " color=\"{col}\"")?;
        }
        let desc = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if desc.is_none() && children[i].is_empty() {
            return w.write_all(b"/>\n");
        }
        w.write_all(b">")?;
        if let Some(d) = desc {
            w.write_all(b"<Description>")?;
            xml::text(w, d)?;
            w.write_all(b"</Description>")?;
        }
        w.write_all(b"\n")?;
        for &child in &children[i] {
            code(w, cb, guids, children, child)?;
        }
        w.write_all(b"</Code>\n")
    }
    let (roots, children) = codebook.tree();
    for r in roots {
        code(w, codebook, guids, &children, r)?;
    }
    Ok(())
}

/// Writes the codebook as a REFI-QDA codebook (`.qdc`, namespace `urn:QDA-XML:codebook:1.0`).
/// `salt` is the same [`crate::ExportOptions::guid_salt`] as for projects.
pub fn write_qdc<W: Write>(codebook: &Codebook, salt: &str, mut out: W) -> Result<()> {
    codebook.validate()?;
    if codebook.codes.is_empty() {
        return Err(CodebookError::Invalid(
            "the codebook has no codes; a .qdc needs at least one".into(),
        )
        .into());
    }
    let guids = code_guids(codebook, salt);
    let mut w = std::io::BufWriter::new(&mut out);
    w.write_all(
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\" origin=\"peerlearn\">\n<Codes>\n",
    )?;
    write_codes(&mut w, codebook, &guids)?;
    w.write_all(b"</Codes>\n</CodeBook>\n")?;
    w.flush()?;
    Ok(())
}

fn read_limited(mut input: impl Read) -> Result<Vec<u8>, CodebookError> {
    let mut buf = Vec::new();
    input
        .by_ref()
        .take(MAX_IMPORT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CodebookError::Invalid(format!("cannot read the codebook: {e}")))?;
    if buf.len() > MAX_IMPORT_BYTES {
        return Err(CodebookError::Invalid(format!(
            "the codebook is larger than {} MiB",
            MAX_IMPORT_BYTES >> 20
        )));
    }
    Ok(buf)
}

fn utf8(buf: Vec<u8>) -> Result<String, CodebookError> {
    String::from_utf8(buf).map_err(|e| {
        let pos = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        at(
            line,
            "the file is not UTF-8 text (save it as \"CSV UTF-8\")",
        )
    })
}

/// Imports a `.qdc` codebook (or the codebook inside a `project.qde`). Namespaces are
/// ignored, because tools in the wild write slightly different ones; structure is checked.
pub fn read_qdc(input: impl Read) -> Result<Codebook, CodebookError> {
    let text = utf8(read_limited(input)?)?;
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{FEFF}'))
        .map_err(|e| at(e.pos().row as u64, format!("not well-formed XML: {e}")))?;
    let line = |n: roxmltree::Node| doc.text_pos_at(n.range().start).row as u64;
    let root = doc.root_element();
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
    }
    let codes = match root.tag_name().name() {
        "CodeBook" => child(root, "Codes"),
        "Project" => child(root, "CodeBook").and_then(|cb| child(cb, "Codes")),
        other => {
            return Err(at(
                line(root),
                format!("the root element is <{other}>, expected <CodeBook> (a .qdc file)"),
            ));
        }
    };
    let Some(codes) = codes else {
        return Err(at(line(root), "there is no <Codes> element"));
    };
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    fn walk(
        node: roxmltree::Node,
        parent: Option<&str>,
        out: &mut Vec<Code>,
        seen: &mut HashMap<String, u64>,
        line: &dyn Fn(roxmltree::Node) -> u64,
    ) -> Result<(), CodebookError> {
        for n in node
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "Code")
        {
            let l = line(n);
            let guid = n
                .attribute("guid")
                .ok_or_else(|| at(l, "<Code> has no guid attribute"))?;
            if !is_guid(guid) {
                return Err(at(
                    l,
                    format!("guid {guid:?} is not an 8-4-4-4-12 hexadecimal GUID"),
                ));
            }
            let guid = guid
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_ascii_lowercase();
            if let Some(first) = seen.insert(guid.clone(), l) {
                return Err(at(
                    l,
                    format!("guid {guid} is used twice (first on line {first})"),
                ));
            }
            let name = n.attribute("name").map(str::trim).unwrap_or_default();
            if name.is_empty() {
                return Err(at(l, "<Code> has no name"));
            }
            let codable = match n.attribute("isCodable") {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(other) => {
                    return Err(at(
                        l,
                        format!("isCodable is {other:?}, expected true or false"),
                    ))
                }
            };
            let color = match n.attribute("color") {
                None => None,
                Some(c) => Some(
                    normalize_color(c)
                        .ok_or_else(|| at(l, format!("color {c:?} is not #RRGGBB")))?,
                ),
            };
            let description = n
                .children()
                .find(|c| c.is_element() && c.tag_name().name() == "Description")
                .map(|d| d.text().unwrap_or_default().trim().to_owned())
                .filter(|d| !d.is_empty());
            out.push(Code {
                id: guid.clone(),
                name: name.to_owned(),
                description,
                color,
                parent: parent.map(str::to_owned),
                codable,
            });
            walk(n, Some(&guid), out, seen, line)?;
        }
        Ok(())
    }
    walk(codes, None, &mut out, &mut seen, &line)?;
    if out.is_empty() {
        return Err(at(line(codes), "the codebook has no codes"));
    }
    Ok(Codebook { codes: out })
}

const NAME: &[&str] = &["name", "code", "tag", "code name", "code_name"];
const DESCRIPTION: &[&str] = &["description", "definition", "memo"];
const COLOR: &[&str] = &["color", "colour"];
const PARENT: &[&str] = &[
    "parent",
    "parent code",
    "parent_code",
    "parent name",
    "category",
];
const PARENT_ID: &[&str] = &["parent_id", "parent id", "parent guid", "parent_guid"];
const ID: &[&str] = &["id", "guid", "code_id", "code id"];

/// Imports a CSV codebook; see the module documentation for the columns.
pub fn read_codebook_csv(input: impl Read) -> Result<Codebook, CodebookError> {
    let text = utf8(read_limited(input)?)?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let header_line = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (header_line.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',');
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let csv_err = |e: ::csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        at(line, format!("not valid CSV: {e}"))
    };
    let mut records = reader.records();
    let header = match records.next() {
        Some(r) => r.map_err(csv_err)?,
        None => {
            return Err(at(
                1,
                "the file is empty; expected a header row with a name column",
            ))
        }
    };
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let name_col = find(NAME).ok_or_else(|| {
        at(
            1,
            format!(
                "the header has no name column (expected one of: {})",
                NAME.join(", ")
            ),
        )
    })?;
    let (desc_col, color_col, parent_col, parent_id_col, id_col) = (
        find(DESCRIPTION),
        find(COLOR),
        find(PARENT),
        find(PARENT_ID),
        find(ID),
    );

    struct Row {
        line: u64,
        code: Code,
        parent_ref: Option<(String, bool)>,
    }
    let gen = GuidGen::new("", None);
    let mut rows: Vec<Row> = Vec::new();
    let mut names: HashMap<String, (usize, u64)> = HashMap::new();
    let mut ids: HashMap<String, (usize, u64)> = HashMap::new();
    for record in records {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |col: Option<usize>| {
            col.and_then(|c| record.get(c))
                .map(|f| unguard_cell(f.trim()))
                .filter(|s| !s.is_empty())
        };
        let name = field(Some(name_col)).ok_or_else(|| at(line, "the code has no name"))?;
        let key = name.to_lowercase();
        if let Some((_, first)) = names.get(&key) {
            return Err(at(
                line,
                format!("the code name {name:?} is used twice (first on line {first})"),
            ));
        }
        let id = match field(id_col) {
            Some(id) if is_guid(id) => id
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_ascii_lowercase(),
            Some(id) => id.to_owned(),
            None => gen
                .derive("code-name", &[key.as_bytes()])
                .as_str()
                .to_owned(),
        };
        if let Some((_, first)) = ids.get(&id) {
            return Err(at(
                line,
                format!("the id {id:?} is used twice (first on line {first})"),
            ));
        }
        let color = match field(color_col) {
            None => None,
            Some(c) => Some(
                normalize_color(c)
                    .ok_or_else(|| at(line, format!("colour {c:?} is not #RRGGBB")))?,
            ),
        };
        let parent_ref = match (field(parent_id_col), field(parent_col)) {
            (Some(pid), _) => Some((pid.to_owned(), true)),
            (None, Some(p)) => Some((p.to_owned(), false)),
            (None, None) => None,
        };
        names.insert(key, (rows.len(), line));
        ids.insert(id.clone(), (rows.len(), line));
        rows.push(Row {
            line,
            code: Code {
                id,
                name: name.to_owned(),
                description: field(desc_col).map(str::to_owned),
                color,
                parent: None,
                codable: true,
            },
            parent_ref,
        });
    }
    if rows.is_empty() {
        return Err(at(1, "the codebook has no codes"));
    }
    for i in 0..rows.len() {
        let Some((reference, by_id)) = rows[i].parent_ref.clone() else {
            continue;
        };
        let by_guid = |r: &str| {
            r.trim_start_matches('{')
                .trim_end_matches('}')
                .to_ascii_lowercase()
        };
        let found = ids
            .get(&reference)
            .or_else(|| ids.get(&by_guid(&reference)))
            .or_else(|| {
                if by_id {
                    None
                } else {
                    names.get(&reference.to_lowercase())
                }
            });
        let Some(&(p, _)) = found else {
            return Err(at(
                rows[i].line,
                format!("the parent {reference:?} is not a code in this file"),
            ));
        };
        rows[i].code.parent = Some(rows[p].code.id.clone());
    }
    let codebook = Codebook {
        codes: rows.iter().map(|r| r.code.clone()).collect(),
    };
    if let Err(CodebookError::Invalid(reason)) = codebook.validate() {
        // Only a parent cycle can get here; name the first code's line that is in it.
        let line = rows
            .iter()
            .find(|r| reason.contains(&format!("{:?}", r.code.name)))
            .map_or(1, |r| r.line);
        return Err(at(line, reason));
    }
    Ok(codebook)
}

/// Imports a codebook from `.qdc` XML or CSV, deciding by the first non-blank character.
pub fn read_codebook(input: impl Read) -> Result<Codebook, CodebookError> {
    let bytes = read_limited(input)?;
    let start = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(&bytes);
    if start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        read_qdc(&bytes[..])
    } else {
        read_codebook_csv(&bytes[..])
    }
}

/// Writes the codebook as CSV with the columns `id,name,description,color,parent,parent_id`
/// (`parent` is the parent's name for people, `parent_id` makes re-import unambiguous).
pub fn write_codebook_csv<W: Write>(codebook: &Codebook, out: W) -> Result<()> {
    codebook.validate()?;
    let by_id: HashMap<&str, &Code> = codebook.codes.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(["id", "name", "description", "color", "parent", "parent_id"])?;
    for c in &codebook.codes {
        let parent = c.parent.as_deref().and_then(|p| by_id.get(p));
        // Text cells guarded against spreadsheet formulas; the reader takes the guard off.
        w.write_record(
            [
                c.id.as_str(),
                c.name.as_str(),
                c.description.as_deref().unwrap_or(""),
                c.color.as_deref().unwrap_or(""),
                parent.map_or("", |p| p.name.as_str()),
                c.parent.as_deref().unwrap_or(""),
            ]
            .map(guard_cell)
            .iter()
            .map(|c| c.as_ref()),
        )?;
    }
    w.flush().map_err(Error::Io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Codebook {
        let mut a = Code::new("0b1f2c3d-0000-4000-8000-000000000001", "Agent as manager");
        a.description = Some("Children treat the agent as a <boss> & defer".into());
        a.color = Some("#FF8800".into());
        a.codable = false;
        let mut b = Code::new(
            "0b1f2c3d-0000-4000-8000-000000000002",
            "Follows instruction",
        );
        b.parent = Some(a.id.clone());
        let mut c = Code::new(
            "0b1f2c3d-0000-4000-8000-000000000003",
            "Ignores instruction \"again\"",
        );
        c.parent = Some(a.id.clone());
        c.color = Some("#00AA11".into());
        let d = Code::new("0b1f2c3d-0000-4000-8000-000000000004", "Idée créative 💡");
        Codebook {
            codes: vec![a, b, c, d],
        }
    }

    #[test]
    fn qdc_round_trip() {
        let cb = sample();
        let mut out = Vec::new();
        write_qdc(&cb, "", &mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("<CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\""));
        assert_eq!(read_qdc(&out[..]).unwrap(), cb);
        assert_eq!(read_codebook(&out[..]).unwrap(), cb);
    }

    #[test]
    fn non_guid_ids_get_derived_guids() {
        let mut cb = Codebook {
            codes: vec![Code::new("12", "a"), Code::new("13", "b")],
        };
        cb.codes[1].parent = Some("12".into());
        let mut out = Vec::new();
        write_qdc(&cb, "salt", &mut out).unwrap();
        let back = read_qdc(&out[..]).unwrap();
        assert!(is_guid(&back.codes[0].id));
        assert_eq!(
            back.codes[1].parent.as_deref(),
            Some(back.codes[0].id.as_str())
        );
    }

    #[test]
    fn csv_cells_are_guarded_and_read_back() {
        let mut cb = sample();
        cb.codes[0].codable = true; // CSV has no isCodable column
        cb.codes[3].name = "=HYPERLINK(\"http://x\",\"ok\")".into();
        cb.codes[3].description = Some("-negative".into());
        let mut out = Vec::new();
        write_codebook_csv(&cb, &mut out).unwrap();
        let mut reader = ::csv::Reader::from_reader(&out[..]);
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                assert!(!crate::spreadsheet::starts_like_formula(cell), "{cell:?}");
            }
        }
        assert_eq!(read_codebook_csv(&out[..]).unwrap(), cb);
    }

    #[test]
    fn csv_round_trip() {
        let mut cb = sample();
        cb.codes[0].codable = true; // CSV has no isCodable column
        let mut out = Vec::new();
        write_codebook_csv(&cb, &mut out).unwrap();
        assert_eq!(read_codebook_csv(&out[..]).unwrap(), cb);
        assert_eq!(read_codebook(&out[..]).unwrap(), cb);
    }

    #[test]
    fn csv_with_names_semicolons_and_bom() {
        let text = "\u{FEFF}Code;Colour;Parent;Definition\nIdeas;f80;;new ideas\nWild idea;#00ff00;ideas;\n\n";
        let cb = read_codebook_csv(text.as_bytes()).unwrap();
        assert_eq!(cb.codes.len(), 2);
        assert_eq!(cb.codes[0].color.as_deref(), Some("#FF8800"));
        assert_eq!(cb.codes[0].description.as_deref(), Some("new ideas"));
        assert_eq!(cb.codes[1].parent.as_deref(), Some(cb.codes[0].id.as_str()));
        assert!(is_guid(&cb.codes[0].id));
        // Deterministic ids.
        assert_eq!(read_codebook_csv(text.as_bytes()).unwrap(), cb);
    }

    fn csv_err(text: &str) -> CodebookError {
        read_codebook_csv(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn csv_errors_name_line_and_reason() {
        assert_eq!(
            csv_err(""),
            at(
                1,
                "the file is empty; expected a header row with a name column"
            )
        );
        assert!(matches!(
            csv_err("label,color\nx,#fff\n"),
            CodebookError::Line { line: 1, .. }
        ));
        assert_eq!(
            csv_err("name,color\na,#fff\nb,blue\n"),
            at(3, "colour \"blue\" is not #RRGGBB")
        );
        assert_eq!(
            csv_err("name\na\nb\nA\n"),
            at(4, "the code name \"A\" is used twice (first on line 2)")
        );
        assert_eq!(
            csv_err("name,parent\na,\nb,zzz\n"),
            at(3, "the parent \"zzz\" is not a code in this file")
        );
        assert_eq!(
            csv_err("name,description\na,x\n,orphan description\n"),
            at(3, "the code has no name")
        );
        assert_eq!(csv_err("name\n"), at(1, "the codebook has no codes"));
        let cycle = csv_err("name,parent\na,b\nb,a\n");
        assert!(
            matches!(cycle, CodebookError::Line { line: 2, .. }),
            "{cycle}"
        );
        let bad_utf8 = read_codebook_csv(&b"name\nok\n\xff\xfe\n"[..]).unwrap_err();
        assert!(
            matches!(bad_utf8, CodebookError::Line { line: 3, .. }),
            "{bad_utf8}"
        );
    }

    #[test]
    fn qdc_errors_name_line_and_reason() {
        let err = |s: &str| read_qdc(s.as_bytes()).unwrap_err();
        assert_eq!(
            err("<CodeBook><Codes>\n<Code guid=\"0b1f2c3d-0000-4000-8000-000000000001\" name=\"a\" isCodable=\"true\"/>\n<Code guid=\"nope\" name=\"b\" isCodable=\"true\"/></Codes></CodeBook>"),
            at(3, "guid \"nope\" is not an 8-4-4-4-12 hexadecimal GUID")
        );
        assert!(matches!(
            err("<CodeBook><Codes>\n<Code name=\"a\"></Codes>"),
            CodebookError::Line { line: 2, .. }
        ));
        assert_eq!(
            err("<Foo/>"),
            at(
                1,
                "the root element is <Foo>, expected <CodeBook> (a .qdc file)"
            )
        );
        assert_eq!(
            err("<CodeBook>\n<Codes/></CodeBook>"),
            at(2, "the codebook has no codes")
        );
        assert_eq!(
            err("<CodeBook><Codes>\n<Code guid=\"0b1f2c3d-0000-4000-8000-000000000001\" name=\"a\" isCodable=\"true\" color=\"red\"/></Codes></CodeBook>"),
            at(2, "color \"red\" is not #RRGGBB")
        );
        let dup = "<CodeBook><Codes>\n<Code guid=\"0b1f2c3d-0000-4000-8000-000000000001\" name=\"a\" isCodable=\"true\">\n<Code guid=\"0B1F2C3D-0000-4000-8000-000000000001\" name=\"b\" isCodable=\"true\"/></Code></Codes></CodeBook>";
        assert_eq!(
            err(dup),
            at(
                3,
                "guid 0b1f2c3d-0000-4000-8000-000000000001 is used twice (first on line 2)"
            )
        );
        // A DTD (entity expansion attacks) is refused.
        assert!(matches!(
            err("<!DOCTYPE x [<!ENTITY a \"b\">]><CodeBook/>"),
            CodebookError::Line { .. }
        ));
    }

    #[test]
    fn validation() {
        let mut cb = sample();
        cb.codes[1].parent = Some("missing".into());
        assert!(cb.validate().is_err());
        let mut cb = sample();
        cb.codes[0].parent = Some(cb.codes[2].id.clone());
        assert!(cb
            .validate()
            .unwrap_err()
            .to_string()
            .contains("own ancestor"));
        let mut cb = sample();
        cb.codes[3].id = cb.codes[0].id.clone();
        assert!(cb.validate().is_err());
        let mut cb = sample();
        cb.codes[3].color = Some("green".into());
        assert!(cb.validate().is_err());
        assert!(write_qdc(&Codebook::default(), "", Vec::new()).is_err());
    }
}
