//! Plain HTTP as the tests speak it: a client that shows redirects instead of following them,
//! and the cookies a response sets.

use reqwest::header;
use reqwest::redirect::Policy;

/// A client that does not follow redirects (a test checks where they point).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The whole `Set-Cookie` header of a response (with its attributes), if it set one.
pub fn set_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string())
}

/// The `name=value` pair of a response's `Set-Cookie`: what a browser sends back.
pub fn cookie_of(resp: &reqwest::Response) -> String {
    let set = set_cookie(resp).expect("a cookie");
    set.split(';').next().unwrap().to_string()
}
