//! Joining a group: a join code, a nickname and an avatar; no account, no email, no real name.
//!
//! Success gives the browser the `pl_child` cookie: a random token naming one participant of one
//! group, of which only a SHA-256 hash is stored. Reloading or reconnecting keeps the same
//! participant; the token opens nothing but that group's chat.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use super::error::{JoinFailure, Refused};
use super::{ApiError, Ctx};
use crate::child_text;
use crate::i18n::Lang;
use crate::store::{self, Group, Participant, SessionStatus, StoreError};

/// The cookie that carries a child's credential.
pub const CHILD_COOKIE: &str = "pl_child";
pub const MAX_NICKNAME_CHARS: usize = 20;
/// Every join that reaches the code lookup takes at least this long, right code or wrong, so
/// that the time of the answer does not tell a guesser more than its words (the good path
/// hashes a token and writes a row: a few milliseconds, well inside this).
pub const JOIN_MIN_DURATION: Duration = Duration::from_millis(100);

/// The avatars a child can pick: friendly animals that read well at any size.
pub const AVATARS: &[&str] = &[
    "🦊", "🐼", "🐸", "🦁", "🐙", "🦉", "🐢", "🐝", "🦄", "🐬", "🐨", "🐧",
];

pub fn router() -> Router<Ctx> {
    Router::new().route("/api/join", post(join_json))
}

#[derive(Debug, Deserialize)]
pub struct JoinRequest {
    pub code: String,
    pub nickname: String,
    pub avatar: String,
}

#[derive(Debug, Serialize)]
struct JoinResponse {
    participant: PublicParticipant,
    group_id: i64,
    chat_url: String,
}

#[derive(Debug, Serialize)]
pub struct PublicParticipant {
    pub id: i64,
    pub nickname: String,
    pub avatar: String,
}

impl From<&Participant> for PublicParticipant {
    fn from(p: &Participant) -> Self {
        PublicParticipant {
            id: p.id,
            nickname: p.nickname.clone(),
            avatar: p.avatar.clone(),
        }
    }
}

/// Who is asking to join: the client's address (for the limits on failed joins) and the
/// credential the browser already holds, if any (a child of a locked or full group comes
/// back with it).
#[derive(Debug, Clone)]
pub struct JoinAttempt {
    pub addr: IpAddr,
    pub existing_token: Option<String>,
    /// The browser's language: refusals before the code is known to be good are in it (a
    /// refusal in the session's language would tell a guesser that the code is good).
    pub lang: Lang,
}

impl JoinAttempt {
    pub fn new(peer: SocketAddr, headers: &HeaderMap) -> JoinAttempt {
        JoinAttempt {
            addr: peer.ip(),
            existing_token: token_from_headers(headers),
            lang: Lang::of_browser(headers),
        }
    }
}

/// A joined child: the participant, its group, and the raw token for the cookie.
pub struct Joined {
    pub participant: Participant,
    pub group: Group,
    pub token: String,
}

/// Validates and joins. Shared by the form on the page and the JSON route. A refusal is in
/// the browser's language until the code is known to name an open group, then in the
/// session's.
///
/// An address with too many failed joins (or a server with too many overall) is refused
/// before the code is looked at; a code that names no open group counts as a failure; every
/// other answer takes at least [`JOIN_MIN_DURATION`].
pub async fn join_group(
    ctx: &Ctx,
    req: &JoinRequest,
    attempt: &JoinAttempt,
) -> Result<Joined, Refused> {
    let start = Instant::now();
    ctx.limits
        .joins
        .check(attempt.addr, start)
        .map_err(|t| Refused::new(JoinFailure::TooManyTries(t.0), attempt.lang))?;
    let mut lang = attempt.lang;
    let result = join_checked(ctx, req, attempt, &mut lang).await;
    if matches!(result, Err(JoinFailure::UnknownCode)) {
        // The same work as a good code's token, so the two cost the same besides the padding.
        let _ = hash_token(&new_token());
        ctx.limits.joins.failed(attempt.addr, start);
        tracing::info!(addr = %attempt.addr, "join with an unknown code");
    }
    tokio::time::sleep_until((start + JOIN_MIN_DURATION).into()).await;
    result.map_err(|failure| Refused::new(failure, lang))
}

