//! Children's data on the dashboard: the session's retention period, its consent records
//! (shown and added on the session page), and deleting the session for good (a confirmation
//! page, then a CSRF-checked form). Every change is audited; a deletion's audit entry is
//! written in the deletion's own transaction.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::sessions::{activity_title, format_time};
use super::signed_in::{CsrfField, CsrfForm, CsrfOnly, SignedInPage};
use super::{owned_session, DashPage};
use crate::http::pages::render;
use crate::http::{ApiError, Ctx};
use crate::i18n::Lang;
use crate::room::WatchEvent;
use crate::store::{self, ConsentKind, Deleter, Session, SessionStatus};

/// A consent record as the session page shows it.
pub struct ConsentRow {
    pub kind: String,
    pub given_on: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// What the session page shows about the session's data.
#[derive(Default)]
pub struct DataView {
    /// "until 180 days after the session ends" or "until 2027-05-25 (180 days after it ended)".
    pub kept: String,
    pub consents: Vec<ConsentRow>,
    pub consent_error: Option<String>,
    pub draft: ConsentForm,
}

fn kind_label(lang: Lang, kind: ConsentKind) -> String {
    match kind {
        ConsentKind::School => lang.t("dash-consent-school"),
        ConsentKind::Parents => lang.t("dash-consent-parents"),
        ConsentKind::ChildAssent => lang.t("dash-consent-child-assent"),
        ConsentKind::Other => lang.t("dash-consent-other"),
    }
}

/// How long the session's data is kept: "until 180 days after the session ends (…)".
pub fn kept(session: &Session, lang: Lang) -> String {
    match session.ended_at {
        Some(end) => lang.t_args(
            "dash-kept-ended",
            &[
                (
                    "date",
                    format_time(end + session.retention_days * 86_400_000)[..10].into(),
                ),
                ("days", session.retention_days.into()),
            ],
        ),
        None => lang.t1("dash-kept-open", "days", session.retention_days),
    }
}

pub async fn data_view(
    ctx: &Ctx,
    session: &Session,
    lang: Lang,
    consent_error: Option<String>,
    draft: ConsentForm,
) -> Result<DataView, ApiError> {
    let kept = kept(session, lang);
    let consents = ctx
        .store
        .consents(session.id)
        .await?
        .into_iter()
        .map(|c| ConsentRow {
            kind: kind_label(lang, c.kind),
            given_on: c.given_on,
            note: c.note,
            recorded_by: c
                .recorded_by_name
                .unwrap_or_else(|| lang.t("dash-recorded-by-cli")),
            recorded_at: format_time(c.created_at),
        })
        .collect();
    Ok(DataView {
        kept,
        consents,
        consent_error,
        draft,
    })
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ConsentForm {
    pub csrf: String,
    pub kind: String,
    pub given_on: String,
    pub note: String,
}

impl CsrfField for ConsentForm {
    fn csrf(&self) -> Option<&str> {
        Some(&self.csrf)
    }
}

/// POST /facilitator/sessions/{id}/consents: records a consent; a refused form comes back on
/// the session page with its message and what was typed.
pub async fn add_consent(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    page: DashPage,
    CsrfForm { me, form }: CsrfForm<ConsentForm>,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let consent =
        match store::check_consent(&form.kind, &form.given_on, &form.note, store::now_ms()) {
            Ok(c) => c,
            Err(message) => {
                let data = data_view(&ctx, &session, page.lang, Some(message), form).await?;
                return super::live::render_session_page(
                    &ctx,
                    &me,
                    page,
                    &session,
                    data,
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
        };
    let record = ctx
        .store
        .add_consent(session.id, &consent, Some(me.id()), store::now_ms())
        .await?;
    ctx.store
        .audit(
            Some(me.id()),
            "add_consent",
            &format!("session {}", session.id),
            &format!(
                "consent={} kind={} given_on={} via=dashboard",
                record.id, record.kind, record.given_on
            ),
            store::now_ms(),
        )
        .await?;
    Ok(Redirect::to(&format!("/facilitator/sessions/{}#consent", session.id)).into_response())
}

#[derive(Template)]
#[template(path = "facilitator_delete.html")]
struct DeletePage {
    lang: Lang,
    here: String,
    session_id: i64,
    title: String,
    status: &'static str,
    csrf: String,
    name: String,
    messages: u64,
    children: u64,
    codings: u64,
    consents: u64,
}

impl DeletePage {
    /// What deleting removes, each count in bold with its id (the tests find them).
    fn body_html(&self) -> String {
        let shown = |n: u64| n.to_string();
        let (messages, children, codings, consents) = (
            shown(self.messages),
            shown(self.children),
            shown(self.codings),
            shown(self.consents),
        );
        self.lang.rich_args(
            "dash-delete-body",
            &[
                ("messages", self.messages.into()),
                ("children", self.children.into()),
                ("codings", self.codings.into()),
                ("consents", self.consents.into()),
            ],
            &[
                ("messagesShown", &messages, "strong#delete-messages"),
                ("childrenShown", &children, "strong#delete-children"),
                ("codingsShown", &codings, "strong#delete-codings"),
                ("consentsShown", &consents, "strong#delete-consents"),
            ],
        )
    }
}

/// GET /facilitator/sessions/{id}/delete: what deleting would remove, and the button.
pub async fn confirm_delete(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    SignedInPage(me): SignedInPage,
    page: DashPage,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let rows = ctx.store.session_rows(session.id).await?;
    Ok(render(
        StatusCode::OK,
        &DeletePage {
            lang: page.lang,
            here: page.here,
            session_id: session.id,
            title: activity_title(&ctx, &session),
            status: session.status.as_str(),
            csrf: me.csrf.clone(),
            name: me.facilitator.name.clone(),
            messages: rows.messages,
            children: rows.participants,
            codings: rows.codings,
            consents: rows.consents,
        },
    ))
}

/// POST /facilitator/sessions/{id}/delete: ends the session if it is not ended (children
/// are told, as with the End button), then deletes it and everything it holds.
pub async fn delete(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    CsrfForm { me, .. }: CsrfForm<CsrfOnly>,
) -> Result<Response, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    if session.status != SessionStatus::Ended {
        ctx.store
            .set_session_status(session.id, SessionStatus::Ended, store::now_ms())
            .await?;
        for g in ctx.store.groups_of_session(session.id).await? {
            ctx.rooms.session_status(g.id, SessionStatus::Ended).await;
        }
        ctx.rooms.watch().publish(
            session.id,
            &WatchEvent::Session {
                session_id: session.id,
                status: SessionStatus::Ended.to_string(),
            },
        );
    }
    ctx.store
        .delete_session(
            session.id,
            Deleter::Facilitator {
                id: me.id(),
                name: &me.facilitator.name,
            },
            "reason=request via=dashboard",
            store::now_ms(),
        )
        .await?;
    Ok(Redirect::to("/facilitator").into_response())
}
