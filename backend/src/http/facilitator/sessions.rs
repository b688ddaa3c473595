//! Setting up: the facilitator's sessions, a new session from an activity, starting, pausing
//! and ending it, printable join cards, and transcript downloads.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::signed_in::{CsrfField, CsrfForm, SignedIn, SignedInPage};
use super::{owned_session, DashPage};
use crate::export::{self, ParticipationTable};
use crate::http::pages::render;
use crate::http::{ApiError, Ctx};
use crate::i18n::Lang;
use crate::join_code;
use crate::room::WatchEvent;
use crate::store::{self, AgentRole, Group, NewGroup, NewSession, Session, SessionStatus};

pub const MAX_GROUPS: usize = 30;
const MAX_AGENT_NAME_CHARS: usize = 24;
const MAX_PHASE_MINUTES: u32 = 120;

/// Languages offered in the form (any code the model speaks may be typed in the CLI), each
/// by its own name, which reads the same in every dashboard language.
const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pt", "Português"),
    ("pl", "Polski"),
    ("sv", "Svenska"),
    ("da", "Dansk"),
    ("fi", "Suomi"),
    ("tr", "Türkçe"),
];

pub struct SessionRow {
    pub id: i64,
    pub title: String,
    pub status: &'static str,
    pub groups: usize,
    pub created: String,
    /// The same instant for the page's script, which shows it in the facilitator's locale.
    pub created_iso: String,
}

pub struct ActivityChoice {
    pub id: String,
    pub title: String,
    pub minutes: String,
    pub selected: bool,
}

pub struct LanguageChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

pub struct RoleRow {
    pub index: usize,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "facilitator_sessions.html")]
struct SessionsPage {
    lang: Lang,
    here: String,
    name: String,
    csrf: String,
    sessions: Vec<SessionRow>,
    activities: Vec<ActivityChoice>,
    languages: Vec<LanguageChoice>,
    roles: Vec<RoleRow>,
    groups: usize,
    agent_name: String,
    phase_minutes: String,
    safety_level: String,
    retention_days: String,
    max_retention_days: u32,
    max_groups: usize,
    error: Option<String>,
}

/// What the form had, so a refused form comes back as the facilitator filled it in.
#[derive(Debug, Default, Clone)]
struct Draft {
    activity: String,
    groups: usize,
    roles: Vec<AgentRole>,
    agent_name: String,
    language: String,
    phase_minutes: String,
    safety_level: String,
    retention_days: String,
}

async fn sessions_page(
    ctx: &Ctx,
    me: &SignedIn,
    page: DashPage,
    draft: Draft,
    error: Option<String>,
) -> Result<SessionsPage, ApiError> {
    let mut sessions = Vec::new();
    for s in ctx.store.sessions(Some(me.id())).await? {
        let groups = ctx.store.groups_of_session(s.id).await?.len();
        sessions.push(SessionRow {
            id: s.id,
            title: activity_title(ctx, &s),
            status: s.status.as_str(),
            groups,
            created: format_time(s.created_at),
            created_iso: iso_time(s.created_at),
        });
    }
    let activities = ctx
        .activities
        .all()
        .map(|a| ActivityChoice {
            id: a.id.clone(),
            title: a.title.clone(),
            minutes: a
                .phases
                .iter()
                .map(|p| p.minutes.to_string())
                .collect::<Vec<_>>()
                .join(","),
            selected: a.id == draft.activity,
        })
        .collect();
    let language = if draft.language.is_empty() {
        "en"
    } else {
        draft.language.as_str()
    };
    Ok(SessionsPage {
        lang: page.lang,
        here: page.here,
        name: me.facilitator.name.clone(),
        csrf: me.csrf.clone(),
        sessions,
        activities,
        languages: LANGUAGES
            .iter()
            .map(|(code, name)| LanguageChoice {
                code,
                name,
                selected: *code == language,
            })
            .collect(),
        roles: (1..=MAX_GROUPS)
            .map(|i| RoleRow {
                index: i,
                role: draft
                    .roles
                    .get(i - 1)
                    .copied()
                    .unwrap_or(AgentRole::Moderator)
                    .as_str(),
            })
            .collect(),
        groups: draft.groups.clamp(1, MAX_GROUPS),
        agent_name: if draft.agent_name.is_empty() {
            "Blue".into()
        } else {
            draft.agent_name
        },
        phase_minutes: draft.phase_minutes,
        safety_level: if draft.safety_level.is_empty() {
            "standard".into()
        } else {
            draft.safety_level
        },
        retention_days: if draft.retention_days.is_empty() {
            ctx.data.retention_days.to_string()
        } else {
            draft.retention_days
        },
        max_retention_days: store::MAX_RETENTION_DAYS,
        max_groups: MAX_GROUPS,
        error,
    })
}

