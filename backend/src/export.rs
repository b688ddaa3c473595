//! From the store to the transcripts crate: a session's header and its utterances, streamed
//! page by page so that memory does not grow with the transcript.

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Format(#[from] tx::Error),
}

impl ExportError {
    /// Errors in what the user asked for (exit code 2), as opposed to failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ExportError::UnknownSession(_) | ExportError::UnknownGroup { .. }
        )
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
    })
}

/// Writes one export of a session; `progress` is called with the number of utterances pushed
/// so far (for a progress bar).
pub async fn write_session<W: Write>(
    store: &Store,
    header: &tx::SessionExport,
    format: tx::ExportFormat,
    options: &tx::ExportOptions,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<tx::ExportSummary, ExportError> {
    let extras = tx::Extras::default();
    let mut exporter = tx::Exporter::new(format, header, &extras, options, out)?;
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
            .filter_map(|e| e.message_seq.map(|seq| (seq, (e.trigger, e.reason))))
            .collect();
        let mut after = 0;
        loop {
            let page = store.messages_after(group.id, after, PAGE).await?;
            for m in &page {
                after = m.seq;
                let mut u = tx::Utterance::new(
                    group.id,
                    m.seq,
                    m.created_at,
                    speaker(m.sender_kind),
                    m.sender_id,
                    m.text.clone(),
                );
                u.phase = m.phase.clone();
                u.reply_to = m.reply_to;
                u.moderation = match m.moderation {
                    Moderation::Visible => tx::Moderation::Visible,
                    Moderation::Hidden => tx::Moderation::Hidden,
                    Moderation::Flagged => tx::Moderation::Flagged,
                };
                // Only children are participants of the export; agent turns are labelled with
                // the session's agent name, facilitator and system turns by their kind.
                if m.sender_kind != SenderKind::Child {
                    u.sender_id = None;
                }
                if m.sender_kind == SenderKind::Agent {
                    if let Some((trigger, reason)) = reasons.get(&m.seq) {
                        u.agent_trigger = Some(trigger.clone());
                        u.agent_reason = Some(reason.clone());
                    }
                }
                exporter.push(&u)?;
                pushed += 1;
            }
            progress(pushed);
            if (page.len() as i64) < PAGE {
                break;
            }
        }
    }
    Ok(exporter.finish()?)
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
