//! Joining a group: a join code, a nickname and an avatar; no account, no email, no real name.
//!
//! Success gives the browser the `pl_child` cookie: a random token naming one participant of one
//! group, of which only a SHA-256 hash is stored. Reloading or reconnecting keeps the same
//! participant; the token opens nothing but that group's chat.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::store::{self, Group, JoinError, Participant, SessionStatus, StoreError};

/// The cookie that carries a child's credential.
pub const CHILD_COOKIE: &str = "pl_child";
/// How long the credential cookie lasts: a school day.
const COOKIE_MAX_AGE_SECS: u64 = 12 * 3600;
pub const MAX_NICKNAME_CHARS: usize = 20;

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

/// Why joining failed, with a sentence a child can read.
#[derive(Debug, thiserror::Error)]
pub enum JoinFailure {
    #[error("We couldn't find a group with that code. Check the code on your card and try again.")]
    UnknownCode,
    #[error("Someone in your group already uses that nickname. Please pick another one.")]
    NicknameTaken,
    #[error("{0}")]
    BadNickname(String),
    #[error("Please pick one of the animals.")]
    BadAvatar,
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal(String),
}

impl JoinFailure {
    pub fn code(&self) -> &'static str {
        match self {
            JoinFailure::UnknownCode => "unknown_code",
            JoinFailure::NicknameTaken => "nickname_taken",
            JoinFailure::BadNickname(_) => "bad_nickname",
            JoinFailure::BadAvatar => "bad_avatar",
            JoinFailure::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            JoinFailure::UnknownCode => StatusCode::NOT_FOUND,
            JoinFailure::NicknameTaken => StatusCode::CONFLICT,
            JoinFailure::BadNickname(_) | JoinFailure::BadAvatar => StatusCode::BAD_REQUEST,
            JoinFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A joined child: the participant, its group, and the raw token for the cookie.
pub struct Joined {
    pub participant: Participant,
    pub group: Group,
    pub token: String,
}

/// Validates and joins. Shared by the form on the page and the JSON route.
pub async fn join_group(ctx: &Ctx, req: &JoinRequest) -> Result<Joined, JoinFailure> {
    let nickname = clean_nickname(&req.nickname)?;
    if !AVATARS.contains(&req.avatar.as_str()) {
        return Err(JoinFailure::BadAvatar);
    }
    let group = match ctx.store.open_group_by_code(&req.code).await {
        Ok(g) => g,
        Err(StoreError::NotFound(_)) => return Err(JoinFailure::UnknownCode),
        Err(e) => return Err(JoinFailure::Internal(e.to_string())),
    };
    let session = ctx
        .store
        .session(group.session_id)
        .await
        .map_err(|e| JoinFailure::Internal(e.to_string()))?;
    if session.status == SessionStatus::Ended {
        return Err(JoinFailure::UnknownCode);
    }
    if store::nickname_key(&nickname) == store::nickname_key(&session.agent_name) {
        return Err(JoinFailure::BadNickname(format!(
            "{} is the AI helper's name. Please pick another nickname.",
            session.agent_name
        )));
    }
    check_nickname_is_safe(ctx, &nickname, &group, &session).await?;
    let token = new_token();
    match ctx
        .store
        .add_participant(
            group.id,
            &nickname,
            &req.avatar,
            &hash_token(&token),
            store::now_ms(),
        )
        .await
    {
        Ok(participant) => Ok(Joined {
            participant,
            group,
            token,
        }),
        Err(JoinError::NicknameTaken) => Err(JoinFailure::NicknameTaken),
        Err(JoinError::Store(e)) => Err(JoinFailure::Internal(e.to_string())),
    }
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
    let internal = |e: StoreError| JoinFailure::Internal(e.to_string());
    let mut reserved = vec![session.agent_name.clone()];
    if let Some(id) = session.facilitator_id {
        reserved.push(ctx.store.facilitator(id).await.map_err(internal)?.name);
    }
    let existing: Vec<String> = ctx
        .store
        .participants(group.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| p.nickname)
        .collect();
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
pub fn clean_nickname(raw: &str) -> Result<String, JoinFailure> {
    let nickname = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = nickname.chars().count();
    if chars == 0 {
        return Err(JoinFailure::BadNickname("Please type a nickname.".into()));
    }
    if chars > MAX_NICKNAME_CHARS {
        return Err(JoinFailure::BadNickname(format!(
            "That nickname is a bit long. Please use at most {MAX_NICKNAME_CHARS} letters."
        )));
    }
    if nickname.chars().any(char::is_control) || !nickname.chars().any(char::is_alphanumeric) {
        return Err(JoinFailure::BadNickname(
            "Please use letters or numbers in your nickname.".into(),
        ));
    }
    if nickname.contains(NICKNAME_FORBIDDEN) {
        return Err(JoinFailure::BadNickname(
            "Please use only letters, numbers and spaces in your nickname.".into(),
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
    format!("{CHILD_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECS}{secure}")
}

/// The credential token in a request's cookies, if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    super::cookie_token(headers, CHILD_COOKIE)
}

/// The participant a request's cookie names, if it is valid.
pub async fn participant_of(ctx: &Ctx, headers: &HeaderMap) -> Option<Participant> {
    let token = token_from_headers(headers)?;
    ctx.store
        .participant_by_credential(&hash_token(&token))
        .await
        .ok()
}

async fn join_json(State(ctx): State<Ctx>, body: axum::body::Bytes) -> Response {
    let req: JoinRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return failure_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("The request is not valid: {e}"),
            )
        }
    };
    match join_group(&ctx, &req).await {
        Ok(joined) => {
            let body = JoinResponse {
                participant: (&joined.participant).into(),
                group_id: joined.group.id,
                chat_url: format!("/chat/{}", joined.group.id),
            };
            (
                [(header::SET_COOKIE, credential_cookie(&ctx, &joined.token))],
                Json(body),
            )
                .into_response()
        }
        Err(f) => {
            if let JoinFailure::Internal(detail) = &f {
                tracing::error!(%detail, "join failed");
            }
            failure_response(f.status(), f.code(), &f.to_string())
        }
    }
}

fn failure_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_cleaned_and_checked() {
        assert_eq!(clean_nickname("  Mia   Rose ").unwrap(), "Mia Rose");
        assert_eq!(clean_nickname("Zoë 🦄").unwrap(), "Zoë 🦄");
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
                matches!(clean_nickname(bad), Err(JoinFailure::BadNickname(_))),
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
