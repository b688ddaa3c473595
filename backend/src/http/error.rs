//! The HTTP edge's one error type, [`ApiError`]: every handler and extractor fails with it, it
//! maps to a status code and a body, and every conversion into it is in this file (so what a
//! library error looks like to a browser is decided in one place).
//!
//! A refused join is a [`JoinFailure`]: the join page renders it as HTML, the JSON route
//! answers it through [`ApiError::Join`]. Its sentences are in [`crate::child_text`].

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use crate::child_text;
use crate::export::ExportError;
use crate::i18n::Lang;
use crate::room::{RoomError, SteerError};
use crate::store::{CodingError, JoinError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not signed in or not allowed here")]
    Unauthorized,
    /// A dashboard page without a sign-in: the browser is sent to the sign-in page.
    #[error("sign in first")]
    SignInFirst,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the server could not complete the request")]
    Internal(String),
    /// Answered as the join route's `{"error": code, "message": sentence}`.
    #[error(transparent)]
    Join(#[from] Refused),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::SignInFirst => StatusCode::SEE_OTHER,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Join(r) => r.failure.status(),
        }
    }

    /// A state-changing request whose CSRF token is missing or not this sign-in's.
    pub fn csrf_expired() -> ApiError {
        ApiError::Forbidden("This form has expired. Reload the page and try again.".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::SignInFirst => Redirect::to(super::facilitator::LOGIN_PATH).into_response(),
            ApiError::Join(refused) => refused.into_response(),
            other => {
                if let ApiError::Internal(detail) = &other {
                    // The detail goes to the log, never to the browser.
                    tracing::error!(%detail, "request failed");
                }
                let body = serde_json::json!({ "error": other.to_string() });
                (other.status(), Json(body)).into_response()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CodingError> for ApiError {
    fn from(e: CodingError) -> Self {
        match e {
            CodingError::Invalid(m) => ApiError::BadRequest(m),
            CodingError::DuplicateName(_) => ApiError::Conflict(e.to_string()),
            CodingError::Import(e) => ApiError::BadRequest(e.to_string()),
            CodingError::Store(e) => e.into(),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::UnknownGroup { .. } => ApiError::NotFound("group"),
            ExportError::UnknownSession(_) => ApiError::NotFound("session"),
            e if e.is_usage() => ApiError::Conflict(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

/// A facilitator's command the room refused.
impl From<SteerError> for ApiError {
    fn from(e: SteerError) -> Self {
        match e {
            SteerError::BadRequest(m) => ApiError::BadRequest(m),
            SteerError::NotFound(what) => ApiError::NotFound(what),
            SteerError::Store(e) => e.into(),
        }
    }
}

/// A facilitator's command the room refused, or a room that could not be reached.
impl From<RoomError<SteerError>> for ApiError {
    fn from(e: RoomError<SteerError>) -> Self {
        match e {
            RoomError::Refused(refused) => refused.into(),
            unavailable @ RoomError::Unavailable(_) => ApiError::Internal(unavailable.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Joining

/// Why joining failed; [`JoinFailure::message`] is the sentence the child reads (its
/// `Display` is that sentence in English, for the log and the tests).
#[derive(Debug)]
pub enum JoinFailure {
    UnknownCode,
    NicknameTaken,
    /// The sentence says what is wrong with it, already in the child's language.
    BadNickname(String),
    BadAvatar,
    GroupLocked,
    GroupFull,
    TooManyTries(Duration),
    /// Posted from another site (login CSRF).
    CrossSite,
    /// The join page's form could not be read.
    IncompleteForm,
    /// The JSON route without a JSON content type.
    NotJson,
    /// The JSON route's body is not a join request (the reason is serde's).
    Malformed(String),
    /// The detail is for the log; the child reads the friendly sentence.
    Internal(String),
}

impl std::fmt::Display for JoinFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for JoinFailure {}

/// A refused join and the language to say it in (the browser's, or once the code is known
/// to be good, the session's).
#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct Refused {
    pub failure: JoinFailure,
    pub lang: Lang,
}

impl Refused {
    pub fn new(failure: JoinFailure, lang: Lang) -> Refused {
        Refused { failure, lang }
    }
}

/// A refusal without a language of its own is said in English.
impl From<JoinFailure> for ApiError {
    fn from(failure: JoinFailure) -> Self {
        ApiError::Join(Refused::new(failure, Lang::En))
    }
}

impl JoinFailure {
    /// The sentence the child reads, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            JoinFailure::UnknownCode => child_text::unknown_code(lang),
            JoinFailure::NicknameTaken => child_text::nickname_taken(lang),
            JoinFailure::BadNickname(sentence) => sentence.clone(),
            JoinFailure::BadAvatar => child_text::bad_avatar(lang),
            JoinFailure::GroupLocked => child_text::group_locked(lang),
            JoinFailure::GroupFull => child_text::group_full(lang),
            JoinFailure::TooManyTries(wait) => child_text::too_many_tries(lang, *wait),
            JoinFailure::CrossSite => child_text::cross_site(lang),
            JoinFailure::IncompleteForm => child_text::incomplete_form(lang),
            JoinFailure::NotJson => child_text::NOT_JSON.to_string(),
            JoinFailure::Malformed(why) => child_text::request_not_valid(why),
            JoinFailure::Internal(_) => child_text::something_wrong(lang),
        }
    }

    /// The join form's field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            JoinFailure::NicknameTaken | JoinFailure::BadNickname(_) => "nickname",
            JoinFailure::BadAvatar => "avatar",
            _ => "code",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            JoinFailure::UnknownCode => "unknown_code",
            JoinFailure::NicknameTaken => "nickname_taken",
            JoinFailure::BadNickname(_) => "bad_nickname",
            JoinFailure::BadAvatar => "bad_avatar",
            JoinFailure::GroupLocked => "group_locked",
            JoinFailure::GroupFull => "group_full",
            JoinFailure::TooManyTries(_) => "too_many_tries",
            JoinFailure::CrossSite => "cross_site",
            JoinFailure::IncompleteForm | JoinFailure::NotJson | JoinFailure::Malformed(_) => {
                "bad_request"
            }
            JoinFailure::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            JoinFailure::UnknownCode => StatusCode::NOT_FOUND,
            JoinFailure::NicknameTaken => StatusCode::CONFLICT,
            JoinFailure::BadNickname(_) | JoinFailure::BadAvatar => StatusCode::BAD_REQUEST,
            JoinFailure::GroupLocked | JoinFailure::CrossSite => StatusCode::FORBIDDEN,
            JoinFailure::GroupFull => StatusCode::CONFLICT,
            JoinFailure::TooManyTries(_) => StatusCode::TOO_MANY_REQUESTS,
            JoinFailure::IncompleteForm | JoinFailure::Malformed(_) => StatusCode::BAD_REQUEST,
            JoinFailure::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JoinFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `Retry-After` header's value, for a refusal that ends by itself.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            JoinFailure::TooManyTries(wait) => {
                HeaderValue::from_str(&wait.as_secs().max(1).to_string()).ok()
            }
            _ => None,
        }
    }

    /// Puts `Retry-After` on a response that answers this failure (JSON or the join page).
    pub fn with_retry_after(&self, mut response: Response) -> Response {
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        response
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refused { failure, lang } = self;
        if let JoinFailure::Internal(detail) = &failure {
            tracing::error!(%detail, "join failed");
        }
        let body = serde_json::json!({ "error": failure.code(), "message": failure.message(lang) });
        failure.with_retry_after((failure.status(), Json(body)).into_response())
    }
}

impl From<StoreError> for JoinFailure {
    fn from(e: StoreError) -> Self {
        JoinFailure::Internal(e.to_string())
    }
}

impl From<JoinError> for JoinFailure {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::NicknameTaken => JoinFailure::NicknameTaken,
            JoinError::Store(e) => JoinFailure::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_a_sign_in_redirects_to_it() {
        let response = ApiError::SignInFirst.into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            super::super::facilitator::LOGIN_PATH
        );
    }

    #[test]
    fn a_join_failure_keeps_its_own_body_and_retry_after() {
        let response =
            ApiError::from(JoinFailure::TooManyTries(Duration::from_secs(90))).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "90");
        assert_eq!(JoinFailure::NotJson.code(), "bad_request");
        assert_eq!(
            JoinFailure::CrossSite.to_string(),
            child_text::cross_site(Lang::En),
            "the page and the JSON route say the same"
        );
    }
}
