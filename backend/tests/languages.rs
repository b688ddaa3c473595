//! The pages' languages over real HTTP and a real socket: a German session's children read
//! German (pages, join refusals, the chat's errors), a refusal before the code is known stays
//! in the browser's language, and the dashboard follows the facilitator's choice, then the
//! browser's.

mod common;

use common::facilitator::{create_session, facilitator, get_text};
use common::http::{client, cookie_of, set_cookie};
use common::server::TestServer;
use common::session::new_session;
use common::socket::{child_socket, join_attempt, say};
use peerlearn::store::{now_ms, AgentRole, Group, NewSession, SessionStatus};
use reqwest::header;
use serde_json::Value;

/// A running German session with one group and no agent.
async fn german_group(server: &TestServer) -> Group {
    let store = server.store();
    let (session, groups) = store
        .create_session(&NewSession {
            language: "de".into(),
            ..new_session(&[AgentRole::None])
        })
        .await
        .unwrap();
    store
        .set_session_status(session.id, SessionStatus::Running, now_ms())
        .await
        .unwrap();
    groups.into_iter().next().unwrap()
}

/// The join form as the page sends it, from a browser that asks for `accept` languages.
async fn join_form(
    server: &TestServer,
    accept: &str,
    code: &str,
    nickname: &str,
) -> reqwest::Response {
    client()
        .post(server.url("/join"))
        .header(header::ACCEPT_LANGUAGE, accept)
        .form(&[("code", code), ("nickname", nickname), ("avatar", "🦊")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_german_session_joins_and_chats_in_german() {
    let server = TestServer::start().await;
    let group = german_group(&server).await;

    // Before the session is known, the join page speaks the browser's language.
    let page = client()
        .get(server.url("/"))
        .header(header::ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(
        page.contains("Spitzname") && page.contains("In meine Gruppe"),
        "{page}"
    );
    let english = client().get(server.url("/")).send().await.unwrap();
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));

    // An English browser joins the German session: the chat page is German.
    let joined = join_form(&server, "en", &group.join_code, "Mia").await;
    assert_eq!(joined.status(), 303);
    let cookie = cookie_of(&joined);
    let chat = client()
        .get(server.url(&format!("/chat/{}", group.id)))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chat.contains("<html lang=\"de\">"), "{chat}");
    for label in [
        "Ich brauche Hilfe",
        "Schreib deine Idee…",
        "Senden",
        "Wer ist da",
    ] {
        assert!(chat.contains(label), "{label} in {chat}");
    }
    // The scripts' messages come with the page, in German.
    let start = chat
        .find("<script type=\"application/json\" id=\"i18n\">")
        .unwrap();
    let json = &chat[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    let messages: Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        messages["js-chat-time-up"],
        serde_json::json!(["Die Zeit ist um!"])
    );
    // A child coming back to the join page is welcomed in the session's language.
    let back = get_text(&server, "/", Some(&cookie)).await;
    assert!(
        back.contains("Willkommen zurück, <strong>Mia</strong>!"),
        "{back}"
    );
    server.stop().await;
}

#[tokio::test]
async fn join_refusals_are_in_the_sessions_language_once_the_code_is_known() {
    let server = TestServer::start().await;
    let group = german_group(&server).await;
    assert_eq!(
        join_form(&server, "en", &group.join_code, "Mia")
            .await
            .status(),
        303
    );
    // The same nickname again, from an English browser: refused in German.
    let taken = join_form(&server, "en", &group.join_code, "mia").await;
    assert_eq!(taken.status(), 409);
    let html = taken.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(
        html.contains("Jemand in deiner Gruppe hat diesen Spitznamen schon."),
        "{html}"
    );
    assert!(html.contains("data-field=\"nickname\""), "{html}");
    // The JSON route says the same.
    let json: Value = join_attempt(&client(), &server, &group.join_code, "Mia")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["error"], "nickname_taken");
    assert_eq!(
        json["message"],
        "Jemand in deiner Gruppe hat diesen Spitznamen schon. Bitte such dir einen anderen aus."
    );
    // A nickname refused before the code is looked up, and a wrong code, are in the browser's
    // language: the session's would tell a guesser that the code is good.
    let empty = join_form(&server, "fr", &group.join_code, "  ").await;
    assert!(
        empty.text().await.unwrap().contains("Tape un pseudo."),
        "the browser's French"
    );
    let unknown = join_form(&server, "es", "ZZZ-999", "Leo").await;
    assert_eq!(unknown.status(), 404);
    let html = unknown.text().await.unwrap();
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(
        html.contains("No hemos encontrado ningún grupo con ese código."),
        "{html}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_chats_errors_arrive_in_the_sessions_language() {
    let server = TestServer::start().await;
    let group = german_group(&server).await;
    let child = common::socket::join(&server, &group.join_code, "Mia").await;
    let mut ws = child_socket(&server, group.id, &child.cookie).await;
    let empty = say(&mut ws, "e1", "   ").await;
    assert_eq!(empty["code"], "empty_message");
    assert_eq!(empty["message"], "Deine Nachricht ist leer.");
    // Rate limit: 5 in 10 s.
    for i in 0..5 {
        assert_eq!(say(&mut ws, &format!("r{i}"), "Hallo").await["type"], "ack");
    }
    let limited = say(&mut ws, "r5", "noch eins").await;
    assert_eq!(limited["code"], "rate_limited");
    let text = limited["message"].as_str().unwrap();
    assert!(
        text.starts_with("Etwas langsamer, bitte: Du kannst in ")
            && text.ends_with("wieder senden."),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_dashboard_follows_the_choice_then_the_browser() {
    let server = TestServer::start().await;
    let login = |accept: &'static str, cookie: Option<&'static str>| {
        let mut request = client()
            .get(server.url("/facilitator/login"))
            .header(header::ACCEPT_LANGUAGE, accept);
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let french = login("fr-FR,fr;q=0.9", None).await;
    assert!(french.contains("<html lang=\"fr\">"), "{french}");
    assert!(french.contains("Connexion enseignant"), "{french}");
    let chosen = login("fr-FR,fr;q=0.9", Some("pl_lang=es")).await;
    assert!(chosen.contains("<html lang=\"es\">"), "{chosen}");
    assert!(chosen.contains("Acceso para docentes"), "{chosen}");
    assert!(
        chosen.contains("<option value=\"es\" lang=\"es\" selected>Español</option>"),
        "{chosen}"
    );

    // Choosing in the menu remembers the choice and goes back to the page.
    let choose = client()
        .post(server.url("/facilitator/language"))
        .form(&[("lang", "de"), ("back", "/facilitator/login")])
        .send()
        .await
        .unwrap();
    assert_eq!(choose.status(), 303);
    assert_eq!(choose.headers()[header::LOCATION], "/facilitator/login");
    let set = set_cookie(&choose).unwrap();
    assert!(
        set.starts_with("pl_lang=de;") && set.contains("Path=/"),
        "{set}"
    );
    let elsewhere = client()
        .post(server.url("/facilitator/language"))
        .form(&[("lang", "de"), ("back", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()[header::LOCATION], "/facilitator");
    // A language the pages do not speak is not remembered, and a forged cookie is ignored.
    let unknown = client()
        .post(server.url("/facilitator/language"))
        .form(&[("lang", "x<script>"), ("back", "/facilitator/login")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 303);
    assert!(set_cookie(&unknown).is_none(), "nothing is remembered");
    let forged = login("de-DE,de;q=0.9", Some("pl_lang=x<script>")).await;
    assert!(forged.contains("<html lang=\"de\">"), "{forged}");

    // Signed in, with the choice remembered: the sessions page is German.
    let fac = facilitator(&server, "ms-lee").await;
    let cookies = format!("{}; pl_lang=de", fac.cookie);
    let sessions = get_text(&server, "/facilitator", Some(&cookies)).await;
    assert!(sessions.contains("<html lang=\"de\">"), "{sessions}");
    assert!(
        sessions.contains("Ihre Sitzungen") && sessions.contains("Sitzung anlegen"),
        "{sessions}"
    );
    assert!(
        sessions.contains("Angemeldet als <strong>ms-lee</strong>"),
        "{sessions}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_sessions_groups_are_named_in_its_language() {
    // Children read their group's name on the chat page and on their join card.
    let server = TestServer::start().await;
    let fac = facilitator(&server, "frau-lange").await;
    for (language, first, second) in [
        ("de", "Gruppe 1", "Gruppe 2"),
        ("fr", "Groupe 1", "Groupe 2"),
        ("es", "Grupo 1", "Grupo 2"),
        ("en", "Group 1", "Group 2"),
    ] {
        let session = create_session(
            &server,
            &fac,
            &[
                ("activity", "playground"),
                ("groups", "2"),
                ("language", language),
            ],
        )
        .await;
        let names: Vec<String> = server
            .store()
            .groups_of_session(session)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, [first, second], "{language}");
    }
}
