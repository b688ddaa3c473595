//! From the store to the transcripts crate: a session's header and its utterances, streamed
//! page by page so that memory does not grow with the transcript.
//!
//! These are the entry points for anything that offers a session as a file, the command line
//! and the dashboard's download buttons alike. Each is async, reads the store itself and
//! writes to any [`std::io::Write`] (a `Vec<u8>`, a file, a pipe into a response body); the
//! caller needs no temporary file, though a failed export may have written part of its
//! output, so write to a buffer or a file renamed on success. Resolve the session first with
//! [`session_header`] (unknown sessions and groups come back as usage errors, see
//! [`ExportError::is_usage`]), then:
//!
//! * [`write_session`]: a transcript as CSV, JSON Lines, a plain-text script or a REFI-QDA
//!   `.qdpx` (with the codebook and codings);
//! * [`write_codebook_qdc`]: the codebook alone as a REFI-QDA `.qdc`;
//! * [`write_participation_csv`] (or [`participation`] for the figures): participation
//!   analytics per group or per speaker;
//! * [`agreement`]: inter-rater agreement on the codings.
//!
//! [`Format`] names every file kind with its extension and media type. Callers that export
//! on behalf of someone write the audit log entry (`Store::audit`) themselves, as the command
//! line does, because only they know who asked.

use std::collections::HashMap;
use std::io::Write;

use peerlearn_transcripts as tx;

use crate::store::{self, AgentRole, Moderation, SenderKind, Store, StoreError};

/// Messages read from the store per query.
const PAGE: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("session {0} not found")]
    UnknownSession(i64),
    #[error("group {group} is not part of session {session}")]
    UnknownGroup { session: i64, group: i64 },
    #[error("session {0} has no codebook yet (import one with `peerlearn codebook import`)")]
    NoCodebook(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the session failed: {0}")]
    Read(String),
    #[error(transparent)]
    Format(#[from] tx::Error),
}

impl ExportError {
    /// Errors in what the user asked for (exit code 2), as opposed to failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ExportError::UnknownSession(_)
                | ExportError::UnknownGroup { .. }
                | ExportError::NoCodebook(_)
        )
    }
}

/// Every file a session can be exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A transcript (through [`write_session`]).
    Transcript(tx::ExportFormat),
    /// The codebook alone (through [`write_codebook_qdc`]).
    Qdc,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Transcript(f) => f.extension(),
            Format::Qdc => "qdc",
        }
    }

    /// The media type for a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Transcript(f) => f.content_type(),
            Format::Qdc => "application/xml; charset=utf-8",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "qdc" => Ok(Format::Qdc),
            other => other.parse().map(Format::Transcript).map_err(|_| {
                format!("unknown format {other:?}; expected csv, jsonl, txt, qdpx or qdc")
            }),
        }
    }
}

/// The session's groups and participants, as the transcripts crate wants them.
pub async fn session_header(
    store: &Store,
    session_id: i64,
    group: Option<i64>,
) -> Result<tx::SessionExport, ExportError> {
    let session = match store.session(session_id).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => return Err(ExportError::UnknownSession(session_id)),
        Err(e) => return Err(e.into()),
    };
    let groups = store.groups_of_session(session_id).await?;
    if let Some(g) = group {
        if !groups.iter().any(|x| x.id == g) {
            return Err(ExportError::UnknownGroup {
                session: session_id,
                group: g,
            });
        }
    }
    let mut participants = Vec::new();
    for g in &groups {
        for p in store.participants(g.id).await? {
            participants.push(tx::Participant {
                id: p.id,
                kind: tx::SpeakerKind::Child,
                nickname: p.nickname,
                avatar: Some(p.avatar),
                group_id: Some(g.id),
                joined_at_ms: p.created_at,
            });
        }
    }
    // Every facilitator account, the session's owner first: their names are replaced in
    // texts ("ms-lee said" -> "Facilitator said"), and their turns are labelled by account.
    let mut facilitators = store.facilitators().await?;
    facilitators.sort_by_key(|f| (Some(f.id) != session.facilitator_id, f.id));
    for (i, f) in facilitators.iter().enumerate() {
        participants.push(tx::Participant {
            id: f.id,
            kind: tx::SpeakerKind::Facilitator,
            nickname: f.name.clone(),
            avatar: None,
            group_id: None,
            joined_at_ms: i as i64,
        });
    }
    let consents = store
        .consents(session_id)
        .await?
        .into_iter()
        .map(|c| tx::Consent {
            kind: c.kind.to_string(),
            given_on: c.given_on,
            note: c.note,
            recorded_by: c.recorded_by,
            recorded_at_ms: c.created_at,
        })
        .collect();
    Ok(tx::SessionExport {
        session_id,
        activity: session.activity_id.clone(),
        language: session.language.clone(),
        started_at_ms: session.started_at.unwrap_or(session.created_at),
        ended_at_ms: session.ended_at,
        exported_at_ms: store::now_ms(),
        agent_name: session.agent_name.clone(),
        groups: groups
            .iter()
            .map(|g| tx::Group {
                id: g.id,
                name: g.name.clone(),
                condition: condition(g.agent_role),
            })
            .collect(),
        participants,
        consents,
    })
}