pub async fn list(
    State(ctx): State<Ctx>,
    SignedInPage(me): SignedInPage,
    dash: DashPage,
) -> Result<Response, ApiError> {
    let page = sessions_page(
        &ctx,
        &me,
        dash,
        Draft {
            groups: 2,
            ..Draft::default()
        },
        None,
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// Reads the creation form. Fields come as a list so that `role_1`..`role_N` need no schema.
fn parse_draft(fields: &[(String, String)], lang: Lang) -> (Draft, Option<String>) {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut draft = Draft {
        activity: get("activity"),
        agent_name: get("agent_name"),
        language: get("language"),
        phase_minutes: get("phase_minutes"),
        safety_level: get("safety_level"),
        retention_days: get("retention_days"),
        ..Draft::default()
    };
    let groups = get("groups");
    match groups.parse::<usize>() {
        Ok(n) if (1..=MAX_GROUPS).contains(&n) => draft.groups = n,
        _ => {
            draft.groups = 1;
            return (draft, Some(lang.t1("dash-form-groups", "max", MAX_GROUPS)));
        }
    }
    for i in 1..=draft.groups {
        let raw = get(&format!("role_{i}"));
        match if raw.is_empty() {
            Ok(AgentRole::Moderator)
        } else {
            raw.parse::<AgentRole>()
        } {
            Ok(role) => draft.roles.push(role),
            Err(_) => return (draft, Some(lang.t1("dash-form-role", "index", i))),
        }
    }
    (draft, None)
}

/// The retention period the form asks for: its field, or the server's default when empty.
fn retention_of(ctx: &Ctx, draft: &Draft, lang: Lang) -> Result<u32, String> {
    if draft.retention_days.is_empty() {
        return Ok(ctx.data.retention_days);
    }
    draft
        .retention_days
        .parse::<i64>()
        .map_err(|_| ())
        .and_then(|d| store::check_retention_days(d).map_err(|_| ()))
        .map_err(|()| lang.t1("dash-form-retention", "max", store::MAX_RETENTION_DAYS))
}

/// Checks the draft against the catalog; the phase minutes in canonical form.
fn validate(ctx: &Ctx, draft: &Draft, lang: Lang) -> Result<Option<String>, String> {
    let Some(activity) = ctx.activities.get(&draft.activity) else {
        return Err(lang.t("dash-form-activity"));
    };
    let name_chars = draft.agent_name.chars().count();
    if name_chars == 0
        || name_chars > MAX_AGENT_NAME_CHARS
        || draft.agent_name.chars().any(char::is_control)
    {
        return Err(lang.t1("dash-form-agent-name", "max", MAX_AGENT_NAME_CHARS));
    }
    if !draft.safety_level.is_empty() && draft.safety_level.parse::<crate::safety::Level>().is_err()
    {
        return Err(lang.t("dash-form-safety-level"));
    }
    let code = &draft.language;
    if code.is_empty()
        || code.len() > 16
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(lang.t("dash-form-language"));
    }
    if draft.phase_minutes.is_empty() {
        return Ok(None);
    }
    let n = activity.phases.len();
    let minutes: Result<Vec<u32>, _> = draft
        .phase_minutes
        .split(',')
        .map(|m| m.trim().parse::<u32>())
        .collect();
    match minutes {
        Ok(m) if m.len() == n && m.iter().all(|x| (1..=MAX_PHASE_MINUTES).contains(x)) => Ok(Some(
            m.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        )),
        _ => Err(lang.t_args(
            "dash-form-phase-minutes",
            &[
                ("count", n.into()),
                ("max", MAX_PHASE_MINUTES.into()),
                ("activity", activity.title.as_str().into()),
            ],
        )),
    }
}

pub async fn create(
    State(ctx): State<Ctx>,
    dash: DashPage,
    CsrfForm { me, form: fields }: CsrfForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let lang = dash.lang;
    let (draft, error) = parse_draft(&fields, lang);
    let checked = match error {
        Some(e) => Err(e),
        None => validate(&ctx, &draft, lang)
            .and_then(|minutes| retention_of(&ctx, &draft, lang).map(|days| (minutes, days))),
    };
    let (phase_minutes, retention_days) = match checked {
        Ok(m) => m,
        Err(message) => {
            let page = sessions_page(&ctx, &me, dash, draft, Some(message)).await?;
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let new = NewSession {
        facilitator_id: Some(me.id()),
        activity_id: draft.activity.clone(),
        language: draft.language.clone(),
        agent_name: draft.agent_name.clone(),
        groups: NewGroup::numbered_as(draft.roles.iter().copied(), |n| {
            crate::i18n::Lang::of_session(&draft.language).t1("dash-group-n", "index", n)
        }),
        created_at: store::now_ms(),
        phase_minutes,
        safety_level: if draft.safety_level.is_empty() {
            "standard".into()
        } else {
            draft.safety_level.clone()
        },
    };
    let (session, groups) = ctx
        .store
        .create_session_with_retention(&new, retention_days)
        .await?;
    let roles: Vec<&str> = groups.iter().map(|g| g.agent_role.as_str()).collect();
    ctx.store
        .audit(
            Some(me.id()),
            "create_session",
            &format!("session {}", session.id),
            &format!(
                "activity={} groups={} roles={} agent_name={} language={} phase_minutes={} safety_level={} retention_days={}",
                session.activity_id,
                groups.len(),
                roles.join(","),
                session.agent_name,
                session.language,
                session.phase_minutes.as_deref().unwrap_or("default"),
                session.safety_level,
                session.retention_days
            ),
            store::now_ms(),
        )
        .await?;
    Ok(Redirect::to(&format!("/facilitator/sessions/{}", session.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    csrf: String,
    /// start, pause, resume or end.
    action: String,
}

impl CsrfField for StatusForm {
    fn csrf(&self) -> Option<&str> {
        Some(&self.csrf)
    }
}

pub async fn change_status(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    CsrfForm { me, form }: CsrfForm<StatusForm>,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let target = match (form.action.as_str(), session.status) {
        (_, SessionStatus::Ended) => {
            return Err(ApiError::Conflict("This session has ended.".into()))
        }
        ("start", SessionStatus::Created) | ("resume", SessionStatus::Paused) => {
            SessionStatus::Running
        }
        ("pause", SessionStatus::Running) => SessionStatus::Paused,
        ("end", _) => SessionStatus::Ended,
        (action, status) => {
            return Err(ApiError::BadRequest(format!(
                "cannot {action:?} a session that is {status}"
            )))
        }
    };
    let updated = ctx
        .store
        .set_session_status(session.id, target, store::now_ms())
        .await?;
    for g in ctx.store.groups_of_session(session.id).await? {
        ctx.rooms.session_status(g.id, target).await;
    }
    ctx.rooms.watch().publish(
        session.id,
        &WatchEvent::Session {
            session_id: session.id,
            status: updated.status.to_string(),
        },
    );
    ctx.store
        .audit(
            Some(me.id()),
            &format!("session_{}", form.action),
            &format!("session {}", session.id),
            &format!("{} -> {}", session.status, updated.status),
            store::now_ms(),
        )
        .await?;
    Ok(Redirect::to(&format!("/facilitator/sessions/{}", session.id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Join cards

pub struct Card {
    pub group_name: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "facilitator_cards.html")]
struct CardsPage {
    /// The session's language: the cards are for the children.
    lang: Lang,
    session_id: i64,
    title: String,
    address: String,
    cards: Vec<Card>,
}

pub async fn cards(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    SignedInPage(me): SignedInPage,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let groups = ctx.store.groups_of_session(session.id).await?;
    let page = CardsPage {
        lang: Lang::of_session(&session.language),
        session_id: session.id,
        title: activity_title(&ctx, &session),
        address: format!("{}/", ctx.public_url.trim_end_matches('/')),
        cards: groups
            .iter()
            .map(|g: &Group| Card {
                group_name: g.name.clone(),
                code: join_code::display(&g.join_code),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// Downloads

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: String,
    #[serde(default)]
    pseudonyms: Option<String>,
    #[serde(default)]
    group: Option<i64>,
}

/// A download, pseudonymised, audited like the command line's export: a transcript
/// (csv, jsonl, txt, qdpx), the codebook (qdc), the participation analytics as CSV
/// (`participation` per group, `participation-speakers` per speaker), or the consent
/// records as CSV (`consent`).
pub async fn export(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    me: SignedIn,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let pseudonyms = match query.pseudonyms.as_deref().unwrap_or("numbered") {
        "numbered" => peerlearn_transcripts::PseudonymMode::Numbered,
        "nicknames" => peerlearn_transcripts::PseudonymMode::Nicknames,
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown pseudonyms {other:?}; expected numbered or nicknames"
            )))
        }
    };
    let participation = match query.format.as_str() {
        "participation" => Some(ParticipationTable::Groups),
        "participation-speakers" => Some(ParticipationTable::Speakers),
        _ => None,
    };
    let consent = query.format == "consent";
    let format: Option<export::Format> = match participation {
        Some(_) => None,
        None if consent => None,
        None => Some(query.format.parse().map_err(|e: String| {
            ApiError::BadRequest(format!(
                "{e}, participation, participation-speakers or consent"
            ))
        })?),
    };
    let header = export::session_header(&ctx.store, session.id, query.group).await?;
    let options = peerlearn_transcripts::ExportOptions {
        pseudonyms,
        groups: query.group.map(|g| vec![g]),
        csv_bom: true,
        ..Default::default()
    };
    // A classroom session is a few thousand messages: built in memory, sent in one piece.
    let mut body = Vec::new();
    let (extension, content_type, utterances) = match (format, participation) {
        (Some(format), _) => {
            let summary =
                export::write_file(&ctx.store, &header, format, &options, &mut body, |_| {})
                    .await?;
            (
                format.extension().to_string(),
                format.content_type(),
                summary.utterances,
            )
        }
        (None, Some(table)) => {
            export::write_participation_csv(&ctx.store, &header, &options, table, &mut body)
                .await?;
            let name = if table == ParticipationTable::Groups {
                "participation.csv"
            } else {
                "participation-speakers.csv"
            };
            (name.to_string(), "text/csv; charset=utf-8", 0)
        }
        (None, None) => {
            let n = export::write_consent_csv(&header, &options, &mut body)?;
            (
                "consent.csv".to_string(),
                "text/csv; charset=utf-8",
                n as u64,
            )
        }
    };
    // No audit entry, no download: the body is only sent once the entry is written.
    ctx.store
        .audit(
            Some(me.id()),
            "export",
            &format!("session {}", session.id),
            &format!(
                "format={} group={} pseudonyms={:?} utterances={} via=dashboard",
                query.format,
                query
                    .group
                    .map_or_else(|| "all".to_string(), |g| g.to_string()),
                pseudonyms,
                utterances
            ),
            store::now_ms(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot write the audit log entry of an export");
            ApiError::Internal(
                "The export could not be recorded in the audit log, so it was not sent.".into(),
            )
        })?;
    let filename = format!("session-{}.{}", session.id, extension);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Inter-rater agreement on the session's codings (Cohen's kappa per code and pair of
/// coders, Krippendorff's alpha), as JSON.
pub async fn agreement(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    me: SignedIn,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let header = export::session_header(&ctx.store, session.id, None).await?;
    let report = export::agreement(
        &ctx.store,
        &header,
        &peerlearn_transcripts::ExportOptions::default(),
        peerlearn_transcripts::agreement::Coverage::default(),
    )
    .await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"session-{}-agreement.json\"",
                session.id
            ),
        )],
        axum::Json(report),
    )
        .into_response())
}

/// The name of a session's language, as the set-up form offers it (its code when unknown).
pub fn language_name(code: &str) -> &str {
    LANGUAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, name)| name)
}

/// An agent role as the set-up form names it, in the dashboard's language.
pub fn role_name(lang: Lang, role: AgentRole) -> String {
    lang.t(match role {
        AgentRole::Moderator => "dash-role-moderator",
        AgentRole::Participant => "dash-role-participant",
        AgentRole::None => "dash-role-none",
    })
}

pub fn activity_title(ctx: &Ctx, session: &Session) -> String {
    ctx.activities
        .get(&session.activity_id)
        .map_or_else(|| session.activity_id.clone(), |a| a.title.clone())
}

/// "2026-11-26 09:15 UTC" from milliseconds since the epoch.
/// An instant as ISO 8601 in UTC, for `<time datetime>` (the script shows it in the
/// facilitator's locale).
pub fn iso_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_700_000_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_form_is_read_with_roles_per_group() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (d, e) = parse_draft(
            &f(&[
                ("groups", "3"),
                ("role_1", "moderator"),
                ("role_2", "participant"),
                ("role_3", "none"),
                ("role_4", "bogus"),
            ]),
            Lang::En,
        );
        assert_eq!(e, None);
        assert_eq!(
            d.roles,
            vec![
                AgentRole::Moderator,
                AgentRole::Participant,
                AgentRole::None
            ]
        );
        let (_, e) = parse_draft(&f(&[("groups", "2"), ("role_2", "teacher")]), Lang::En);
        assert!(e.unwrap().contains("Group 2"));
        for bad in ["0", "31", "-1", "two", ""] {
            let (_, e) = parse_draft(&f(&[("groups", bad)]), Lang::En);
            assert!(e.is_some(), "{bad}");
        }
    }
}
