//! The dashboard's language: the facilitator's choice in the page's menu, kept in the
//! `pl_lang` cookie, else the browser's `Accept-Language`, else English
//! ([`Lang::of_dashboard`]). Every dashboard page names [`DashPage`] in its arguments.

use std::convert::Infallible;

use axum::extract::{Form, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::i18n::{Lang, LANG_COOKIE};

/// What every dashboard page needs to speak the facilitator's language: the language, and
/// the page's own address, where the language menu brings the facilitator back.
pub struct DashPage {
    pub lang: Lang,
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for DashPage {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A page rendered by a form's POST (a refused sign-in, a form with an error) comes
        // back to the dashboard's start rather than to a URL that only takes a POST.
        let here = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(pq)) => pq.as_str().to_string(),
            _ => "/facilitator".to_string(),
        };
        Ok(DashPage {
            lang: Lang::of_dashboard(&parts.headers),
            here,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LanguageForm {
    lang: String,
    back: String,
}

/// POST /facilitator/language: remembers the choice for a year and goes back to the page.
/// No CSRF token: the worst a forged one can do is change the pages' language.
pub async fn choose(Form(form): Form<LanguageForm>) -> Response {
    let back = safe_back(&form.back);
    let mut response = Redirect::to(back).into_response();
    if let Some(lang) = Lang::from_tag(&form.lang) {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Only a dashboard address of this site (never `//elsewhere` or a full URL).
fn safe_back(back: &str) -> &str {
    let ok = back.starts_with("/facilitator")
        && !back.starts_with("//")
        && !back.contains(['\\', '\r', '\n']);
    if ok {
        back
    } else {
        "/facilitator"
    }
}

/// A session's status as the dashboard says it (by reference: templates pass references).
pub fn status_label(lang: &Lang, status: &str) -> String {
    match status {
        "created" => lang.t("dash-status-created"),
        "running" => lang.t("dash-status-running"),
        "paused" => lang.t("dash-status-paused"),
        "ended" => lang.t("dash-status-ended"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_addresses_are_gone_back_to() {
        assert_eq!(
            safe_back("/facilitator/sessions/3"),
            "/facilitator/sessions/3"
        );
        assert_eq!(safe_back("//evil.example/facilitator"), "/facilitator");
        assert_eq!(safe_back("https://evil.example/"), "/facilitator");
        assert_eq!(safe_back("/chat/1"), "/facilitator");
    }
}
