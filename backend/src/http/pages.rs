//! The classroom web app's pages: the join page, the chat page and their static files.
//!
//! Everything the browser loads comes from this server (the templates and static files are
//! compiled into the binary): no CDN, no inline script, a strict Content-Security-Policy. The
//! pages hand their data to the scripts as `data-*` attributes; all chat text is inserted by the
//! scripts as text, never as HTML.

use std::net::SocketAddr;
use std::sync::OnceLock;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::Refused;
use super::join::{
    self, Credential, JoinAttempt, JoinFailure, JoinRequest, AVATARS, MAX_NICKNAME_CHARS,
};
use super::Ctx;
use crate::child_text;
use crate::i18n::Lang;
use crate::store::AgentRole;

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/", get(join_page))
        .route("/join", post(join_submit))
        .route("/chat/{group_id}", get(chat_page))
        .route("/static/{*file}", get(static_file))
        .layer(middleware::map_response(security_headers))
}

// ---------------------------------------------------------------------------------------------
// The join page

/// Each avatar's picture (drawn as SVG: an emoji shows as an empty box on a machine without a
/// colour-emoji font) and the catalogue key of its name, the picture's text alternative.
/// Avatars are stored as their emoji, so the choices children made before the pictures map
/// one to one.
const AVATAR_PICTURES: &[(&str, &str, &str)] = &[
    ("🦊", "fox", "avatar-fox"),
    ("🐼", "panda", "avatar-panda"),
    ("🐸", "frog", "avatar-frog"),
    ("🦁", "lion", "avatar-lion"),
    ("🐙", "octopus", "avatar-octopus"),
    ("🦉", "owl", "avatar-owl"),
    ("🐢", "turtle", "avatar-turtle"),
    ("🐝", "bee", "avatar-bee"),
    ("🦄", "unicorn", "avatar-unicorn"),
    ("🐬", "dolphin", "avatar-dolphin"),
    ("🐨", "koala", "avatar-koala"),
    ("🐧", "penguin", "avatar-penguin"),
];

/// An avatar's picture and name; an unknown one (never offered) gets a generic name.
pub(super) struct AvatarPicture {
    pub src: String,
    pub name: String,
}

pub(super) fn avatar_picture(lang: Lang, emoji: &str) -> AvatarPicture {
    match AVATAR_PICTURES.iter().find(|(e, _, _)| *e == emoji) {
        Some((_, file, key)) => AvatarPicture {
            src: format!("/static/avatars/{file}.svg"),
            name: lang.t(key),
        },
        None => AvatarPicture {
            src: "/static/avatars/unknown.svg".into(),
            name: lang.t("avatar-animal"),
        },
    }
}

