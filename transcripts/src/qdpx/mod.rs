//! REFI-QDA project export (`.qdpx`): a zip holding `project.qde` and `sources/<guid>.txt`.
//!
//! Mapping:
//! * each group's transcript is a `TextSource` whose plain text (`sources/<guid>.txt`, UTF-8,
//!   the same layout as the plain-text script) is referenced as `internal://<guid>.txt`;
//! * each utterance is a `PlainTextSelection` covering exactly its text (not the time and
//!   speaker prefix). Positions are zero-based, the end exclusive, counted in Unicode code
//!   points (or UTF-16 units, see [`crate::PositionUnit`]) of the source text;
//! * each speaker is a `Case` (a child; the agent or a facilitator per group, since their
//!   behaviour is studied per condition) with the variables *Speaker kind*, *Group* and
//!   *Condition*, and a `SelectionRef` to each of their utterances;
//! * the agent's trigger and reason for a turn is a `Note`, referenced from its selection;
//! * the codebook is the `CodeBook`, each coding a `Coding` on the utterance's selection by a
//!   `User` (the coder).
//!
//! GUIDs are derived deterministically ([`guid`]), zip entries carry the export time, so the
//! same data and options give a byte-identical file.
//!
//! Memory stays flat: source texts go straight into the zip while the XML that must come
//! after the cases is spooled to temporary files (module `spool`); only the codings (human-made,
//! thousands, not hundreds of thousands) are held in memory.

pub mod guid;
mod spool;
pub(crate) mod xml;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::codebook::{code_guids, write_codes};
use crate::error::{Error, Result};
use crate::export::{Counting, ExportOptions, ExportSummary, PositionUnit};
use crate::model::{Codebook, Coding, SessionExport, SpeakerKind, Utterance};
use crate::rows::{Pipeline, Row};
use crate::text::{push_group_header, push_line_prefix, push_phase_change};
use crate::time::{iso8601, utc_parts};
use guid::{Guid, GuidGen};
use spool::{temp_file, CaseRefSpool};

const NAMESPACE: &str = "urn:QDA-XML:project:1.0";
const TXT_FLUSH: usize = 64 * 1024;

/// Counts characters as the options say.
fn count(unit: PositionUnit, s: &str) -> u64 {
    match unit {
        PositionUnit::CodePoints => s.chars().count() as u64,
        PositionUnit::Utf16 => s.encode_utf16().count() as u64,
    }
}

struct CaseInfo {
    speaker_idx: usize,
    group_idx: Option<usize>,
    guid: Guid,
    name: String,
}

struct OpenSource {
    group_idx: usize,
    pos: u64,
}

struct CodingRef {
    user: u32,
    code: u32,
    created_at_ms: Option<i64>,
}

/// Streaming QDPX writer; see [`mod@crate::export`] for the push/finish protocol.
pub struct QdpxExport<'s, W: Write> {
    pipe: Pipeline<'s>,
    zip: ZipWriter<StreamWriter<Counting<W>>>,
    entry_options: SimpleFileOptions,
    positions: PositionUnit,
    spool_dir: Option<PathBuf>,
    gen: GuidGen,
    global_gen: GuidGen,
    exported_at: String,
    codebook: &'s Codebook,
    code_guids: Vec<String>,
    users: Vec<(String, Guid)>,
    codings: HashMap<(i64, i64), Vec<CodingRef>>,
    codings_total: u64,
    sources: BufWriter<File>,
    any_source: bool,
    notes: BufWriter<File>,
    any_note: bool,
    case_refs: CaseRefSpool,
    cases: Vec<CaseInfo>,
    case_index: HashMap<(usize, Option<usize>), usize>,
    current: Option<OpenSource>,
    last_phase: Option<String>,
    txt: String,
}

