//! Signing facilitators in and out, and recognising them on every request.
//!
//! The facilitator's cookie (`pl_fac`) is a different cookie from a child's (`pl_child`) and
//! is looked up in a different table, so a child's credential can never open a facilitator
//! page, route or socket. Every state-changing form carries the sign-in's CSRF token (and every
//! JSON request its `X-CSRF-Token` header); the cookie is SameSite=Strict on top.

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth;
use crate::http::pages::{render, same_origin_post};
use crate::http::{ApiError, Ctx};
use crate::store::{self, Facilitator, StoreError};

pub const FACILITATOR_COOKIE: &str = "pl_fac";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in facilitator, found from the request's cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub facilitator: Facilitator,
    pub csrf: String,
    token_hash: String,
}

impl SignedIn {
    pub fn id(&self) -> i64 {
        self.facilitator.id
    }

    /// Checks a form's or a header's CSRF token against this sign-in's.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), ApiError> {
        match presented {
            Some(t) if auth::same_secret(t, &self.csrf) => Ok(()),
            _ => Err(ApiError::Forbidden(
                "This form has expired. Reload the page and try again.".into(),
            )),
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    crate::http::cookie_token(headers, FACILITATOR_COOKIE)
}

/// The facilitator a request's cookie belongs to, if the sign-in is valid and unexpired.
pub async fn signed_in(ctx: &Ctx, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
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

/// For JSON routes and sockets: the facilitator, or 401.
pub async fn require(ctx: &Ctx, headers: &HeaderMap) -> Result<SignedIn, ApiError> {
    signed_in(ctx, headers).await?.ok_or(ApiError::Unauthorized)
}

fn cookie(ctx: &Ctx, token: &str, max_age_secs: u64) -> String {
    cookie_header(ctx.public_url.starts_with("https://"), token, max_age_secs)
}

/// The `Set-Cookie` value: `Secure` when the site is served over TLS (its public URL is https).
fn cookie_header(tls: bool, token: &str, max_age_secs: u64) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!(
        "{FACILITATOR_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

// ---------------------------------------------------------------------------------------------
// The sign-in page

#[derive(Template)]
#[template(path = "facilitator_login.html")]
struct LoginPage {
    name: String,
    error: Option<String>,
}

pub async fn login_page(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = signed_in(&ctx, &headers).await {
        return Redirect::to("/facilitator").into_response();
    }
    render(
        StatusCode::OK,
        &LoginPage {
            name: String::new(),
            error: None,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    name: String,
    password: String,
}

pub async fn login_submit(
    State(ctx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let fail = |status: StatusCode, name: &str, error: &str| {
        render(
            status,
            &LoginPage {
                name: name.chars().take(auth::MAX_NAME_CHARS).collect(),
                error: Some(error.to_string()),
            },
        )
    };
    // A sign-in posted from another site would sign the teacher into the attacker's account.
    if !same_origin_post(&ctx, &headers) {
        return fail(
            StatusCode::FORBIDDEN,
            "",
            "Please open the sign-in page on this server and try again.",
        );
    }
    let Ok(Form(form)) = form else {
        return fail(
            StatusCode::BAD_REQUEST,
            "",
            "Please fill in your name and password.",
        );
    };
    let name = form.name.trim().to_string();
    if name.is_empty() || form.password.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            &name,
            "Please fill in your name and password.",
        );
    }
    // Counted as it starts: parallel attempts cannot all pass before the first one fails.
    let attempt = match ctx.login_throttle.begin(&name, peer.ip(), Instant::now()) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let mut response = fail(
                StatusCode::TOO_MANY_REQUESTS,
                &name,
                &format!(
                    "Too many failed sign-ins. Please wait {} and try again.",
                    crate::limits::minutes_text(wait)
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    };
    // A bounded number of password checks at once (argon2 takes ~19 MiB each); beyond that
    // the answer comes at once, and the attempt is not held against anyone.
    let Ok(hashing) = ctx.limits.sign_ins.clone().try_acquire_owned() else {
        ctx.login_throttle.cancel(attempt);
        let mut response = fail(
            StatusCode::SERVICE_UNAVAILABLE,
            &name,
            "The server is busy. Please try again in a moment.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let account = match ctx.store.facilitator_by_name(&name).await {
        Ok(f) => Some(f),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => {
            tracing::error!(error = %e, "sign-in lookup failed");
            ctx.login_throttle.cancel(attempt);
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &name,
                "Something went wrong on our side. Please try again.",
            );
        }
    };
    // Verify even for an unknown name, so timing does not tell which names exist.
    let hash = account.as_ref().map_or_else(
        || auth::decoy_hash().to_string(),
        |f| f.password_hash.clone(),
    );
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    drop(hashing);
    let account_id = account.as_ref().map(|f| f.id);
    let Some(facilitator) = account.filter(|_| matches) else {
        // The attempt stays counted.
        drop(attempt);
        tracing::warn!(%peer, "failed facilitator sign-in");
        // The typed name is not kept (it may be a password typed in the wrong field).
        let detail = format!(
            "address={} account={}",
            peer.ip(),
            if account_id.is_some() {
                "known"
            } else {
                "unknown"
            }
        );
        if let Err(e) = ctx
            .store
            .audit(
                account_id,
                "sign_in_failed",
                "facilitator",
                &detail,
                store::now_ms(),
            )
            .await
        {
            tracing::error!(error = %e, "cannot audit a failed sign-in");
        }
        return fail(
            StatusCode::UNAUTHORIZED,
            &name,
            "That name and password do not match.",
        );
    };
    ctx.login_throttle.succeeded(attempt);
    let token = auth::new_token();
    let at = store::now_ms();
    let lifetime = auth::LOGIN_LIFETIME;
    let stored = ctx
        .store
        .add_login(
            &auth::token_hash(&token),
            facilitator.id,
            &auth::new_token(),
            at,
            at + lifetime.as_millis() as i64,
        )
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "cannot record a sign-in");
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &name,
            "Something went wrong on our side. Please try again.",
        );
    }
    let _ = ctx
        .store
        .audit(Some(facilitator.id), "sign_in", "facilitator", "", at)
        .await;
    let mut response = Redirect::to("/facilitator").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(&ctx, &token, lifetime.as_secs())) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Some(me) = signed_in(&ctx, &headers).await? else {
        return Ok(Redirect::to("/facilitator/login").into_response());
    };
    let csrf = form.ok().map(|Form(f)| f.csrf);
    me.check_csrf(csrf.as_deref())?;
    ctx.store.remove_login(&me.token_hash).await?;
    let _ = ctx
        .store
        .audit(
            Some(me.id()),
            "sign_out",
            "facilitator",
            "",
            store::now_ms(),
        )
        .await;
    let mut response = Redirect::to("/facilitator/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(&ctx, "", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_secure_over_tls_only() {
        let plain = cookie_header(false, "t", 60);
        assert_eq!(
            plain,
            "pl_fac=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(cookie_header(true, "t", 60).ends_with("; Secure"));
    }

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
}
