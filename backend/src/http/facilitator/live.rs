//! Watching and stepping in: the live grid and group pages, the snapshot they start from,
//! and the actions a facilitator takes in a group.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::sessions::{activity_title, language_name, role_name};
use super::signed_in::{CsrfHeader, SignedIn, SignedInPage};
use super::{owned_group, owned_session, DashPage};
use crate::http::pages::render;
use crate::http::{ApiError, Ctx};
use crate::i18n::Lang;
use crate::join_code;
use crate::protocol::PhaseInfo;
use crate::room::steer::MAX_MUTE_MINUTES;
use crate::room::watch::{AgentActivity, NoticeView, WatchedMessage};
use crate::room::{AgentStatus, FacilitatorCommand, HelpState, WatchEvent};
use crate::store::{
    self, AgentEvent, AgentRole, Flag, Group, LogDecision, LogTrigger, Message, NewAudit,
    Participant, SenderKind, Session, SessionStatus,
};

/// Messages per group in the grid's snapshot (the group page loads the whole transcript).
const RECENT_MESSAGES: usize = 30;
/// Agent decisions per group in the grid's snapshot.
const RECENT_DECISIONS: usize = 8;
const PAGE: i64 = 2000;

#[derive(Template)]
#[template(path = "facilitator_session.html")]
struct SessionPage {
    lang: Lang,
    here: String,
    session_id: i64,
    title: String,
    status: &'static str,
    agent_name: String,
    language: String,
    /// The agents' roles in its groups, each once ("moderator, none (control)").
    roles: String,
    avatars: String,
    csrf: String,
    name: String,
    data: super::data::DataView,
}

/// The session page, with what it shows about the session's data (retention, consent).
pub(super) async fn render_session_page(
    ctx: &Ctx,
    me: &SignedIn,
    page: DashPage,
    session: &Session,
    data: super::data::DataView,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let mut roles: Vec<String> = Vec::new();
    for group in ctx.store.groups_of_session(session.id).await? {
        let role = role_name(page.lang, group.agent_role);
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(render(
        status,
        &SessionPage {
            lang: page.lang,
            here: page.here,
            session_id: session.id,
            title: activity_title(ctx, session),
            status: session.status.as_str(),
            agent_name: session.agent_name.clone(),
            language: language_name(&session.language).to_string(),
            roles: roles.join(", "),
            avatars: crate::http::pages::avatars_json(page.lang),
            csrf: me.csrf.clone(),
            name: me.facilitator.name.clone(),
            data,
        },
    ))
}

pub async fn session_page(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    SignedInPage(me): SignedInPage,
    page: DashPage,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, id).await?;
    let data = super::data::data_view(&ctx, &session, page.lang, None, Default::default()).await?;
    render_session_page(&ctx, &me, page, &session, data, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "facilitator_group.html")]
struct GroupPage {
    lang: Lang,
    here: String,
    session_id: i64,
    group_id: i64,
    group_name: String,
    title: String,
    join_code: String,
    language: String,
    role: String,
    kept: String,
    avatars: String,
    csrf: String,
    name: String,
}