impl<'s, W: Write> QdpxExport<'s, W> {
    /// Starts a project export. The codebook and codings are checked first: an invalid
    /// codebook or a coding with an unknown code is an error before anything is written.
    pub fn new(
        session: &'s SessionExport,
        codebook: &'s Codebook,
        codings: &[Coding],
        opts: &ExportOptions,
        out: W,
    ) -> Result<Self> {
        let pipe = Pipeline::new(session, opts)?;
        codebook.validate()?;
        let gen = GuidGen::new(&opts.guid_salt, Some(session.session_id));
        let global_gen = GuidGen::new(&opts.guid_salt, None);
        let code_guids = code_guids(codebook, &opts.guid_salt);
        let code_index: HashMap<&str, u32> = codebook
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as u32))
            .collect();

        let mut coder_names: Vec<&str> = codings.iter().map(|c| c.coder.as_str()).collect();
        coder_names.sort_unstable();
        coder_names.dedup();
        let users: Vec<(String, Guid)> = coder_names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let name = if opts.pseudonymise_coders {
                    format!("Coder {}", i + 1)
                } else {
                    n.to_string()
                };
                (name, global_gen.derive("user", &[n.as_bytes()]))
            })
            .collect();
        let mut by_unit: HashMap<(i64, i64), Vec<CodingRef>> = HashMap::new();
        let mut seen = HashSet::new();
        for c in codings {
            let &code = code_index
                .get(c.code_id.as_str())
                .ok_or_else(|| Error::UnknownCode {
                    code_id: c.code_id.clone(),
                    coder: c.coder.clone(),
                })?;
            let user = coder_names
                .binary_search(&c.coder.as_str())
                .expect("listed above") as u32;
            if seen.insert((user, code, c.group_id, c.seq)) {
                by_unit
                    .entry((c.group_id, c.seq))
                    .or_default()
                    .push(CodingRef {
                        user,
                        code,
                        created_at_ms: c.created_at_ms,
                    });
            }
        }

        let (y, mo, d, h, mi, s, _) = utc_parts(session.exported_at_ms);
        let mtime = u16::try_from(y)
            .ok()
            .and_then(|y| {
                zip::DateTime::from_date_and_time(y, mo as u8, d as u8, h as u8, mi as u8, s as u8)
                    .ok()
            })
            .unwrap_or_default();
        let entry_options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(mtime)
            .unix_permissions(0o644);

        let spool_dir = opts.spool_dir.clone();
        let mut export = QdpxExport {
            gen,
            global_gen,
            exported_at: iso8601(session.exported_at_ms),
            codebook,
            code_guids,
            users,
            codings_total: seen.len() as u64,
            codings: by_unit,
            sources: BufWriter::with_capacity(256 * 1024, temp_file(spool_dir.as_deref())?),
            any_source: false,
            notes: BufWriter::with_capacity(64 * 1024, temp_file(spool_dir.as_deref())?),
            any_note: false,
            case_refs: CaseRefSpool::new(spool_dir.as_deref())?,
            spool_dir,
            cases: Vec::new(),
            case_index: HashMap::new(),
            current: None,
            last_phase: None,
            txt: String::with_capacity(TXT_FLUSH + 4096),
            zip: ZipWriter::new_stream(Counting::new(out)),
            entry_options,
            positions: opts.positions,
            pipe,
        };
        // The consent records, pseudonymised like the texts, as the first notes.
        for (i, c) in export.pipe.speakers.consents(session).iter().enumerate() {
            write_consent_note(
                &export.gen,
                &mut export.notes,
                &export.exported_at,
                i as u64,
                c,
            )?;
            export.any_note = true;
        }
        // Every child of the exported groups is a case, also one who never spoke.
        let children: Vec<(usize, usize)> = export
            .pipe
            .speakers
            .iter()
            .filter(|(_, s)| s.kind == SpeakerKind::Child)
            .filter_map(|(i, s)| Some((i, s.group?)))
            .filter(|&(_, g)| export.pipe.included[g])
            .collect();
        for (speaker, group) in children {
            export.case_for(speaker, group);
        }
        Ok(export)
    }

    /// The case of a speaker in a group: children are one case each, the agent and
    /// facilitators one case per group.
    fn case_for(&mut self, speaker_idx: usize, group_idx: usize) -> usize {
        let speaker = self.pipe.speakers.get(speaker_idx);
        let group = if speaker.kind == SpeakerKind::Child {
            None
        } else {
            Some(group_idx)
        };
        if let Some(&c) = self.case_index.get(&(speaker_idx, group)) {
            return c;
        }
        let g = &self.pipe.session.groups[group_idx];
        let (name, guid) = match group {
            None => (
                speaker.label.clone(),
                self.gen
                    .derive("case", &[b"child", &speaker.id.unwrap_or(-1).to_le_bytes()]),
            ),
            Some(_) => (
                format!("{} · {}", speaker.label, g.name),
                self.gen.derive(
                    "case",
                    &[
                        speaker.kind.as_str().as_bytes(),
                        speaker.label.as_bytes(),
                        &g.id.to_le_bytes(),
                    ],
                ),
            ),
        };
        let c = self.cases.len();
        self.cases.push(CaseInfo {
            speaker_idx,
            group_idx: speaker.group.or(group),
            guid,
            name,
        });
        self.case_index.insert((speaker_idx, group), c);
        c
    }

    fn selection_guid(gen: &GuidGen, group_id: i64, seq: i64) -> Guid {
        gen.derive("selection", &[&group_id.to_le_bytes(), &seq.to_le_bytes()])
    }

    fn close_source(&mut self) -> Result<()> {
        if self.current.take().is_some() {
            self.zip.write_all(self.txt.as_bytes())?;
            self.txt.clear();
            self.sources.write_all(b"</TextSource>\n")?;
        }
        Ok(())
    }

    pub fn push(&mut self, u: &Utterance) -> Result<()> {
        let Some(admitted) = self.pipe.admit(u)? else {
            return Ok(());
        };
        let case = match self.pipe.speakers.get(admitted.speaker_idx).kind {
            SpeakerKind::System => None,
            _ => Some(self.case_for(admitted.speaker_idx, admitted.group_idx)),
        };
        let new_group = self.current.as_ref().map(|c| c.group_idx) != Some(admitted.group_idx);
        if new_group {
            self.close_source()?;
        }
        let Self {
            pipe,
            zip,
            entry_options,
            positions,
            gen,
            exported_at,
            code_guids,
            users,
            codings,
            sources,
            any_source,
            notes,
            any_note,
            case_refs,
            current,
            last_phase,
            txt,
            ..
        } = self;
        let row = pipe.row(u, admitted);
        let unit = *positions;
        if new_group {
            let source = gen.derive("source", &[&row.group.id.to_le_bytes()]);
            zip.start_file(format!("sources/{source}.txt"), *entry_options)?;
            push_group_header(txt, pipe.session, row.group);
            *current = Some(OpenSource {
                group_idx: row.group_idx,
                pos: count(unit, txt),
            });
            *last_phase = None;
            *any_source = true;
            write!(sources, "<TextSource guid=\"{source}\" name=\"")?;
            xml::attr(
                sources,
                &format!(
                    "Group {} ({})",
                    row.group.name,
                    row.group.condition.as_str()
                ),
            )?;
            write!(
                sources,
                "\" plainTextPath=\"internal://{source}.txt\" creationDateTime=\"{exported_at}\"><Description>"
            )?;
            xml::text(
                sources,
                &format!(
                    "Transcript of group {} in session {} (activity {}, agent role {}).",
                    row.group.name,
                    pipe.session.session_id,
                    pipe.session.activity,
                    row.group.condition.as_str()
                ),
            )?;
            sources.write_all(b"</Description>\n")?;
        }
        let open = current.as_mut().expect("a source is open");
        let before = txt.len();
        push_phase_change(txt, last_phase, &row);
        push_line_prefix(txt, &row);
        open.pos += count(unit, &txt[before..]);
        let start = open.pos;
        open.pos += count(unit, &row.text);
        let end = open.pos;
        txt.push_str(&row.text);
        txt.push('\n');
        open.pos += 1;
        if txt.len() >= TXT_FLUSH {
            zip.write_all(txt.as_bytes())?;
            txt.clear();
        }

        let note = write_note(gen, notes, exported_at, &row)?;
        *any_note |= note.is_some();
        if start == end {
            // An empty message: nothing to select or code.
            return Ok(());
        }
        let selection = Self::selection_guid(gen, row.group.id, row.seq);
        write!(sources, "<PlainTextSelection guid=\"{selection}\" name=\"")?;
        xml::attr(sources, &format!("{} #{}", row.speaker.label, row.seq))?;
        write!(
            sources,
            "\" startPosition=\"{start}\" endPosition=\"{end}\" creationDateTime=\"{}\"",
            iso8601(row.created_at_ms)
        )?;
        let unit_codings = codings.remove(&(row.group.id, row.seq));
        let mut written_codings = 0;
        if unit_codings.is_none() && note.is_none() {
            sources.write_all(b"/>\n")?;
        } else {
            sources.write_all(b">")?;
            for c in unit_codings.iter().flatten() {
                let (coder, user_guid) = &users[c.user as usize];
                let code_guid = &code_guids[c.code as usize];
                let coding = gen.derive(
                    "coding",
                    &[
                        coder.as_bytes(),
                        code_guid.as_bytes(),
                        &row.group.id.to_le_bytes(),
                        &row.seq.to_le_bytes(),
                    ],
                );
                write!(
                    sources,
                    "<Coding guid=\"{coding}\" creatingUser=\"{user_guid}\""
                )?;
                if let Some(t) = c.created_at_ms {
                    write!(sources, " creationDateTime=\"{}\"", iso8601(t))?;
                }
                write!(sources, "><CodeRef targetGUID=\"{code_guid}\"/></Coding>")?;
                written_codings += 1;
            }
            if let Some(n) = note {
                write!(sources, "<NoteRef targetGUID=\"{n}\"/>")?;
            }
            sources.write_all(b"</PlainTextSelection>\n")?;
        }
        if let Some(c) = case {
            case_refs.push(c as u32, row.group_idx as u32, row.seq)?;
        }
        drop(row);
        pipe.summary.codings += written_codings;
        Ok(())
    }

    pub fn finish(mut self) -> Result<ExportSummary> {
        self.close_source()?;
        let mut summary = self.pipe.summary.clone();
        summary.codings_dropped = self.codings_total - summary.codings;
        let sources = spool_into_file(self.sources)?;
        let notes = spool_into_file(self.notes)?;
        let refs = self.case_refs.sort(self.spool_dir.as_deref())?;
        let spooled = sources.1 + notes.1;
        let options = self.entry_options.large_file(spooled > 3 << 30);
        self.zip.start_file("project.qde", options)?;
        {
            let mut w = BufWriter::with_capacity(256 * 1024, &mut self.zip);
            write_project(
                &mut w,
                ProjectParts {
                    session: self.pipe.session,
                    exported_at: &self.exported_at,
                    users: &self.users,
                    codebook: self.codebook,
                    code_guids: &self.code_guids,
                    global_gen: &self.global_gen,
                    session_gen: &self.gen,
                    cases: &self.cases,
                    speakers: &self.pipe.speakers,
                    refs,
                    sources: self.any_source.then_some(sources.0),
                    notes: self.any_note.then_some(notes.0),
                    opts_description: describe_options(&self.pipe, self.positions),
                },
            )?;
            w.flush()?;
        }
        let counting = self.zip.finish()?.into_inner();
        summary.bytes = counting.bytes;
        Ok(summary)
    }
}

