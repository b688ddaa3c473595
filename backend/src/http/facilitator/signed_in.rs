//! Recognising a signed-in facilitator on every request, as axum extractors: a handler names
//! what it needs in its arguments and never checks the cookie or the CSRF token itself.
//!
//! | extractor        | for                           | without a sign-in   | CSRF token            |
//! |------------------|-------------------------------|---------------------|-----------------------|
//! | [`SignedIn`]     | JSON reads, downloads, socket | 401                 | -                     |
//! | [`SignedInPage`] | dashboard pages               | to the sign-in page | -                     |
//! | [`CsrfHeader`]   | JSON changes                  | 401                 | `X-CSRF-Token` header |
//! | [`CsrfForm`]     | form posts                    | to the sign-in page | the form's `csrf`     |
//!
//! A wrong or missing token is 403, checked after the sign-in and before anything else. The
//! facilitator's cookie (`pl_fac`) is not a child's (`pl_child`) and is looked up in another
//! table, so a child's credential never passes any of these.

use axum::extract::{Form, FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::auth;
use crate::http::{ApiError, Ctx};
use crate::store::{self, Facilitator, StoreError};

pub const FACILITATOR_COOKIE: &str = "pl_fac";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in facilitator, found from the request's cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub facilitator: Facilitator,
    pub csrf: String,
    pub(super) token_hash: String,
}

impl SignedIn {
    pub fn id(&self) -> i64 {
        self.facilitator.id
    }

    /// The facilitator a request's cookie belongs to, if the sign-in is valid and unexpired.
    /// The extractors' one lookup; the facilitator socket asks again with it at every ping.
    pub async fn from_cookie(ctx: &Ctx, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
        let Some(token) = cookie_token(headers) else {
            return Ok(None);
        };
        let token_hash = auth::token_hash(&token);
        let login = match ctx.store.login(&token_hash, store::now_ms()).await {
            Ok(l) => l,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let facilitator = ctx.store.facilitator(login.facilitator_id).await?;
        Ok(Some(SignedIn {
            facilitator,
            csrf: login.csrf_token,
            token_hash,
        }))
    }

    fn check_csrf(&self, presented: Option<&str>) -> Result<(), ApiError> {
        match presented {
            Some(t) if auth::same_secret(t, &self.csrf) => Ok(()),
            _ => Err(ApiError::csrf_expired()),
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    crate::http::cookie_token(headers, FACILITATOR_COOKIE)
}

impl FromRequestParts<Ctx> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        SignedIn::from_cookie(ctx, &parts.headers)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

/// `Option<SignedIn>`: the sign-in page, which only wants to know.
impl OptionalFromRequestParts<Ctx> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Option<Self>, ApiError> {
        SignedIn::from_cookie(ctx, &parts.headers).await
    }
}

/// For dashboard pages: the facilitator, or the browser is sent to the sign-in page.
pub struct SignedInPage(pub SignedIn);

impl FromRequestParts<Ctx> for SignedInPage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        SignedIn::from_cookie(ctx, &parts.headers)
            .await?
            .map(SignedInPage)
            .ok_or(ApiError::SignInFirst)
    }
}

/// For JSON requests that change something: the facilitator, whose `X-CSRF-Token` header
/// carries this sign-in's token.
pub struct CsrfHeader(pub SignedIn);

impl FromRequestParts<Ctx> for CsrfHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let me = <SignedIn as FromRequestParts<Ctx>>::from_request_parts(parts, ctx).await?;
        me.check_csrf(parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
        Ok(CsrfHeader(me))
    }
}

/// A form that carries the sign-in's CSRF token in its `csrf` field.
pub trait CsrfField {
    fn csrf(&self) -> Option<&str>;
}

/// A form with nothing but the token (signing out, deleting a session).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

impl CsrfField for CsrfOnly {
    fn csrf(&self) -> Option<&str> {
        Some(&self.csrf)
    }
}

/// A form read as its list of fields (the session form's `role_1`..`role_N`).
impl CsrfField for Vec<(String, String)> {
    fn csrf(&self) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
    }
}

/// For form posts: the facilitator (or the sign-in page) and the form, whose `csrf` field is
/// this sign-in's. A form that cannot be read is taken as empty, so it fails on its token
/// (403) rather than with a bare rejection.
pub struct CsrfForm<T> {
    pub me: SignedIn,
    pub form: T,
}

impl<T> FromRequest<Ctx> for CsrfForm<T>
where
    T: DeserializeOwned + Default + CsrfField + Send,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let SignedInPage(me) = SignedInPage::from_request_parts(&mut parts, ctx).await?;
        let form = Form::<T>::from_request(Request::from_parts(parts, body), ctx)
            .await
            .map_or_else(|_| T::default(), |Form(form)| form);
        me.check_csrf(form.csrf())?;
        Ok(CsrfForm { me, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn only_well_formed_facilitator_cookies_are_read() {
        let token = "a".repeat(64);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("pl_child={token}; pl_fac={token}").parse().unwrap(),
        );
        assert_eq!(cookie_token(&headers), Some(token.clone()));
        let mut child_only = HeaderMap::new();
        child_only.insert(header::COOKIE, format!("pl_child={token}").parse().unwrap());
        assert_eq!(cookie_token(&child_only), None);
        let mut short = HeaderMap::new();
        short.insert(header::COOKIE, "pl_fac=abc".parse().unwrap());
        assert_eq!(cookie_token(&short), None);
    }

    #[test]
    fn the_session_form_finds_its_token_among_its_fields() {
        let fields = vec![
            ("groups".to_string(), "2".to_string()),
            ("csrf".to_string(), "t".to_string()),
        ];
        assert_eq!(fields.csrf(), Some("t"));
        assert_eq!(Vec::<(String, String)>::new().csrf(), None);
    }
}