/// Writes the session's consent records as CSV (see `peerlearn_transcripts::csv::write_consent_csv`).
pub fn write_consent_csv<W: Write>(
    header: &tx::SessionExport,
    options: &tx::ExportOptions,
    out: W,
) -> Result<usize, ExportError> {
    Ok(tx::csv::write_consent_csv(header, options, out)?)
}

/// Writes one transcript export of a session; `progress` is called with the number of
/// utterances pushed so far (for a progress bar). A QDPX carries the session's codebook and
/// codings from the store.
pub async fn write_session<W: Write>(
    store: &Store,
    header: &tx::SessionExport,
    format: tx::ExportFormat,
    options: &tx::ExportOptions,
    out: W,
    progress: impl FnMut(u64),
) -> Result<tx::ExportSummary, ExportError> {
    let extras = if format == tx::ExportFormat::Qdpx {
        let (codebook, codings) = coding_data(store, header.session_id).await?;
        tx::Extras { codebook, codings }
    } else {
        tx::Extras::default()
    };
    // A fresh random salt per export unless the caller chose one: derived GUIDs then cannot
    // be recomputed from session and participant ids (see `ExportOptions::guid_salt`).
    let salted;
    let options = if options.guid_salt.is_empty() && format == tx::ExportFormat::Qdpx {
        salted = tx::ExportOptions {
            guid_salt: crate::auth::new_token(),
            ..options.clone()
        };
        &salted
    } else {
        options
    };
    let mut exporter = tx::Exporter::new(format, header, &extras, options, out)?;
    for_each_utterance(store, header, options, |u| exporter.push(u), progress).await?;
    Ok(exporter.finish()?)
}

/// [`write_session`] or [`write_codebook_qdc`], as `format` says. A `.qdc` reports only its
/// size in the summary.
pub async fn write_file<W: Write>(
    store: &Store,
    header: &tx::SessionExport,
    format: Format,
    options: &tx::ExportOptions,
    out: W,
    progress: impl FnMut(u64),
) -> Result<tx::ExportSummary, ExportError> {
    match format {
        Format::Transcript(f) => write_session(store, header, f, options, out, progress).await,
        Format::Qdc => {
            let mut counting = Counted {
                inner: out,
                bytes: 0,
            };
            write_codebook_qdc(store, header.session_id, options, &mut counting).await?;
            counting.flush().map_err(tx::Error::Io)?;
            Ok(tx::ExportSummary {
                bytes: counting.bytes,
                ..Default::default()
            })
        }
    }
}

struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the session's codebook as a REFI-QDA `.qdc` (the GUIDs match those in the
/// session's `.qdpx`). Returns the number of codes.
pub async fn write_codebook_qdc<W: Write>(
    store: &Store,
    session_id: i64,
    options: &tx::ExportOptions,
    out: W,
) -> Result<usize, ExportError> {
    require_session(store, session_id).await?;
    let (codebook, _) = coding_data(store, session_id).await?;
    if codebook.codes.is_empty() {
        return Err(ExportError::NoCodebook(session_id));
    }
    tx::write_qdc(&codebook, &options.guid_salt, out)?;
    Ok(codebook.codes.len())
}

/// The two tables of the participation analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipationTable {
    /// One row per group: turns, words, agent share, Gini of children's turns, agent reply
    /// latency, directives and their compliance.
    Groups,
    /// One row per speaker (every child, also the silent ones, then agent and facilitators).
    Speakers,
}

