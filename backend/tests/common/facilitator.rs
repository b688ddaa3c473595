//! A facilitator over real HTTP and a real socket, as the dashboard does it: an account, a
//! sign-in with its CSRF token, forms, actions, and the live socket.

use futures::SinkExt;
use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::server::TestServer;
use super::socket::{self, next, Child, Ws};

pub const PASSWORD: &str = "a long enough password";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A facilitator account, added the way an administrator would (the password hashed here
/// with the same function the CLI uses).
pub async fn add_facilitator(srv: &TestServer, name: &str) {
    let hash = peerlearn::auth::hash_password(PASSWORD).unwrap();
    srv.store()
        .add_facilitator(name, &hash, peerlearn::store::now_ms())
        .await
        .unwrap();
}

pub struct Fac {
    pub cookie: String,
    pub csrf: String,
}

pub fn cookie_of(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string())
}

pub async fn login_attempt(srv: &TestServer, name: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{}/facilitator/login", srv.base))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
}

pub async fn sign_in(srv: &TestServer, name: &str) -> Fac {
    let resp = login_attempt(srv, name, PASSWORD).await;
    assert_eq!(resp.status(), 303, "sign-in redirects to the dashboard");
    assert_eq!(resp.headers()[header::LOCATION], "/facilitator");
    let set = cookie_of(&resp).expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain http: no Secure flag ({set})"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let page = get(srv, "/facilitator", Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries a CSRF token")
        .to_string();
    Fac { cookie, csrf }
}

pub async fn get(srv: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", srv.base));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.send().await.unwrap()
}

pub async fn post_form(
    srv: &TestServer,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client().post(format!("{}{path}", srv.base)).form(form);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.send().await.unwrap()
}

pub async fn action(
    srv: &TestServer,
    group: i64,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = client()
        .post(format!(
            "{}/api/facilitator/groups/{group}/actions",
            srv.base
        ))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    req.send().await.unwrap()
}

/// Creates a session through the form; returns its id.
pub async fn create_session(srv: &TestServer, fac: &Fac, form: &[(&str, &str)]) -> i64 {
    let mut fields = vec![("csrf", fac.csrf.as_str())];
    fields.extend_from_slice(form);
    // What the form sends unless a test says otherwise.
    for (key, value) in [("agent_name", "Blue"), ("language", "en")] {
        if !form.iter().any(|(k, _)| *k == key) {
            fields.push((key, value));
        }
    }
    let resp = post_form(srv, "/facilitator/sessions", Some(&fac.cookie), &fields).await;
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    let Some(location) = location else {
        let body = resp.text().await.unwrap_or_default();
        let alert: String = body
            .split("role=\"alert\"")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        panic!("the session was not created: {alert}");
    };
    location
        .strip_prefix("/facilitator/sessions/")
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn set_status(srv: &TestServer, fac: &Fac, session: i64, act: &str) -> reqwest::Response {
    post_form(
        srv,
        &format!("/facilitator/sessions/{session}/status"),
        Some(&fac.cookie),
        &[("csrf", &fac.csrf), ("action", act)],
    )
    .await
}

pub async fn ws_connect(
    srv: &TestServer,
    path: &str,
    cookie: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!("ws://{}{path}", srv.server.addr);
    socket::connect(&url, cookie, Some(&srv.base)).await
}

/// The next frame of `kind`, collecting everything seen on the way.
pub async fn next_of(ws: &mut Ws, kind: &str, seen: &mut Vec<Value>) -> Value {
    loop {
        let f = next(ws).await;
        seen.push(f.clone());
        if f["type"] == kind {
            return f;
        }
    }
}

pub async fn join_child(srv: &TestServer, code: &str, nickname: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/join", srv.base))
        .json(&json!({"code": code, "nickname": nickname, "avatar": "🦊"}))
        .send()
        .await
        .unwrap()
}

pub async fn child_socket(srv: &TestServer, group: i64, c: &Child) -> Ws {
    let mut ws = ws_connect(srv, &format!("/ws?group={group}"), Some(&c.cookie))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"type":"hello","v":1}).to_string().into(),
    ))
    .await
    .unwrap();
    let mut seen = Vec::new();
    next_of(&mut ws, "synced", &mut seen).await;
    ws
}

/// The groups of a session from the store: (id, join code).
pub async fn groups(srv: &TestServer, session: i64) -> Vec<(i64, String)> {
    srv.store()
        .groups_of_session(session)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.id, g.join_code))
        .collect()
}