/// Writes a consent record as a `<Note>` named `Consent: KIND, DAY`.
fn write_consent_note(
    gen: &GuidGen,
    notes: &mut BufWriter<File>,
    exported_at: &str,
    index: u64,
    c: &crate::pseudonym::ExportedConsent,
) -> io::Result<()> {
    let guid = gen.derive("consent", &[&index.to_le_bytes()]);
    write!(notes, "<Note guid=\"{guid}\" name=\"")?;
    xml::attr(notes, &format!("Consent: {}, {}", c.kind, c.given_on))?;
    write!(
        notes,
        "\" creationDateTime=\"{exported_at}\"><PlainTextContent>"
    )?;
    xml::text(
        notes,
        &format!(
            "Consent of kind {} given on {}, recorded by {} at {}.\n{}",
            c.kind,
            c.given_on,
            c.recorded_by,
            iso8601(c.recorded_at_ms),
            c.note
        ),
    )?;
    notes.write_all(b"</PlainTextContent></Note>\n")
}

/// Writes the agent's trigger and reason for a turn as a `<Note>`; returns its GUID.
fn write_note(
    gen: &GuidGen,
    notes: &mut BufWriter<File>,
    exported_at: &str,
    row: &Row<'_>,
) -> io::Result<Option<Guid>> {
    if row.speaker.kind != SpeakerKind::Agent
        || (row.agent_trigger.is_none() && row.agent_reason.is_none())
    {
        return Ok(None);
    }
    let guid = gen.derive(
        "note",
        &[&row.group.id.to_le_bytes(), &row.seq.to_le_bytes()],
    );
    write!(notes, "<Note guid=\"{guid}\" name=\"")?;
    xml::attr(
        notes,
        &format!(
            "Why {} spoke: {} #{}",
            row.speaker.label, row.group.name, row.seq
        ),
    )?;
    write!(
        notes,
        "\" creationDateTime=\"{exported_at}\"><PlainTextContent>"
    )?;
    if let Some(t) = &row.agent_trigger {
        notes.write_all(b"Trigger: ")?;
        xml::text(notes, t)?;
        notes.write_all(b"\n")?;
    }
    if let Some(r) = &row.agent_reason {
        notes.write_all(b"Reason: ")?;
        xml::text(notes, r)?;
    }
    notes.write_all(b"</PlainTextContent></Note>\n")?;
    Ok(Some(guid))
}