pub async fn group_page(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    SignedInPage(me): SignedInPage,
    page: DashPage,
) -> Result<Response, ApiError> {
    let (group, session) = owned_group(&ctx, &me, id).await?;
    Ok(render(
        StatusCode::OK,
        &GroupPage {
            lang: page.lang,
            here: page.here,
            session_id: session.id,
            group_id: group.id,
            group_name: group.name.clone(),
            title: activity_title(&ctx, &session),
            join_code: join_code::display(&group.join_code),
            language: language_name(&session.language).to_string(),
            role: role_name(page.lang, group.agent_role),
            kept: super::data::kept(&session, page.lang),
            avatars: crate::http::pages::avatars_json(page.lang),
            csrf: me.csrf.clone(),
            name: me.facilitator.name.clone(),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[derive(Debug, Serialize)]
pub struct ChildStats {
    #[serde(flatten)]
    pub participant: Participant,
    pub messages: u64,
    pub words: u64,
}

#[derive(Debug, Serialize)]
pub struct Decision {
    pub at_ms: i64,
    pub trigger: LogTrigger,
    pub decision: LogDecision,
    pub reason: String,
}

impl From<&AgentEvent> for Decision {
    fn from(e: &AgentEvent) -> Self {
        Decision {
            at_ms: e.created_at,
            trigger: e.trigger,
            decision: e.decision,
            reason: e.reason.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GroupSnapshot {
    pub id: i64,
    pub name: String,
    pub join_code: String,
    /// Locked against new joins (see `POST /api/facilitator/groups/ID/lock`).
    pub locked: bool,
    pub online: Vec<i64>,
    pub children: Vec<ChildStats>,
    pub messages: Vec<WatchedMessage>,
    pub agent: AgentStatus,
    pub phase: Option<PhaseInfo>,
    pub phases_finished: bool,
    pub notices: Vec<NoticeView>,
    pub decisions: Vec<Decision>,
    /// What the safety screen did in this group so far.
    pub safety: SafetyCounts,
}

/// How many of a group's messages the safety screen redacted, held, or raised as urgent.
#[derive(Debug, Default, Serialize)]
pub struct SafetyCounts {
    pub redact: u64,
    pub hold: u64,
    pub urgent: u64,
}

impl SafetyCounts {
    fn of(messages: &[Message]) -> SafetyCounts {
        let mut counts = SafetyCounts::default();
        for m in messages {
            match m.screen_action.as_str() {
                "redact" => counts.redact += 1,
                "hold" => counts.hold += 1,
                "urgent" => counts.urgent += 1,
                _ => {}
            }
        }
        counts
    }
}

#[derive(Debug, Serialize)]
pub struct SessionInfo {
    pub id: i64,
    pub status: SessionStatus,
    pub activity_title: String,
    pub agent_name: String,
    pub phase_count: usize,
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub server_now_ms: i64,
    pub session: SessionInfo,
    pub groups: Vec<GroupSnapshot>,
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Every message of a group, oldest first, read a page at a time.
async fn all_messages(ctx: &Ctx, group_id: i64) -> Result<Vec<Message>, ApiError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |m: &Message| m.seq);
        let page = ctx.store.messages_after(group_id, after, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

fn sender_name(m: &Message, session: &Session, children: &[Participant]) -> String {
    let child = m
        .sender_id
        .and_then(|id| children.iter().find(|p| p.id == id));
    crate::protocol::sender_name(
        m.sender_kind,
        child.map(|p| p.nickname.as_str()),
        &session.agent_name,
    )
}

async fn group_snapshot(
    ctx: &Ctx,
    session: &Session,
    group: &Group,
    recent: Option<usize>,
) -> Result<GroupSnapshot, ApiError> {
    let participants = ctx.store.participants(group.id).await?;
    let messages = all_messages(ctx, group.id).await?;
    let mut children: Vec<ChildStats> = participants
        .iter()
        .map(|p| ChildStats {
            participant: p.clone(),
            messages: 0,
            words: 0,
        })
        .collect();
    for m in &messages {
        if m.sender_kind != SenderKind::Child || m.moderation == store::Moderation::Hidden {
            continue;
        }
        if let Some(c) = children
            .iter_mut()
            .find(|c| Some(c.participant.id) == m.sender_id)
        {
            c.messages += 1;
            c.words += words(&m.text);
        }
    }
    let skip = recent.map_or(0, |n| messages.len().saturating_sub(n));
    let shown: Vec<WatchedMessage> = messages[skip..]
        .iter()
        .map(|m| WatchedMessage::new(m, sender_name(m, session, &participants)))
        .collect();
    let events = ctx.store.agent_events(group.id).await?;
    let skip = recent.map_or(0, |_| events.len().saturating_sub(RECENT_DECISIONS));
    let decisions = events[skip..].iter().map(Decision::from).collect();
    // Open notices, each with its message (also when the grid shows only recent ones).
    let notices = ctx
        .store
        .flags(group.id)
        .await?
        .into_iter()
        .filter(|f| f.resolved_at.is_none())
        .map(|flag| NoticeView {
            message: flag
                .message_seq
                .and_then(|seq| messages.iter().find(|m| m.seq == seq))
                .map(|m| WatchedMessage::new(m, sender_name(m, session, &participants))),
            flag,
        })
        .collect();
    let live = ctx.rooms.live_state(group.id).await;
    let agent = live
        .as_ref()
        .and_then(|l| l.agent.clone())
        .unwrap_or(AgentStatus {
            role: group.agent_role,
            activity: AgentActivity::Idle,
            paused: group.agent_paused,
            last_latency_ms: events.iter().rev().find_map(|e| e.ttft_ms),
        });
    Ok(GroupSnapshot {
        id: group.id,
        name: group.name.clone(),
        join_code: join_code::display(&group.join_code),
        locked: ctx.store.group_locked(group.id).await?,
        online: live.as_ref().map(|l| l.online.clone()).unwrap_or_default(),
        children,
        messages: shown,
        agent,
        // Nobody in the group: where its activity stands, as the store kept it.
        phase: match &live {
            Some(l) => l.phase.clone(),
            None => saved_phase(ctx, session, group),
        },
        phases_finished: live
            .as_ref()
            .map_or(group.phases_finished, |l| l.phases_finished),
        notices,
        decisions,
        safety: SafetyCounts::of(&messages),
    })
}

fn saved_phase(ctx: &Ctx, session: &Session, group: &Group) -> Option<PhaseInfo> {
    let index = usize::try_from(group.phase_index?).ok()?;
    let phase = ctx
        .activities
        .get(&session.activity_id)?
        .phases
        .get(index)?;
    Some(PhaseInfo {
        index,
        name: phase.name.clone(),
        goal: phase.goal.clone(),
        ends_at_ms: group.phase_ends_at,
    })
}

/// Everything the grid shows, for one session; `only` limits it to one group (with its whole
/// transcript and decision log).
pub async fn build_snapshot(
    ctx: &Ctx,
    session: &Session,
    only: Option<i64>,
) -> Result<Snapshot, ApiError> {
    let mut groups = Vec::new();
    for g in ctx.store.groups_of_session(session.id).await? {
        match only {
            Some(id) if id != g.id => continue,
            Some(_) => groups.push(group_snapshot(ctx, session, &g, None).await?),
            None => groups.push(group_snapshot(ctx, session, &g, Some(RECENT_MESSAGES)).await?),
        }
    }
    Ok(Snapshot {
        kind: "snapshot",
        server_now_ms: store::now_ms(),
        session: SessionInfo {
            id: session.id,
            status: session.status,
            activity_title: activity_title(ctx, session),
            agent_name: session.agent_name.clone(),
            phase_count: ctx
                .activities
                .get(&session.activity_id)
                .map_or(0, |a| a.phases.len()),
        },
        groups,
    })
}

pub async fn snapshot(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    me: SignedIn,
) -> Result<Json<Snapshot>, ApiError> {
    let session = owned_session(&ctx, &me, id).await?;
    let snapshot = build_snapshot(&ctx, &session, None).await?;
    // Reading children's messages is audited like an export; no entry, no data.
    ctx.store
        .audit(
            Some(me.id()),
            "read_snapshot",
            &format!("session {}", session.id),
            &format!("groups={}", snapshot.groups.len()),
            store::now_ms(),
        )
        .await?;
    Ok(Json(snapshot))
}

pub async fn transcript(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    me: SignedIn,
) -> Result<Json<Snapshot>, ApiError> {
    let (group, session) = owned_group(&ctx, &me, id).await?;
    let snapshot = build_snapshot(&ctx, &session, Some(group.id)).await?;
    ctx.store
        .audit(
            Some(me.id()),
            "read_transcript",
            &format!("group {}", group.id),
            &format!(
                "session={} messages={}",
                session.id,
                snapshot.groups.first().map_or(0, |g| g.messages.len())
            ),
            store::now_ms(),
        )
        .await?;
    Ok(Json(snapshot))
}

// ---------------------------------------------------------------------------------------------
// Stepping in

/// A facilitator's action on a group (docs/protocol.md, "Facilitator actions").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    PauseAgent {},
    ResumeAgent {},
    SwitchRole {
        role: AgentRole,
    },
    Whisper {
        text: String,
    },
    Post {
        text: String,
    },
    SkipPhase {},
    ExtendPhase {
        minutes: u32,
    },
    Mute {
        participant_id: i64,
        minutes: u32,
    },
    Unmute {
        participant_id: i64,
    },
    Hide {
        seq: i64,
    },
    Unhide {
        seq: i64,
    },
    /// The facilitator has seen a notice (a child's help request: SEEN); it stays on the grid
    /// until it is dealt with.
    SeeNotice {
        flag_id: i64,
    },
    /// The facilitator has dealt with a notice; it leaves the grid.
    ResolveNotice {
        flag_id: i64,
    },
    /// A message the safety screen held was fine after all: show it to the group.
    Release {
        flag_id: i64,
    },
    /// A message the safety screen held stays hidden (the notice leaves the grid).
    KeepHidden {
        flag_id: i64,
    },
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::PauseAgent {} => "pause_agent",
            Action::ResumeAgent {} => "resume_agent",
            Action::SwitchRole { .. } => "switch_role",
            Action::Whisper { .. } => "whisper",
            Action::Post { .. } => "post",
            Action::SkipPhase {} => "skip_phase",
            Action::ExtendPhase { .. } => "extend_phase",
            Action::Mute { .. } => "mute",
            Action::Unmute { .. } => "unmute",
            Action::Hide { .. } => "hide",
            Action::Unhide { .. } => "unhide",
            Action::SeeNotice { .. } => "see_notice",
            Action::ResolveNotice { .. } => "resolve_notice",
            Action::Release { .. } => "release_held",
            Action::KeepHidden { .. } => "keep_held",
        }
    }

    /// What the audit log keeps of it (the facilitator's own words included: researchers need
    /// to know how the agent was steered).
    fn detail(&self) -> String {
        match self {
            Action::SwitchRole { role } => format!("role={role}"),
            Action::Whisper { text } | Action::Post { text } => format!("text={text}"),
            Action::ExtendPhase { minutes } => format!("minutes={minutes}"),
            Action::Mute {
                participant_id,
                minutes,
            } => format!("participant={participant_id} minutes={minutes}"),
            Action::Unmute { participant_id } => format!("participant={participant_id}"),
            Action::Hide { seq } | Action::Unhide { seq } => format!("seq={seq}"),
            Action::ResolveNotice { flag_id }
            | Action::SeeNotice { flag_id }
            | Action::Release { flag_id }
            | Action::KeepHidden { flag_id } => format!("notice={flag_id}"),
            _ => String::new(),
        }
    }

    /// The room's command for it, carrying its audit entry (written with the command's own
    /// store write, see [`FacilitatorCommand`]).
    fn command(
        self,
        me: &SignedIn,
        now: i64,
        audit: NewAudit,
    ) -> Result<FacilitatorCommand, ApiError> {
        Ok(match self {
            Action::PauseAgent {} => FacilitatorCommand::PauseAgent { audit },
            Action::ResumeAgent {} => FacilitatorCommand::ResumeAgent { audit },
            Action::SwitchRole { role } => FacilitatorCommand::SwitchRole { role, audit },
            Action::Whisper { text } => FacilitatorCommand::Whisper {
                text: text.trim().to_string(),
                audit,
            },
            Action::Post { text } => FacilitatorCommand::Post {
                facilitator_id: me.id(),
                text,
                audit,
            },
            Action::SkipPhase {} => FacilitatorCommand::SkipPhase { audit },
            Action::ExtendPhase { minutes } => FacilitatorCommand::ExtendPhase { minutes, audit },
            Action::Mute {
                participant_id,
                minutes,
            } => {
                if minutes == 0 || minutes > MAX_MUTE_MINUTES {
                    return Err(ApiError::BadRequest(format!(
                        "a child can be muted for 1 to {MAX_MUTE_MINUTES} minutes"
                    )));
                }
                FacilitatorCommand::Mute {
                    participant_id,
                    until_ms: Some(now + i64::from(minutes) * 60_000),
                    audit,
                }
            }
            Action::Unmute { participant_id } => FacilitatorCommand::Mute {
                participant_id,
                until_ms: None,
                audit,
            },
            Action::Hide { seq } => FacilitatorCommand::SetHidden {
                seq,
                hidden: true,
                facilitator_id: me.id(),
                audit,
            },
            Action::Unhide { seq } => FacilitatorCommand::SetHidden {
                seq,
                hidden: false,
                facilitator_id: me.id(),
                audit,
            },
            Action::ResolveNotice { .. }
            | Action::SeeNotice { .. }
            | Action::KeepHidden { .. }
            | Action::Release { .. } => {
                unreachable!("notices are resolved in `resolve_notice`, not by the room")
            }
        })
    }
}

/// Carries out a facilitator's action. Its audit entry is written in the same transaction as
/// the action's own store write (by the store here, or by the group's room for a command), so
/// a page that shows the effect can find the entry, and an entry that cannot be written
/// leaves the action undone and answers with an error.
pub async fn action(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (group, session) = owned_group(&ctx, &me, id).await?;
    let action: Action = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("this action could not be understood: {e}")))?;
    if session.status == SessionStatus::Ended {
        return Err(ApiError::Conflict("This session has ended.".into()));
    }
    if let Action::SwitchRole { role } = action {
        if role == group.agent_role {
            return Ok(Json(serde_json::json!({ "ok": true })));
        }
    }
    let now = store::now_ms();
    let audit = NewAudit {
        facilitator_id: Some(me.id()),
        action: action.name().to_string(),
        target: format!("group {}", group.id),
        detail: action.detail(),
        created_at: now,
    };
    match action {
        Action::SeeNotice { flag_id } => {
            let flag = ctx
                .store
                .see_flag(group.id, flag_id, me.id(), now, &audit)
                .await?;
            ctx.rooms.watch().publish(
                session.id,
                &WatchEvent::NoticeSeen {
                    group_id: group.id,
                    flag_id,
                    seen_at_ms: flag.seen_at.unwrap_or(now),
                },
            );
            tell_child(&ctx, &flag, HelpState::Seen).await?;
        }
        Action::ResolveNotice { flag_id } => {
            let how = "dealt_with";
            let flag =
                resolve_notice(&ctx, &me, &session, &group, flag_id, how, Some(&audit)).await?;
            tell_child(&ctx, &flag, HelpState::DealtWith).await?;
        }
        Action::KeepHidden { flag_id } => {
            resolve_notice(&ctx, &me, &session, &group, flag_id, "kept", Some(&audit)).await?;
        }
        Action::Release { flag_id } => {
            let flag = ctx.store.flag(group.id, flag_id).await?;
            let Some(seq) = flag.message_seq.filter(|_| flag.kind == "held") else {
                return Err(ApiError::BadRequest(
                    "Only a held message can be released to the group.".into(),
                ));
            };
            // Audited with the message shown again, the release's effect the group sees; the
            // notice is then resolved without an entry of its own.
            let command = FacilitatorCommand::SetHidden {
                seq,
                hidden: false,
                facilitator_id: me.id(),
                audit,
            };
            steer(&ctx, group.id, command).await?;
            resolve_notice(&ctx, &me, &session, &group, flag_id, "released", None).await?;
        }
        other => steer(&ctx, group.id, other.command(&me, now, audit)?).await?,
    }
    Ok(Json(serde_json::json!({ "ok": true })))
}

/// Carries out a command in the group's room.
async fn steer(ctx: &Ctx, group_id: i64, command: FacilitatorCommand) -> Result<(), ApiError> {
    Ok(ctx.rooms.facilitator(group_id, command).await?)
}

/// A child whose help request a facilitator saw or dealt with hears so at once (other notices
/// are about no child's request: nothing to tell).
async fn tell_child(ctx: &Ctx, flag: &Flag, state: HelpState) -> Result<(), ApiError> {
    let (Some(participant_id), true) = (flag.participant_id, flag.kind == store::HELP_REQUEST)
    else {
        return Ok(());
    };
    let command = FacilitatorCommand::HelpAnswered {
        participant_id,
        asked_at_ms: flag.created_at,
        state,
    };
    steer(ctx, flag.group_id, command).await
}

/// Marks a notice as dealt with (`how`: dealt_with, kept, released), with `audit` in the same
/// transaction, and takes it off every dashboard of the session.
async fn resolve_notice(
    ctx: &Ctx,
    me: &SignedIn,
    session: &Session,
    group: &Group,
    flag_id: i64,
    how: &str,
    audit: Option<&NewAudit>,
) -> Result<Flag, ApiError> {
    let at = store::now_ms();
    let flag = ctx
        .store
        .resolve_flag(group.id, flag_id, how, Some(me.id()), at, audit)
        .await?;
    ctx.rooms.watch().publish(
        session.id,
        &WatchEvent::NoticeResolved {
            group_id: group.id,
            flag_id,
        },
    );
    Ok(flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_strictly() {
        let ok: Action =
            serde_json::from_str(r#"{"action":"mute","participant_id":3,"minutes":5}"#).unwrap();
        assert_eq!(
            ok,
            Action::Mute {
                participant_id: 3,
                minutes: 5
            }
        );
        let ok: Action = serde_json::from_str(r#"{"action":"pause_agent"}"#).unwrap();
        assert_eq!(ok, Action::PauseAgent {});
        for bad in [
            r#"{"action":"launch"}"#,
            r#"{"action":"pause_agent","extra":1}"#,
            r#"{"action":"switch_role","role":"teacher"}"#,
            r#"{"action":"extend_phase","minutes":-2}"#,
            r#"{"action":"hide"}"#,
            "[]",
            "",
        ] {
            assert!(serde_json::from_str::<Action>(bad).is_err(), "{bad}");
        }
    }
}