/// Participation analytics of a session (or of the groups in `options.groups`), over the
/// same utterances an export with `options` would contain, with the same pseudonyms.
pub async fn participation(
    store: &Store,
    header: &tx::SessionExport,
    options: &tx::ExportOptions,
) -> Result<tx::participation::ParticipationReport, ExportError> {
    let mut counter = tx::participation::ParticipationCounter::new(header, options)?;
    for_each_utterance(store, header, options, |u| counter.push(u), |_| {}).await?;
    Ok(counter.finish())
}

/// Writes one table of [`participation`] as CSV.
pub async fn write_participation_csv<W: Write>(
    store: &Store,
    header: &tx::SessionExport,
    options: &tx::ExportOptions,
    table: ParticipationTable,
    out: W,
) -> Result<tx::participation::ParticipationReport, ExportError> {
    let report = participation(store, header, options).await?;
    match table {
        ParticipationTable::Groups => tx::participation::write_groups_csv(&report, out)?,
        ParticipationTable::Speakers => tx::participation::write_speakers_csv(&report, out)?,
    }
    Ok(report)
}

/// Inter-rater agreement on the session's codings: per code, Cohen's kappa for each pair of
/// coders and Krippendorff's alpha over all of them. The units are the utterances an export
/// with `options` would contain (hidden ones only when asked for).
pub async fn agreement(
    store: &Store,
    header: &tx::SessionExport,
    options: &tx::ExportOptions,
    coverage: tx::agreement::Coverage,
) -> Result<tx::agreement::AgreementReport, ExportError> {
    let (codebook, codings) = coding_data(store, header.session_id).await?;
    // 16 bytes a unit: 100,000 utterances are under 2 MB.
    let mut units = Vec::new();
    let include_hidden = options.include_hidden;
    let wanted = |g: i64| options.groups.as_ref().is_none_or(|only| only.contains(&g));
    for_each_utterance(
        store,
        header,
        options,
        |u| {
            if (include_hidden || u.moderation != tx::Moderation::Hidden) && wanted(u.group_id) {
                units.push(tx::UtteranceRef {
                    group_id: u.group_id,
                    seq: u.seq,
                });
            }
            Ok(())
        },
        |_| {},
    )
    .await?;
    Ok(tx::agreement::agreement(
        &codebook, &codings, units, coverage,
    ))
}

/// The session's codebook and codings in the crate's terms; codes are named by their GUIDs.
pub async fn coding_data(
    store: &Store,
    session_id: i64,
) -> Result<(tx::Codebook, Vec<tx::Coding>), ExportError> {
    let codes = store.codebook(session_id).await?;
    let guid: HashMap<i64, &str> = codes.iter().map(|c| (c.id, c.guid.as_str())).collect();
    let codebook = tx::Codebook {
        codes: codes
            .iter()
            .map(|c| tx::Code {
                id: c.guid.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                color: c.color.clone(),
                parent: c
                    .parent_id
                    .and_then(|p| guid.get(&p))
                    .map(|g| g.to_string()),
                codable: c.codable,
            })
            .collect(),
    };
    let codings = store
        .codings(session_id)
        .await?
        .into_iter()
        .filter_map(|k| {
            Some(tx::Coding {
                coder: k.coder,
                code_id: guid.get(&k.code_id)?.to_string(),
                group_id: k.group_id,
                seq: k.seq,
                created_at_ms: Some(k.created_at),
            })
        })
        .collect();
    Ok((codebook, codings))
}

async fn require_session(store: &Store, session_id: i64) -> Result<(), ExportError> {
    match store.session(session_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(ExportError::UnknownSession(session_id)),
        Err(e) => Err(e.into()),
    }
}