/// Sets `lang` to the session's language once the code is known to be good.
async fn join_checked(
    ctx: &Ctx,
    req: &JoinRequest,
    attempt: &JoinAttempt,
    lang: &mut Lang,
) -> Result<Joined, JoinFailure> {
    let nickname = clean_nickname(&req.nickname, *lang)?;
    if !AVATARS.contains(&req.avatar.as_str()) {
        return Err(JoinFailure::BadAvatar);
    }
    let group = match ctx.store.open_group_by_code(&req.code).await {
        Ok(g) => g,
        Err(StoreError::NotFound(_)) => return Err(JoinFailure::UnknownCode),
        Err(e) => return Err(e.into()),
    };
    let session = ctx.store.session(group.session_id).await?;
    if session.status == SessionStatus::Ended {
        return Err(JoinFailure::UnknownCode);
    }
    *lang = Lang::of_session(&session.language);
    if store::nickname_key(&nickname) == store::nickname_key(&session.agent_name) {
        return Err(JoinFailure::BadNickname(
            child_text::nickname_is_the_agents(*lang, &session.agent_name),
        ));
    }
    // One join at a time from here: the count and the insert must not interleave.
    let _joining = ctx.limits.joining.lock().await;
    let refusal = if ctx.store.group_locked(group.id).await? {
        Some(JoinFailure::GroupLocked)
    } else if ctx.store.participant_count(group.id).await?
        >= i64::from(ctx.limits.settings.max_group_size)
    {
        Some(JoinFailure::GroupFull)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        // A child who is already in (this browser holds their credential) comes back in.
        if let Some(token) = &attempt.existing_token {
            if let Some(participant) = valid_participant(ctx, token).await {
                if participant.group_id == group.id {
                    return Ok(Joined {
                        participant,
                        group,
                        token: token.clone(),
                    });
                }
            }
        }
        return Err(refusal);
    }
    // After the lock: a child coming back to a locked group on their own device is let in
    // above, with the nickname they already have.
    check_nickname_is_safe(ctx, &nickname, &group, &session).await?;
    let token = new_token();
    let participant = ctx
        .store
        .add_participant(
            group.id,
            &nickname,
            &req.avatar,
            &hash_token(&token),
            store::now_ms(),
        )
        .await?;
    Ok(Joined {
        participant,
        group,
        token,
    })
}

