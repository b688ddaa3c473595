//! A facilitator over real HTTP and a real socket, as the dashboard does it: an account, a
//! sign-in with its CSRF token, forms, actions, the live socket, and a whole classroom.

use reqwest::header;
use serde_json::Value;

use super::http::{client, cookie_of, set_cookie};
use super::server::TestServer;
use super::socket::{self, next_of, Child, Ws};

pub const PASSWORD: &str = "a long enough password";

/// A facilitator account, added the way an administrator would (the password hashed here
/// with the same function the CLI uses); its id.
pub async fn add_facilitator(srv: &TestServer, name: &str) -> i64 {
    let hash = peerlearn::auth::hash_password(PASSWORD).unwrap();
    srv.store()
        .add_facilitator(name, &hash, peerlearn::store::now_ms())
        .await
        .unwrap()
        .id
}

/// A signed-in facilitator: the account's id, the sign-in cookie and its CSRF token.
pub struct Fac {
    pub id: i64,
    pub cookie: String,
    pub csrf: String,
}

/// An account added and signed in.
pub async fn facilitator(srv: &TestServer, name: &str) -> Fac {
    add_facilitator(srv, name).await;
    sign_in(srv, name).await
}

pub async fn login_attempt(srv: &TestServer, name: &str, password: &str) -> reqwest::Response {
    login_attempt_with(&client(), srv, name, password).await
}

/// The sign-in form sent with `http` (a test that tells addresses apart brings its own client).
pub async fn login_attempt_with(
    http: &reqwest::Client,
    srv: &TestServer,
    name: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{}/facilitator/login", srv.base))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
}

pub async fn sign_in(srv: &TestServer, name: &str) -> Fac {
    let resp = login_attempt(srv, name, PASSWORD).await;
    assert_eq!(resp.status(), 303, "sign-in redirects to the dashboard");
    assert_eq!(resp.headers()[header::LOCATION], "/facilitator");
    let set = set_cookie(&resp).expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain http: no Secure flag ({set})"
    );
    let cookie = cookie_of(&resp);
    let page = get(srv, "/facilitator", Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries a CSRF token")
        .to_string();
    let id = srv.store().facilitator_by_name(name).await.unwrap().id;
    Fac { id, cookie, csrf }
}

pub async fn get(srv: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", srv.base));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.send().await.unwrap()
}

/// The text of a page or download.
pub async fn get_text(srv: &TestServer, path: &str, cookie: Option<&str>) -> String {
    get(srv, path, cookie).await.text().await.unwrap()
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

/// A JSON request of a signed-in facilitator, with the sign-in's CSRF token.
pub async fn json_request(
    srv: &TestServer,
    method: reqwest::Method,
    path: &str,
    fac: &Fac,
    body: &str,
) -> reqwest::Response {
    client()
        .request(method, format!("{}{path}", srv.base))
        .header(header::COOKIE, &fac.cookie)
        .header("x-csrf-token", &fac.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
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

/// The dashboard's own way to a running session: the form, then Start. The session's id and
/// its groups (id, join code).
pub async fn start_session(
    srv: &TestServer,
    fac: &Fac,
    form: &[(&str, &str)],
) -> (i64, Vec<(i64, String)>) {
    let session = create_session(srv, fac, form).await;
    assert_eq!(set_status(srv, fac, session, "start").await.status(), 303);
    (session, groups(srv, session).await)
}

pub async fn ws_connect(
    srv: &TestServer,
    path: &str,
    cookie: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!("ws://{}{path}", srv.server.addr);
    socket::connect(&url, cookie, Some(&srv.base)).await
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

/// A running session made on the dashboard by a signed-in teacher (ms-lee), the teacher's live
/// socket open (its first frame, the snapshot, read), and Mia and Leo joined to the first group
/// and connected.
pub struct Classroom {
    pub srv: TestServer,
    pub fac: Fac,
    pub session: i64,
    /// Every group of the session: (id, join code).
    pub groups: Vec<(i64, String)>,
    /// The first group, where the children are.
    pub group: i64,
    pub dash: Ws,
    /// The snapshot the live socket opened with.
    pub snapshot: Value,
    pub mia: Ws,
    pub leo: Ws,
    pub mia_child: Child,
    pub leo_child: Child,
}

impl Classroom {
    /// The classroom on `srv`, its session made with the dashboard's `form`.
    pub async fn open(srv: TestServer, form: &[(&str, &str)]) -> Classroom {
        let fac = facilitator(&srv, "ms-lee").await;
        let (session, groups) = start_session(&srv, &fac, form).await;
        let (group, code) = groups[0].clone();
        let mut dash = ws_connect(
            &srv,
            &format!("/facilitator/ws?session={session}"),
            Some(&fac.cookie),
        )
        .await
        .unwrap();
        let snapshot = next_of(&mut dash, "snapshot", &mut Vec::new()).await;
        let mia_child = socket::join(&srv, &code, "Mia").await;
        let leo_child = socket::join(&srv, &code, "Leo").await;
        let mia = socket::child_socket(&srv, group, &mia_child.cookie).await;
        let leo = socket::child_socket(&srv, group, &leo_child.cookie).await;
        Classroom {
            srv,
            fac,
            session,
            groups,
            group,
            dash,
            snapshot,
            mia,
            leo,
            mia_child,
            leo_child,
        }
    }

    /// The teacher's action on the children's group, over HTTP with the sign-in's CSRF token.
    pub async fn act(&self, body: impl std::fmt::Display) -> reqwest::Response {
        self.act_on(self.group, body).await
    }

    /// The teacher's action on any group.
    pub async fn act_on(&self, group: i64, body: impl std::fmt::Display) -> reqwest::Response {
        action(
            &self.srv,
            group,
            Some(&self.fac.cookie),
            Some(&self.fac.csrf),
            &body.to_string(),
        )
        .await
    }

    /// The teacher's GET of a dashboard page or download.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        get(&self.srv, path, Some(&self.fac.cookie)).await
    }
}