/// Every avatar's picture and its name in `lang` as JSON (`{"🦊": {"src": …, "name": "Fox"},
/// …}`), for the pages' scripts, which draw the avatars of messages and people.
pub(crate) fn avatars_json(lang: Lang) -> String {
    let map: serde_json::Map<String, serde_json::Value> = AVATAR_PICTURES
        .iter()
        .map(|(emoji, _, _)| {
            let p = avatar_picture(lang, emoji);
            (
                emoji.to_string(),
                serde_json::json!({"src": p.src, "name": p.name}),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

struct AvatarChoice {
    emoji: &'static str,
    picture: AvatarPicture,
    checked: bool,
}

/// A child who already joined (their cookie is valid and their group is open): the join page
/// offers them the way back to their chat.
struct Returning {
    nickname: String,
    avatar: AvatarPicture,
    chat_url: String,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    lang: Lang,
    code: String,
    nickname: String,
    avatars: Vec<AvatarChoice>,
    max_nickname: usize,
    error: Option<String>,
    /// The field the error is about ("code", "nickname", "avatar"), for the page's focus.
    error_field: &'static str,
    returning: Option<Returning>,
}

impl JoinPage {
    fn new(
        lang: Lang,
        code: &str,
        nickname: &str,
        avatar: &str,
        error: Option<String>,
    ) -> JoinPage {
        JoinPage {
            lang,
            // Keep what the child typed, but never echo back an absurd amount of it.
            code: code.chars().take(32).collect(),
            nickname: nickname.chars().take(64).collect(),
            avatars: AVATARS
                .iter()
                .map(|&emoji| AvatarChoice {
                    emoji,
                    picture: avatar_picture(lang, emoji),
                    checked: emoji == avatar,
                })
                .collect(),
            max_nickname: MAX_NICKNAME_CHARS,
            error,
            error_field: "code",
            returning: None,
        }
    }
}

async fn join_page(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let mut page = JoinPage::new(Lang::of_browser(&headers), "", "", "", None);
    // Only a credential that still opens its chat (unexpired, its session not ended).
    if let Some(p) = join::participant_of(&ctx, &headers).await {
        // A child coming back is greeted in their session's language.
        if let Some(lang) = join::language_of_group(&ctx, p.group_id).await {
            page = JoinPage::new(lang, "", "", "", None);
        }
        page.returning = Some(Returning {
            nickname: p.nickname.clone(),
            avatar: avatar_picture(page.lang, &p.avatar),
            chat_url: format!("/chat/{}", p.group_id),
        });
    }
    render(StatusCode::OK, &page)
}

/// The join form. Every field defaults to empty so that a missing one (no avatar picked) gets
/// the friendly message of [`join::join_group`] rather than a bare rejection.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JoinForm {
    code: String,
    nickname: String,
    avatar: String,
}

async fn join_submit(
    State(ctx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<JoinForm>, FormRejection>,
) -> Response {
    let browser = Lang::of_browser(&headers);
    let (typed, joined) = match form {
        _ if !same_origin_post(&ctx, &headers) => (
            JoinForm::default(),
            Err(Refused::new(JoinFailure::CrossSite, browser)),
        ),
        Err(_) => (
            JoinForm::default(),
            Err(Refused::new(JoinFailure::IncompleteForm, browser)),
        ),
        Ok(Form(form)) => {
            let joined = join_submitted(&ctx, peer, &headers, &form).await;
            (form, joined)
        }
    };
    match joined {
        Ok(response) => response,
        Err(Refused { failure, lang }) => {
            if let JoinFailure::Internal(detail) = &failure {
                // The detail is for the log only; the child reads the friendly sentence.
                tracing::error!(%detail, "join from the page failed");
            }
            // What the child typed stays in the form.
            let mut page = JoinPage::new(
                lang,
                &typed.code,
                &typed.nickname,
                &typed.avatar,
                Some(failure.message(lang)),
            );
            page.error_field = failure.field();
            failure.with_retry_after(render(failure.status(), &page))
        }
    }
}

/// Joins with the form's fields: the redirect to the chat with the child's cookie.
async fn join_submitted(
    ctx: &Ctx,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: &JoinForm,
) -> Result<Response, Refused> {
    let request = JoinRequest {
        code: form.code.clone(),
        nickname: form.nickname.clone(),
        avatar: form.avatar.clone(),
    };
    let joined = join::join_group(ctx, &request, &JoinAttempt::new(peer, headers)).await?;
    let cookie = join::credential_cookie(ctx, &joined.token);
    let mut response = Redirect::to(&format!("/chat/{}", joined.group.id)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Refuses a join posted from another site (login cross-site request forgery). Browsers send
/// `Sec-Fetch-Site`; older ones at least `Origin`, which under `Referrer-Policy: no-referrer` is
/// `null` even for the page's own form, so only a foreign origin that is spelled out is refused.
pub(super) fn same_origin_post(ctx: &Ctx, headers: &HeaderMap) -> bool {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site.as_str(), "same-origin" | "none");
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    if origin == "null" {
        return true;
    }
    let origin = origin.trim_end_matches('/');
    let host = text("host").unwrap_or_default();
    origin == format!("http://{host}")
        || origin == format!("https://{host}")
        || origin == ctx.public_url.trim_end_matches('/')
}

// ---------------------------------------------------------------------------------------------
// The chat page

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage {
    lang: Lang,
    group_id: i64,
    group_name: String,
    activity_title: String,
    problem: String,
    phase_count: usize,
    me_id: i64,
    nickname: String,
    avatar: String,
    picture: AvatarPicture,
    avatars: String,
    /// Empty when the group has no agent.
    agent_name: String,
    agent_role: &'static str,
    session_status: &'static str,
    server_now_ms: i64,
}

async fn chat_page(
    State(ctx): State<Ctx>,
    Path(group_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(group_id) = group_id.parse::<i64>() else {
        return Redirect::to("/").into_response();
    };
    let me = match join::credential_of(&ctx, &headers).await {
        Credential::Valid(p) => p,
        Credential::Missing => return Redirect::to("/").into_response(),
        // A credential that no longer opens the chat (a shared tablet the next day, or a
        // session that ended) says so instead of showing the conversation again.
        Credential::Expired | Credential::Ended(_) => return ended_page(&ctx, &headers).await,
    };
    if me.group_id != group_id {
        return Redirect::to("/").into_response();
    }
    let loaded = async {
        let group = ctx.store.group(group_id).await?;
        let session = ctx.store.session(group.session_id).await?;
        Ok::<_, crate::store::StoreError>((group, session))
    };
    let (group, session) = match loaded.await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, group_id, "cannot load the chat page");
            return error_page(Lang::of_browser(&headers));
        }
    };
    let activity = ctx.activities.get(&session.activity_id);
    let has_agent = group.agent_role != AgentRole::None;
    let lang = Lang::of_session(&session.language);
    let page = ChatPage {
        lang,
        group_id: group.id,
        group_name: group.name,
        activity_title: activity
            .map_or_else(|| lang.t("chat-default-activity"), |a| a.title.clone()),
        problem: activity.map(|a| a.problem.clone()).unwrap_or_default(),
        phase_count: activity.map_or(0, |a| a.phases.len()),
        me_id: me.id,
        nickname: me.nickname,
        picture: avatar_picture(lang, &me.avatar),
        avatar: me.avatar,
        avatars: avatars_json(lang),
        agent_name: if has_agent {
            session.agent_name
        } else {
            String::new()
        },
        agent_role: group.agent_role.as_str(),
        session_status: session.status.as_str(),
        server_now_ms: crate::store::now_ms(),
    };
    render(StatusCode::OK, &page)
}

/// The chat is over: said in the session's language when the credential still names it.
async fn ended_page(ctx: &Ctx, headers: &HeaderMap) -> Response {
    let lang = match join::token_from_headers(headers) {
        Some(token) => join::language_of_credential(ctx, &token).await,
        None => None,
    }
    .unwrap_or_else(|| Lang::of_browser(headers));
    let page = JoinPage::new(lang, "", "", "", Some(child_text::chat_ended_page(lang)));
    render(StatusCode::GONE, &page)
}

fn error_page(lang: Lang) -> Response {
    let page = JoinPage::new(lang, "", "", "", Some(child_text::something_wrong(lang)));
    render(StatusCode::INTERNAL_SERVER_ERROR, &page)
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.",
            )
                .into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Static files, compiled into the binary

struct StaticFile {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// A picture in `frontend/static/`, served under its path there.
macro_rules! svg {
    ($path:literal) => {
        StaticFile {
            name: $path,
            content_type: "image/svg+xml",
            body: include_bytes!(concat!("../../../frontend/static/", $path)),
        }
    };
}

const STATIC_FILES: &[StaticFile] = &[
    StaticFile {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../frontend/static/app.css"),
    },
    StaticFile {
        name: "i18n.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/i18n.js"),
    },
    StaticFile {
        name: "join.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/join.js"),
    },
    StaticFile {
        name: "chat.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/chat.js"),
    },
    StaticFile {
        name: "connection.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/connection.js"),
    },
    StaticFile {
        name: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../frontend/static/dashboard.css"),
    },
    StaticFile {
        name: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/dashboard.js"),
    },
    StaticFile {
        name: "setup.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../frontend/static/setup.js"),
    },
    svg!("favicon.svg"),
    svg!("avatars/fox.svg"),
    svg!("avatars/panda.svg"),
    svg!("avatars/frog.svg"),
    svg!("avatars/lion.svg"),
    svg!("avatars/octopus.svg"),
    svg!("avatars/owl.svg"),
    svg!("avatars/turtle.svg"),
    svg!("avatars/bee.svg"),
    svg!("avatars/unicorn.svg"),
    svg!("avatars/dolphin.svg"),
    svg!("avatars/koala.svg"),
    svg!("avatars/penguin.svg"),
    svg!("avatars/unknown.svg"),
    svg!("icons/robot.svg"),
    svg!("icons/teacher.svg"),
    svg!("icons/help.svg"),
    svg!("icons/timer.svg"),
    svg!("icons/urgent.svg"),
    svg!("icons/warning.svg"),
    svg!("icons/muted.svg"),
    svg!("icons/check.svg"),
];

