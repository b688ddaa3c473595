//! The session's safety summary, a download for the teacher and the school's child-protection
//! lead: per group, how many messages the screen redacted, held or raised as urgent, and every
//! safety notice with what was written, why, and how and by whom it was dealt with.
//!
//! It carries children's originals (a disclosure must reach the adult who acts on it), so it
//! is for the session's own facilitator only, every download is audited, and it is never part
//! of a research export.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::owned_session;
use super::signed_in::SignedIn;
use crate::http::{ApiError, Ctx};
use crate::store::{self, Message};

/// Messages read from the store per query.
const PAGE: i64 = 500;
/// The notice kinds the screen raises.
const SCREEN_KINDS: &[&str] = &["redacted", "held", "safeguarding"];

#[derive(Debug, Serialize)]
struct Summary {
    session_id: i64,
    generated_at_ms: i64,
    safety_level: String,
    groups: Vec<GroupSummary>,
}

#[derive(Debug, Serialize)]
struct GroupSummary {
    group_id: i64,
    name: String,
    /// Messages per screen action (`redact`, `hold`, `urgent`).
    actions: BTreeMap<String, u64>,
    /// Messages per category (`email`, `insult`, `disclosure`, ...).
    categories: BTreeMap<String, u64>,
    events: Vec<Event>,
}

#[derive(Debug, Serialize)]
struct Event {
    seq: i64,
    at_ms: i64,
    sender: String,
    action: String,
    category: Option<String>,
    reason: Option<String>,
    /// What the group saw (nothing when held).
    shown: Option<String>,
    /// What was written.
    written: String,
    notice: Option<NoticeOutcome>,
}

#[derive(Debug, Serialize)]
struct NoticeOutcome {
    id: i64,
    kind: String,
    severity: String,
    resolution: Option<String>,
    resolved_at_ms: Option<i64>,
    resolved_by: Option<String>,
}

pub async fn summary(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    me: SignedIn,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let mut groups = Vec::new();
    for group in ctx.store.groups_of_session(session.id).await? {
        let children = ctx.store.participants(group.id).await?;
        let flags = ctx.store.flags(group.id).await?;
        let mut summary = GroupSummary {
            group_id: group.id,
            name: group.name.clone(),
            actions: BTreeMap::new(),
            categories: BTreeMap::new(),
            events: Vec::new(),
        };
        let mut after = 0;
        loop {
            let page = ctx.store.messages_after(group.id, after, PAGE).await?;
            let done = (page.len() as i64) < PAGE;
            for m in page {
                after = m.seq;
                if m.screen_action == "allow" {
                    continue;
                }
                *summary.actions.entry(m.screen_action.clone()).or_default() += 1;
                if let Some(c) = &m.screen_category {
                    *summary.categories.entry(c.clone()).or_default() += 1;
                }
                let flag = flags.iter().find(|f| {
                    f.message_seq == Some(m.seq) && SCREEN_KINDS.contains(&f.kind.as_str())
                });
                let mut resolver = None;
                if let Some(id) = flag.and_then(|f| f.resolved_by) {
                    resolver = Some(
                        ctx.store
                            .facilitator(id)
                            .await
                            .map_or_else(|_| format!("facilitator {id}"), |f| f.name),
                    );
                }
                summary
                    .events
                    .push(event(&m, &children, &session.agent_name, flag, resolver));
            }
            if done {
                break;
            }
        }
        groups.push(summary);
    }
    ctx.store
        .audit(
            Some(me.id()),
            "safety_summary",
            &format!("session {}", session.id),
            "read the safety summary (children's originals included)",
            store::now_ms(),
        )
        .await?;
    let body = Summary {
        session_id: session.id,
        generated_at_ms: store::now_ms(),
        safety_level: session.safety_level.clone(),
        groups,
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"session-{}-safety.json\"",
                    session.id
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        serde_json::to_string_pretty(&body).expect("the summary serialises"),
    )
        .into_response())
}

fn event(
    m: &Message,
    children: &[store::Participant],
    agent_name: &str,
    flag: Option<&store::Flag>,
    resolver: Option<String>,
) -> Event {
    let child = m
        .sender_id
        .and_then(|id| children.iter().find(|c| c.id == id));
    let sender = crate::protocol::sender_name(
        m.sender_kind,
        child.map(|c| c.nickname.as_str()),
        agent_name,
    );
    let hidden = m.moderation == store::Moderation::Hidden;
    Event {
        seq: m.seq,
        at_ms: m.created_at,
        sender,
        action: m.screen_action.clone(),
        category: m.screen_category.clone(),
        reason: m.screen_reason.clone(),
        shown: (!hidden).then(|| m.text.clone()),
        written: m.original_text.clone().unwrap_or_else(|| m.text.clone()),
        notice: flag.map(|f| NoticeOutcome {
            id: f.id,
            kind: f.kind.clone(),
            severity: f.severity.to_string(),
            resolution: f.resolution.clone(),
            resolved_at_ms: f.resolved_at,
            resolved_by: resolver,
        }),
    }
}