/// Feeds every utterance of the header's groups (those in `options.groups`), ordered by group
/// then seq, to `push`, reading the store a page at a time.
pub(crate) async fn for_each_utterance(
    store: &Store,
    header: &tx::SessionExport,
    options: &tx::ExportOptions,
    mut push: impl FnMut(&tx::Utterance) -> Result<(), tx::Error>,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportError> {
    let mut pushed = 0u64;
    for group in &header.groups {
        if options
            .groups
            .as_ref()
            .is_some_and(|only| !only.contains(&group.id))
        {
            continue;
        }
        // The agent's reasons for its own turns, from its decision log.
        let reasons: HashMap<i64, (String, String)> = store
            .agent_events(group.id)
            .await?
            .into_iter()
            .filter_map(|e| {
                e.message_seq
                    .map(|seq| (seq, (e.trigger.to_string(), e.reason)))
            })
            .collect();
        // Which agent turns were directives, and whether the group followed them.
        let directives: HashMap<i64, Option<bool>> = store
            .directives(group.id)
            .await?
            .into_iter()
            .filter_map(|d| {
                let complied = match d.outcome.as_str() {
                    "followed" | "followed_after_escalation" => Some(true),
                    "ignored" => Some(false),
                    _ => None,
                };
                d.message_seq.map(|seq| (seq, complied))
            })
            .collect();
        // The next page is read while this one is written: reading is most of an export's
        // time, and the two overlap on separate threads (SQLite's worker, the runtime's).
        let fetch = |after: i64| {
            let store = store.clone();
            let group_id = group.id;
            tokio::spawn(async move { store.messages_for_export(group_id, after, PAGE).await })
        };
        let mut pending = Some(fetch(0));
        while let Some(reading) = pending.take() {
            let page = reading
                .await
                .map_err(|e| ExportError::Read(e.to_string()))??;
            if page.len() as i64 == PAGE {
                pending = page.last().map(|m| fetch(m.seq));
            }
            for m in page {
                let mut u = tx::Utterance::new(
                    group.id,
                    m.seq,
                    m.created_at,
                    speaker(m.sender_kind),
                    m.sender_id,
                    m.text,
                );
                u.phase = m.phase;
                u.reply_to = m.reply_to;
                u.moderation = match m.moderation {
                    Moderation::Visible => tx::Moderation::Visible,
                    Moderation::Hidden => tx::Moderation::Hidden,
                    Moderation::Flagged => tx::Moderation::Flagged,
                };
                // Children and facilitators are participants of the export (by their ids);
                // agent turns are labelled with the session's agent name, system turns by
                // their kind.
                if !matches!(m.sender_kind, SenderKind::Child | SenderKind::Facilitator) {
                    u.sender_id = None;
                }
                if m.sender_kind == SenderKind::Agent {
                    if let Some((trigger, reason)) = reasons.get(&m.seq) {
                        u.agent_trigger = Some(trigger.clone());
                        u.agent_reason = Some(reason.clone());
                    }
                    if let Some(&complied) = directives.get(&m.seq) {
                        u.directive = true;
                        u.directive_complied = complied;
                    }
                }
                push(&u)?;
                pushed += 1;
            }
            progress(pushed);
        }
    }
    Ok(pushed)
}

fn condition(role: AgentRole) -> tx::AgentRole {
    match role {
        AgentRole::Moderator => tx::AgentRole::Moderator,
        AgentRole::Participant => tx::AgentRole::Participant,
        AgentRole::None => tx::AgentRole::None,
    }
}

fn speaker(kind: SenderKind) -> tx::SpeakerKind {
    match kind {
        SenderKind::Child => tx::SpeakerKind::Child,
        SenderKind::Agent => tx::SpeakerKind::Agent,
        SenderKind::Facilitator => tx::SpeakerKind::Facilitator,
        SenderKind::System => tx::SpeakerKind::System,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    /// Never run: it only has to compile. Web handlers (axum) need `Send` futures, so the
    /// download functions must stay `Send` for any `Send` writer.
    #[allow(dead_code)]
    fn download_futures_are_send(
        store: &Store,
        header: &tx::SessionExport,
        options: &tx::ExportOptions,
    ) {
        for format in [Format::Qdc, Format::Transcript(tx::ExportFormat::Qdpx)] {
            assert_send(write_file(
                store,
                header,
                format,
                options,
                Vec::new(),
                |_| {},
            ));
        }
        assert_send(write_codebook_qdc(store, 1, options, Vec::new()));
        assert_send(write_participation_csv(
            store,
            header,
            options,
            ParticipationTable::Groups,
            Vec::new(),
        ));
        assert_send(agreement(
            store,
            header,
            options,
            tx::agreement::Coverage::GroupsCoded,
        ));
    }

    #[test]
    fn formats_parse_with_their_extensions() {
        for name in ["csv", "jsonl", "txt", "qdpx", "qdc"] {
            let f: Format = name.parse().unwrap();
            assert_eq!(f.extension(), name);
        }
        let err = "docx".parse::<Format>().unwrap_err();
        assert!(err.contains("qdc"), "{err}");
    }
}
