//! Signing facilitators in and out: the sign-in page, its throttle, the cookie. Recognising
//! them on every request afterwards is [`super::signed_in`]'s.
//!
//! Every state-changing form carries the sign-in's CSRF token (and every JSON request its
//! `X-CSRF-Token` header); the cookie is SameSite=Strict on top.

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::signed_in::{CsrfForm, CsrfOnly, SignedIn, FACILITATOR_COOKIE};
use super::DashPage;
use crate::auth;
use crate::http::pages::{render, same_origin_post};
use crate::http::{ApiError, Ctx};
use crate::i18n::Lang;
use crate::store::{self, StoreError};

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
    lang: Lang,
    here: String,
    name: String,
    error: Option<String>,
}

/// Someone already signed in goes on to the dashboard (a failed lookup shows the page).
pub async fn login_page(page: DashPage, me: Result<Option<SignedIn>, ApiError>) -> Response {
    if let Ok(Some(_)) = me {
        return Redirect::to("/facilitator").into_response();
    }
    render(
        StatusCode::OK,
        &LoginPage {
            lang: page.lang,
            here: page.here,
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
    page: DashPage,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let lang = page.lang;
    let fail = |status: StatusCode, name: &str, error: &str| {
        render(
            status,
            &LoginPage {
                lang,
                here: page.here.clone(),
                name: name.chars().take(auth::MAX_NAME_CHARS).collect(),
                error: Some(error.to_string()),
            },
        )
    };
    // A sign-in posted from another site would sign the teacher into the attacker's account.
    if !same_origin_post(&ctx, &headers) {
        return fail(StatusCode::FORBIDDEN, "", &lang.t("dash-login-cross-site"));
    }
    let Ok(Form(form)) = form else {
        return fail(StatusCode::BAD_REQUEST, "", &lang.t("dash-login-fill-in"));
    };
    let name = form.name.trim().to_string();
    if name.is_empty() || form.password.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            &name,
            &lang.t("dash-login-fill-in"),
        );
    }
    // Counted as it starts: parallel attempts cannot all pass before the first one fails.
    let attempt = match ctx.login_throttle.begin(&name, peer.ip(), Instant::now()) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let mut response = fail(
                StatusCode::TOO_MANY_REQUESTS,
                &name,
                &lang.t1(
                    "dash-login-throttled",
                    "minutes",
                    crate::child_text::minutes(wait),
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
            &lang.t("dash-login-busy"),
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
                &lang.t("dash-something-wrong"),
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
        return fail(StatusCode::UNAUTHORIZED, &name, &lang.t("dash-login-wrong"));
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
            &lang.t("dash-something-wrong"),
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

pub async fn logout(
    State(ctx): State<Ctx>,
    CsrfForm { me, .. }: CsrfForm<CsrfOnly>,
) -> Result<Response, ApiError> {
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
    let mut response = Redirect::to(super::LOGIN_PATH).into_response();
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
}