/// Flushes a spool and rewinds it for reading; returns the file and its length.
fn spool_into_file(spool: BufWriter<File>) -> io::Result<(File, u64)> {
    let mut file = spool.into_inner().map_err(|e| e.into_error())?;
    let len = file.stream_position()?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, len))
}

fn describe_options(pipe: &Pipeline<'_>, unit: PositionUnit) -> String {
    let s = pipe.session;
    let mut d = format!(
        "peerlearn session {} (activity {}, language {}), started {}, exported {}. ",
        s.session_id,
        s.activity,
        s.language,
        iso8601(s.started_at_ms),
        iso8601(s.exported_at_ms)
    );
    d.push_str(match pipe.speakers_mode_numbered() {
        true => "Children are numbered pseudonyms (Child 1, Child 2, ...) and their nicknames are replaced inside the texts. ",
        false => "Children appear under their chosen nicknames. ",
    });
    d.push_str(if pipe.include_hidden {
        "Messages hidden by a facilitator are included and marked [hidden]. "
    } else {
        "Messages hidden by a facilitator are left out. "
    });
    d.push_str(match unit {
        PositionUnit::CodePoints => "Selection positions count Unicode code points.",
        PositionUnit::Utf16 => "Selection positions count UTF-16 code units.",
    });
    match s.consents.len() {
        0 => d.push_str(" No consent record was entered for this session."),
        n => d.push_str(&format!(
            " Consent records: {n}, each a note named \"Consent: ...\"."
        )),
    }
    d
}