/// A strong validator per file, computed once: browsers revalidate (`no-cache`) and get a
/// cheap 304 while the file is unchanged, and never run a stale script after an upgrade.
fn etag(index: usize) -> &'static str {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    &ETAGS.get_or_init(|| {
        STATIC_FILES
            .iter()
            .map(|f| format!("\"{}\"", &hex::encode(Sha256::digest(f.body))[..20]))
            .collect()
    })[index]
}

async fn static_file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    // Only the names in the table are served: nothing from the file system, so no traversal.
    let Some(index) = STATIC_FILES.iter().position(|f| f.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "Not found",
        )
            .into_response();
    };
    let file = &STATIC_FILES[index];
    let tag = etag(index);
    let cache = [(header::CACHE_CONTROL, "no-cache"), (header::ETAG, tag)];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, file.content_type)],
        cache,
        file.body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Security headers

/// The Content-Security-Policy of the pages: everything from this server only, no inline
/// script or style, no framing. `connect-src 'self'` covers the same-origin WebSocket in
/// current browsers; the explicit `ws://`/`wss://` source is for older tablets' browsers that
/// do not treat a WebSocket to the same host as 'self'.
fn content_security_policy(host: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(host) = host.filter(|h| is_plain_host(h)) {
        connect.push_str(&format!(" ws://{host} wss://{host}"));
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; \
         connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// A `Host` header that can go into a policy unchanged: a name or address and a port.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

pub(super) async fn security_headers(
    request_headers: HeaderMap,
    mut response: Response,
) -> Response {
    let host = request_headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let csp = content_security_policy(host);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_avatar_has_a_name_and_a_picture() {
        assert_eq!(AVATAR_PICTURES.len(), AVATARS.len());
        for avatar in AVATARS {
            for lang in Lang::ALL {
                let picture = avatar_picture(lang, avatar);
                assert_ne!(picture.name, lang.t("avatar-animal"), "{avatar}");
                let file = picture.src.trim_start_matches("/static/");
                assert!(
                    STATIC_FILES.iter().any(|f| f.name == file),
                    "{avatar}: {file} is served"
                );
            }
        }
        let json: serde_json::Value = serde_json::from_str(&avatars_json(Lang::En)).unwrap();
        assert_eq!(json["🦊"]["name"], "Fox");
        let json: serde_json::Value = serde_json::from_str(&avatars_json(Lang::De)).unwrap();
        assert_eq!(json["🦊"]["name"], "Fuchs");
        assert_eq!(json["🐧"]["src"], "/static/avatars/penguin.svg");
    }

    #[test]
    fn static_files_have_distinct_names_and_tags() {
        let names: std::collections::HashSet<_> = STATIC_FILES.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), STATIC_FILES.len());
        for (i, f) in STATIC_FILES.iter().enumerate() {
            assert!(!f.body.is_empty(), "{}", f.name);
            assert!(etag(i).starts_with('"'));
        }
    }

    #[test]
    fn the_policy_takes_only_plain_hosts() {
        assert!(content_security_policy(Some("127.0.0.1:8080")).contains("ws://127.0.0.1:8080"));
        assert!(content_security_policy(Some("[::1]:80")).contains("wss://[::1]:80"));
        let evil = content_security_policy(Some("x; script-src *"));
        assert!(!evil.contains("script-src *"), "{evil}");
        assert!(content_security_policy(None).contains("connect-src 'self';"));
    }

    #[test]
    fn the_join_page_escapes_what_the_child_typed() {
        let page = JoinPage::new(
            Lang::En,
            "<b>",
            "\"><script>alert(1)</script>",
            "🦊",
            Some("<i>oops</i>".into()),
        );
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<i>oops"));
        assert!(html.contains("checked"), "the picked avatar stays picked");
    }
}