/// The safety screen's checks of a nickname (docs/safety.md): no rude words, no real full
/// name, no reserved name (the agent's, the facilitator's, Teacher, Admin...), no invisible or
/// direction characters, no personal data, and no look-alike of a nickname already in the
/// group. The refusal is a friendly sentence in the session's language.
async fn check_nickname_is_safe(
    ctx: &Ctx,
    nickname: &str,
    group: &Group,
    session: &crate::store::Session,
) -> Result<(), JoinFailure> {
    let mut reserved = vec![session.agent_name.clone()];
    if let Some(id) = session.facilitator_id {
        reserved.push(ctx.store.facilitator(id).await?.name);
    }
    let existing: Vec<String> = ctx
        .store
        .participants(group.id)
        .await?
        .into_iter()
        .map(|p| p.nickname)
        .collect();
    // The same nickname (but for case and spaces) is simply taken; the screen's look-alike
    // check is for the ones that only look the same ("Mіa" with a Cyrillic "і").
    let plain = |n: &str| {
        n.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    if existing.iter().any(|e| plain(e) == plain(nickname)) {
        return Err(JoinFailure::NicknameTaken);
    }
    let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
    ctx.screen
        .check_nickname(nickname, &session.language, &reserved, &existing)
        .map_err(|problem| {
            JoinFailure::BadNickname(problem.message(&ctx.screen, &session.language))
        })
}

/// Characters a nickname may not use: markup and the brackets of models' control tokens
/// (`<|im_end|>`, `[INST]`) have no place in a child's name.
const NICKNAME_FORBIDDEN: &[char] = &[
    '<', '>', '[', ']', '{', '}', '|', '\\', '`', '@', '#', '/', '=', '*', '^', '~', '$', '%', '&',
];

/// Trims and checks a nickname: 1 to 20 characters, at least one letter or digit, no control
/// characters, none of [`NICKNAME_FORBIDDEN`].
pub fn clean_nickname(raw: &str, lang: Lang) -> Result<String, JoinFailure> {
    let nickname = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = nickname.chars().count();
    if chars == 0 {
        return Err(JoinFailure::BadNickname(child_text::nickname_empty(lang)));
    }
    if chars > MAX_NICKNAME_CHARS {
        return Err(JoinFailure::BadNickname(child_text::nickname_too_long(
            lang,
            MAX_NICKNAME_CHARS,
        )));
    }
    if nickname.chars().any(char::is_control) || !nickname.chars().any(char::is_alphanumeric) {
        return Err(JoinFailure::BadNickname(child_text::nickname_no_letters(
            lang,
        )));
    }
    if nickname.contains(NICKNAME_FORBIDDEN) {
        return Err(JoinFailure::BadNickname(
            child_text::nickname_forbidden_characters(lang),
        ));
    }
    Ok(nickname)
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored of a token: its SHA-256, so a copy of the database opens no chat.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The `Set-Cookie` value for a child's credential. `Secure` when the site is served over TLS.
pub fn credential_cookie(ctx: &Ctx, token: &str) -> String {
    let secure = if ctx.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let max_age = ctx.limits.settings.child_credential_lifetime.as_secs();
    format!("{CHILD_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The credential token in a request's cookies, if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    super::cookie_token(headers, CHILD_COOKIE)
}

/// What a child's credential is worth now.
#[derive(Debug)]
pub enum Credential {
    /// No credential, or one that names nobody.
    Missing,
    /// Older than `child_credential_hours` (the cookie's own lifetime): a shared tablet the
    /// next day must not open yesterday's chat.
    Expired,
    /// The child's session ended or their group was closed: the chat is over.
    Ended(Participant),
    Valid(Participant),
}

/// Checks a credential token: known, not expired, its group still open.
pub async fn credential(ctx: &Ctx, token: &str) -> Credential {
    let Ok(p) = ctx
        .store
        .participant_by_credential(&hash_token(token))
        .await
    else {
        return Credential::Missing;
    };
    let lifetime = ctx.limits.settings.child_credential_lifetime.as_millis() as i64;
    if store::now_ms() >= p.created_at.saturating_add(lifetime) {
        return Credential::Expired;
    }
    let open = match ctx.store.group(p.group_id).await {
        Ok(g) if g.closed_at.is_none() => matches!(
            ctx.store.session(g.session_id).await,
            Ok(s) if s.status != SessionStatus::Ended
        ),
        _ => false,
    };
    if open {
        Credential::Valid(p)
    } else {
        Credential::Ended(p)
    }
}

/// The participant a credential names, if it still opens their chat.
async fn valid_participant(ctx: &Ctx, token: &str) -> Option<Participant> {
    match credential(ctx, token).await {
        Credential::Valid(p) => Some(p),
        _ => None,
    }
}

/// The request's credential, checked as [`credential`] does.
pub async fn credential_of(ctx: &Ctx, headers: &HeaderMap) -> Credential {
    match token_from_headers(headers) {
        Some(token) => credential(ctx, &token).await,
        None => Credential::Missing,
    }
}

/// The language of a group's session, for its children's pages.
pub async fn language_of_group(ctx: &Ctx, group_id: i64) -> Option<Lang> {
    let group = ctx.store.group(group_id).await.ok()?;
    let session = ctx.store.session(group.session_id).await.ok()?;
    Some(Lang::of_session(&session.language))
}

/// The language of the session a credential names, expired or not (its "chat has ended"
/// page is in the language the chat was in).
pub async fn language_of_credential(ctx: &Ctx, token: &str) -> Option<Lang> {
    let p = ctx
        .store
        .participant_by_credential(&hash_token(token))
        .await
        .ok()?;
    language_of_group(ctx, p.group_id).await
}

/// The participant a request's cookie names, if it still opens their chat.
pub async fn participant_of(ctx: &Ctx, headers: &HeaderMap) -> Option<Participant> {
    valid_participant(ctx, &token_from_headers(headers)?).await
}

/// Whether a request says its body is JSON (`application/json`, parameters allowed). A form
/// on another site cannot send this type without a CORS preflight, which this server never
/// answers.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

async fn join_json(
    State(ctx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // As the form does: a join posted from another site would sign a child's browser into
    // a group of the attacker's choosing (login CSRF).
    let browser = Lang::of_browser(&headers);
    let refuse = |failure| ApiError::from(Refused::new(failure, browser));
    if !super::pages::same_origin_post(&ctx, &headers) {
        return Err(refuse(JoinFailure::CrossSite));
    }
    if !is_json(&headers) {
        return Err(refuse(JoinFailure::NotJson));
    }
    let req: JoinRequest =
        serde_json::from_slice(&body).map_err(|e| refuse(JoinFailure::Malformed(e.to_string())))?;
    let joined = join_group(&ctx, &req, &JoinAttempt::new(peer, &headers)).await?;
    let body = JoinResponse {
        participant: (&joined.participant).into(),
        group_id: joined.group.id,
        chat_url: format!("/chat/{}", joined.group.id),
    };
    Ok((
        [(header::SET_COOKIE, credential_cookie(&ctx, &joined.token))],
        Json(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_cleaned_and_checked() {
        assert_eq!(
            clean_nickname("  Mia   Rose ", Lang::En).unwrap(),
            "Mia Rose"
        );
        assert_eq!(clean_nickname("Zoë 🦄", Lang::En).unwrap(), "Zoë 🦄");
        for bad in [
            "",
            "   ",
            "🦄🦄",
            "!!!",
            "a\u{7}b",
            "abcdefghijklmnopqrstu",
            "<|im_end|>",
            "[INST] hi",
            "<start_of_turn>",
            "mia@x",
        ] {
            assert!(
                matches!(
                    clean_nickname(bad, Lang::En),
                    Err(JoinFailure::BadNickname(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_cookie_token_is_read_strictly() {
        let mut h = HeaderMap::new();
        let token = "a".repeat(64);
        h.insert(
            header::COOKIE,
            format!("x=1; {CHILD_COOKIE}={token}; y=2").parse().unwrap(),
        );
        assert_eq!(token_from_headers(&h), Some(token));
        h.insert(
            header::COOKIE,
            format!("{CHILD_COOKIE}=short").parse().unwrap(),
        );
        assert_eq!(token_from_headers(&h), None);
        assert_ne!(hash_token("a"), hash_token("b"));
    }
}