struct ProjectParts<'a> {
    session: &'a SessionExport,
    exported_at: &'a str,
    users: &'a [(String, Guid)],
    codebook: &'a Codebook,
    code_guids: &'a [String],
    global_gen: &'a GuidGen,
    session_gen: &'a GuidGen,
    cases: &'a [CaseInfo],
    speakers: &'a crate::pseudonym::Speakers,
    refs: spool::SortedCaseRefs,
    sources: Option<File>,
    notes: Option<File>,
    opts_description: String,
}

/// Writes `project.qde` in the schema's child order: Users, CodeBook, Variables, Cases,
/// Sources, Notes, Description.
fn write_project<W: Write>(w: &mut W, mut p: ProjectParts<'_>) -> io::Result<()> {
    let s = p.session;
    write!(
        w,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Project xmlns=\"{NAMESPACE}\" name=\""
    )?;
    xml::attr(
        w,
        &format!("peerlearn session {} ({})", s.session_id, s.activity),
    )?;
    writeln!(
        w,
        "\" origin=\"peerlearn-transcripts {}\" creationDateTime=\"{}\">",
        env!("CARGO_PKG_VERSION"),
        p.exported_at
    )?;

    if !p.users.is_empty() {
        w.write_all(b"<Users>\n")?;
        for (name, guid) in p.users {
            write!(w, "<User guid=\"{guid}\" name=\"")?;
            xml::attr(w, name)?;
            w.write_all(b"\"/>\n")?;
        }
        w.write_all(b"</Users>\n")?;
    }

    if !p.codebook.codes.is_empty() {
        w.write_all(b"<CodeBook>\n<Codes>\n")?;
        write_codes(w, p.codebook, p.code_guids)?;
        w.write_all(b"</Codes>\n</CodeBook>\n")?;
    }

    if !p.cases.is_empty() {
        let variables = [
            ("Speaker kind", "child, agent or facilitator"),
            ("Group", "the group the speaker talked in"),
            (
                "Condition",
                "the agent's role in the group: moderator, participant or none (no agent)",
            ),
        ];
        let var_guids: Vec<Guid> = variables
            .iter()
            .map(|(n, _)| p.global_gen.derive("variable", &[n.as_bytes()]))
            .collect();
        w.write_all(b"<Variables>\n")?;
        for ((name, desc), guid) in variables.iter().zip(&var_guids) {
            writeln!(
                w,
                "<Variable guid=\"{guid}\" name=\"{name}\" typeOfVariable=\"Text\"><Description>{desc}</Description></Variable>"
            )?;
        }
        w.write_all(b"</Variables>\n<Cases>\n")?;
        for (i, case) in p.cases.iter().enumerate() {
            let speaker = p.speakers.get(case.speaker_idx);
            let group = case.group_idx.map(|g| &s.groups[g]);
            write!(w, "<Case guid=\"{}\" name=\"", case.guid)?;
            xml::attr(w, &case.name)?;
            w.write_all(b"\"><Description>")?;
            let desc = match group {
                Some(g) => format!(
                    "{} in group {} (agent role {})",
                    speaker.kind.as_str(),
                    g.name,
                    g.condition.as_str()
                ),
                None => speaker.kind.as_str().to_owned(),
            };
            xml::text(w, &desc)?;
            w.write_all(b"</Description>\n")?;
            let value = |w: &mut W, var: &Guid, v: &str| -> io::Result<()> {
                write!(
                    w,
                    "<VariableValue><VariableRef targetGUID=\"{var}\"/><TextValue>"
                )?;
                xml::text(w, v)?;
                w.write_all(b"</TextValue></VariableValue>\n")
            };
            value(w, &var_guids[0], speaker.kind.as_str())?;
            if let Some(g) = group {
                value(w, &var_guids[1], &g.name)?;
                value(w, &var_guids[2], g.condition.as_str())?;
            }
            let gen = p.session_gen;
            p.refs.read_case(i, |group_idx, seq| {
                let group_id = s.groups[group_idx as usize].id;
                let sel = gen.derive("selection", &[&group_id.to_le_bytes(), &seq.to_le_bytes()]);
                writeln!(w, "<SelectionRef targetGUID=\"{sel}\"/>")
            })?;
            w.write_all(b"</Case>\n")?;
        }
        w.write_all(b"</Cases>\n")?;
    }

    if let Some(mut f) = p.sources.take() {
        w.write_all(b"<Sources>\n")?;
        io::copy(&mut f, w)?;
        w.write_all(b"</Sources>\n")?;
    }
    if let Some(mut f) = p.notes.take() {
        w.write_all(b"<Notes>\n")?;
        io::copy(&mut f, w)?;
        w.write_all(b"</Notes>\n")?;
    }
    w.write_all(b"<Description>")?;
    xml::text(w, &p.opts_description)?;
    w.write_all(b"</Description>\n</Project>\n")?;
    Ok(())
}

/// Exports `utterances` (ordered by group, then seq) with the codebook and codings as a
/// REFI-QDA project.
pub fn write_qdpx<W, I, U>(
    session: &SessionExport,
    codebook: &Codebook,
    codings: &[Coding],
    opts: &ExportOptions,
    utterances: I,
    out: W,
) -> Result<ExportSummary>
where
    W: Write,
    I: IntoIterator<Item = U>,
    U: std::borrow::Borrow<Utterance>,
{
    let mut e = QdpxExport::new(session, codebook, codings, opts, out)?;
    for u in utterances {
        e.push(u.borrow())?;
    }
    e.finish()
}
