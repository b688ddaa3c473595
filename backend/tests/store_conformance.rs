//! The store's conformance suite: every test runs on SQLite and on a real PostgreSQL server,
//! so the two backends keep the same contract.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peerlearn::agent::{Intent, Trigger};
use peerlearn::config::{DatabaseKind, DatabaseSettings};
use peerlearn::store::{
    AddFacilitatorError, AgentEvent, AgentRole, CodeFields, CodingError, ConsentKind, Deleter,
    JoinError, LogDecision, Moderation, NewAudit, NewCoding, NewConsent, NewHelpRequest,
    NewMessage, NewSession, SenderKind, SessionRows, SessionStatus, Severity, Store, StoreError,
    HELP_REQUEST,
};

/// Declares one test per backend for an `async fn(Store)`.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(crate::common::sqlite().await.store().await).await }
        )+ }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(crate::common::postgres().await.store().await).await }
        )+ }
    };
}

conformance!(
    sessions_and_join_codes,
    seq_is_gapless_and_retries_are_idempotent,
    concurrent_writers_never_gap_or_duplicate,
    nicknames_are_unique_per_group,
    moderation_keeps_the_message,
    logs_round_trip,
    text_round_trips_exactly,
    facilitators_and_their_sign_ins,
    codebook_edits,
    codings_are_unique_per_coder_code_and_utterance,
    codebook_import_is_all_or_nothing,
    purge_deletes_only_expired_sessions,
    delete_session_is_complete_and_audited,
    consent_records_round_trip,
    the_purge_timer_deletes_in_the_background,
    help_requests_go_new_seen_dealt_with,
    facilitator_writes_commit_their_audit_entry,
);

/// Like `conformance!`, for an `async fn(TestDb)`: a test that also changes the database
/// under the store (a trigger).
macro_rules! conformance_db {
    ($($name:ident),+ $(,)?) => {
        mod sqlite_db { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(crate::common::sqlite().await).await }
        )+ }
        mod postgres_db { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(crate::common::postgres().await).await }
        )+ }
    };
}

conformance_db!(a_refused_audit_entry_undoes_the_facilitators_write);

use common::audit_entry as entry;

async fn new_session(store: &Store, groups: usize) -> (i64, Vec<i64>) {
    let (session, groups) = store
        .create_session(&NewSession {
            created_at: 1_000,
            ..common::session::new_session(&vec![AgentRole::Moderator; groups])
        })
        .await
        .unwrap();
    (session.id, groups.iter().map(|g| g.id).collect())
}

fn child_message(group_id: i64, client_msg_id: &str, text: &str) -> NewMessage {
    NewMessage {
        group_id,
        client_msg_id: client_msg_id.into(),
        sender_kind: SenderKind::Child,
        sender_id: Some(1),
        text: text.into(),
        phase: Some("Ideas".into()),
        created_at: 2_000,
        reply_to: None,
        screening: Default::default(),
        audit: None,
    }
}

async fn sessions_and_join_codes(store: Store) {
    let (session_id, group_ids) = new_session(&store, 3).await;
    let groups = store.groups_of_session(session_id).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.id).collect::<Vec<_>>(), group_ids);
    let codes: HashSet<_> = groups.iter().map(|g| g.join_code.clone()).collect();
    assert_eq!(codes.len(), 3, "codes are unique");

    // A child may type the code in lower case, with the dash and spaces.
    let code = &groups[1].join_code;
    let typed = format!(" {}-{} ", code[..3].to_lowercase(), &code[3..]);
    assert_eq!(
        store.open_group_by_code(&typed).await.unwrap().id,
        groups[1].id
    );
    assert!(matches!(
        store.open_group_by_code("ZZZZZ").await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(store.sessions(None).await.unwrap().len(), 1);
    assert!(store.sessions(Some(424_242)).await.unwrap().is_empty());
    let running = store
        .set_session_status(session_id, SessionStatus::Running, 5_000)
        .await
        .unwrap();
    assert_eq!(running.started_at, Some(5_000));
    let ended = store
        .set_session_status(session_id, SessionStatus::Ended, 9_000)
        .await
        .unwrap();
    assert_eq!(
        (ended.status, ended.ended_at, ended.started_at),
        (SessionStatus::Ended, Some(9_000), Some(5_000))
    );
    // An ended session's codes open nothing any more.
    assert!(matches!(
        store.open_group_by_code(code).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.group(groups[1].id).await.unwrap().closed_at.is_some());
    assert!(matches!(
        store.session(999_999).await,
        Err(StoreError::NotFound("session"))
    ));
}

async fn seq_is_gapless_and_retries_are_idempotent(store: Store) {
    let (_, groups) = new_session(&store, 2).await;
    let (a, b) = (groups[0], groups[1]);
    let first = store
        .append_message(&child_message(a, "c-1", "hello"))
        .await
        .unwrap();
    assert_eq!((first.message.seq, first.duplicate), (1, false));
    let retry = store
        .append_message(&child_message(a, "c-1", "hello (resent)"))
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        retry.message, first.message,
        "a retry returns the original, unchanged"
    );
    let second = store
        .append_message(&child_message(a, "c-2", "world"))
        .await
        .unwrap();
    assert_eq!(second.message.seq, 2, "a retry does not use up a seq");
    // seq and client ids are per group.
    let other = store
        .append_message(&child_message(b, "c-1", "other group"))
        .await
        .unwrap();
    assert_eq!((other.message.seq, other.duplicate), (1, false));

    let after = store.messages_after(a, 1, 100).await.unwrap();
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2]);
    assert_eq!(store.recent_messages(a, 1).await.unwrap()[0].text, "world");
    assert_eq!(store.message_count(a).await.unwrap(), 2);
    assert!(matches!(
        store
            .append_message(&child_message(424_242, "x", "no such group"))
            .await,
        Err(StoreError::NotFound("group"))
    ));
}

async fn concurrent_writers_never_gap_or_duplicate(store: Store) {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 500;
    let (_, groups) = new_session(&store, 1).await;
    let group = groups[0];
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::with_capacity(PER_WRITER);
            for i in 0..PER_WRITER {
                let id = format!("w{w}-m{i}");
                let out = store
                    .append_message(&child_message(group, &id, &format!("writer {w} says {i}")))
                    .await
                    .unwrap();
                assert!(!out.duplicate);
                // Every tenth send is retried, as a flaky connection would: same message back.
                if i % 10 == 0 {
                    let again = store
                        .append_message(&child_message(group, &id, "retry"))
                        .await
                        .unwrap();
                    assert!(again.duplicate);
                    assert_eq!(again.message, out.message);
                }
                acknowledged.push(out.message);
            }
            acknowledged
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();

    let total = WRITERS * PER_WRITER;
    let stored = store
        .messages_after(group, 0, 10 * total as i64)
        .await
        .unwrap();
    assert_eq!(stored.len(), total);
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=total as i64).collect::<Vec<_>>(),
        "seq is 1..=N with no gap and no duplicate"
    );
    // Every acknowledged message is readable exactly as acknowledged.
    let by_seq: std::collections::HashMap<i64, _> = stored.iter().map(|m| (m.seq, m)).collect();
    for m in &acknowledged {
        assert_eq!(by_seq[&m.seq], m);
    }
    // Each writer's own messages keep their order.
    for w in 0..WRITERS {
        let mine: Vec<i64> = stored
            .iter()
            .filter(|m| m.client_msg_id.starts_with(&format!("w{w}-")))
            .map(|m| m.client_msg_id.rsplit('m').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(mine, (0..PER_WRITER as i64).collect::<Vec<_>>());
    }
    assert_eq!(store.group(group).await.unwrap().last_seq, total as i64);
    eprintln!(
        "{:?}: {total} messages from {WRITERS} writers in {elapsed:?}",
        store.kind()
    );
}

async fn nicknames_are_unique_per_group(store: Store) {
    let (_, groups) = new_session(&store, 2).await;
    let mia = store
        .add_participant(groups[0], "Mia", "🦊", "hash-1", 10)
        .await
        .unwrap();
    assert_eq!((mia.nickname.as_str(), mia.avatar.as_str()), ("Mia", "🦊"));
    for taken in ["Mia", "mia", "  MIA "] {
        assert!(matches!(
            store
                .add_participant(groups[0], taken, "🐼", &format!("h-{taken}"), 11)
                .await,
            Err(JoinError::NicknameTaken)
        ));
    }
    // The same nickname is fine in another group.
    store
        .add_participant(groups[1], "Mia", "🐼", "hash-2", 12)
        .await
        .unwrap();
    assert_eq!(
        store.participant_by_credential("hash-1").await.unwrap(),
        mia
    );
    assert!(matches!(
        store.participant_by_credential("nope").await,
        Err(StoreError::NotFound(_))
    ));
    store
        .set_muted_until(mia.id, Some(99), &entry(3, "mute", groups[0], 99))
        .await
        .unwrap();
    assert_eq!(
        store.participants(groups[0]).await.unwrap()[0].muted_until,
        Some(99)
    );
}

async fn moderation_keeps_the_message(store: Store) {
    let (_, groups) = new_session(&store, 1).await;
    let m = store
        .append_message(&child_message(groups[0], "c", "something unkind"))
        .await
        .unwrap()
        .message;
    assert_eq!(m.moderation, Moderation::Visible);
    let hidden = store
        .set_moderation(groups[0], m.seq, Moderation::Hidden, Some(7), 3_000, None)
        .await
        .unwrap();
    assert_eq!(
        (hidden.moderation, hidden.moderated_by, hidden.moderated_at),
        (Moderation::Hidden, Some(7), Some(3_000))
    );
    assert_eq!(hidden.text, "something unkind", "hidden, not deleted");
    assert_eq!(store.message(groups[0], m.seq).await.unwrap(), hidden);
}

async fn logs_round_trip(store: Store) {
    let (_, groups) = new_session(&store, 1).await;
    let event = AgentEvent {
        group_id: groups[0],
        created_at: 4_000,
        trigger: Trigger::Addressed.into(),
        decision: LogDecision::Spoke(Intent::Answer),
        reason: "Mia asked Blue a question".into(),
        message_seq: Some(3),
        prompt_version: Some("moderator@1".into()),
        model: Some("default".into()),
        prompt_tokens: Some(12),
        cached_tokens: Some(300),
        generated_tokens: Some(40),
        ttft_ms: Some(80),
        total_ms: Some(400),
        ..Default::default()
    };
    let stored = store.record_agent_event(&event).await.unwrap();
    assert_eq!(
        AgentEvent {
            id: stored.id,
            ..event
        },
        stored
    );
    let silent = AgentEvent {
        group_id: groups[0],
        trigger: Trigger::Message.into(),
        decision: LogDecision::Silent,
        reason: "r".into(),
        ..Default::default()
    };
    store.record_agent_event(&silent).await.unwrap();
    assert_eq!(store.agent_events(groups[0]).await.unwrap().len(), 2);

    let flag = store
        .raise_flag(
            groups[0],
            Some(3),
            "directive_ignored",
            "Leo was invited twice",
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(store.flags(groups[0]).await.unwrap(), vec![flag]);
    let f = store
        .add_facilitator("ms-lee", "argon-hash", 1)
        .await
        .unwrap();
    assert_eq!(store.facilitator_by_name("ms-lee").await.unwrap(), f);
    store
        .audit(Some(f.id), "export", "session 1", "csv", 6_000)
        .await
        .unwrap();
    assert_eq!(store.audit_log().await.unwrap()[0].action, "export");
}

async fn text_round_trips_exactly(store: Store) {
    let (_, groups) = new_session(&store, 1).await;
    let texts = [
        "Ünïcödé 🎢🛝 with emoji",
        "שלום, مرحبا",
        "quotes ' \" and \\ backslash",
        "<img src=x onerror=alert(1)>",
        "line\nbreak",
    ];
    for (i, t) in texts.iter().enumerate() {
        store
            .append_message(&child_message(groups[0], &format!("t{i}"), t))
            .await
            .unwrap();
    }
    let stored: Vec<String> = store
        .messages_after(groups[0], 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(stored, texts);
}

async fn facilitators_and_their_sign_ins(store: Store) {
    let lee = store.add_facilitator("ms-lee", "hash-1", 1).await.unwrap();
    assert!(matches!(
        store.add_facilitator("ms-lee", "hash-2", 2).await,
        Err(AddFacilitatorError::NameTaken(_))
    ));
    assert_eq!(store.facilitator(lee.id).await.unwrap(), lee);
    store
        .add_login("token-hash", lee.id, "csrf-1", 1_000, 5_000)
        .await
        .unwrap();
    let login = store.login("token-hash", 4_999).await.unwrap();
    assert_eq!(
        (login.facilitator_id, login.csrf_token.as_str()),
        (lee.id, "csrf-1")
    );
    assert!(
        matches!(
            store.login("token-hash", 5_000).await,
            Err(StoreError::NotFound(_))
        ),
        "expired"
    );
    assert!(store.login("other-hash", 1_000).await.is_err());
    // A new sign-in clears expired ones; signing out removes this one.
    store
        .add_login("second", lee.id, "csrf-2", 6_000, 9_000)
        .await
        .unwrap();
    assert!(
        store.login("token-hash", 1_000).await.is_err(),
        "expired rows were dropped"
    );
    store.remove_login("second").await.unwrap();
    assert!(store.login("second", 6_001).await.is_err());

    // Sessions keep their owner and phase minutes; groups keep the agent's pause.
    let (session, groups) = store
        .create_session(&NewSession {
            facilitator_id: Some(lee.id),
            created_at: 1_000,
            phase_minutes: Some("2,5,5,4,2".into()),
            ..common::session::new_session(&[AgentRole::Participant])
        })
        .await
        .unwrap();
    assert_eq!(session.phase_minutes(), Some(vec![2, 5, 5, 4, 2]));
    assert_eq!(
        store.sessions(Some(lee.id)).await.unwrap(),
        vec![session.clone()]
    );
    assert!(store.sessions(Some(lee.id + 1)).await.unwrap().is_empty());
    assert!(!groups[0].agent_paused);
    assert!(
        store
            .set_agent_paused(
                groups[0].id,
                true,
                &entry(lee.id, "pause_agent", groups[0].id, 1)
            )
            .await
            .unwrap()
            .agent_paused
    );
    assert!(store.group(groups[0].id).await.unwrap().agent_paused);
    assert!(store
        .set_agent_paused(999_999, true, &entry(lee.id, "pause_agent", 999_999, 1))
        .await
        .is_err());
}

#[tokio::test]
async fn an_unreachable_database_fails_clearly_after_bounded_retries() {
    // Nothing listens on port 1 of loopback.
    let settings = DatabaseSettings {
        url: "postgres://nobody@127.0.0.1:1/none".into(),
        kind: DatabaseKind::Postgres,
        connect_timeout: Duration::from_millis(1500),
    };
    let started = Instant::now();
    let err = Store::connect(&settings).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(
        elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn the_sqlite_file_and_its_folder_are_created_on_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/peerlearn.db");
    let settings = DatabaseSettings {
        url: format!("sqlite://{}", path.display()),
        kind: DatabaseKind::Sqlite,
        connect_timeout: Duration::from_secs(1),
    };
    let store = Store::connect(&settings).await.unwrap();
    let (_, groups) = new_session(&store, 1).await;
    store
        .append_message(&child_message(groups[0], "a", "kept"))
        .await
        .unwrap();
    store.close().await;
    assert!(path.exists());
    // Reopening applies no migration twice and keeps the data.
    let again = Arc::new(Store::connect(&settings).await.unwrap());
    assert_eq!(
        again.messages_after(groups[0], 0, 10).await.unwrap()[0].text,
        "kept"
    );
}

fn code(name: &str) -> CodeFields {
    CodeFields::named(name)
}

async fn codebook_edits(store: Store) {
    let (session, _) = new_session(&store, 1).await;
    let (other_session, _) = new_session(&store, 1).await;
    let mut f = code("  Agent as manager ");
    f.color = Some("f80".into());
    f.description = Some("Children defer to the agent".into());
    f.codable = false;
    let manager = store.create_code(session, &f, 10).await.unwrap();
    assert_eq!(manager.name, "Agent as manager");
    assert_eq!(manager.color.as_deref(), Some("#FF8800"));
    assert!(!manager.codable);
    assert_eq!(manager.guid.len(), 36);
    let mut f = code("Follows instruction");
    f.parent_id = Some(manager.id);
    let follows = store.create_code(session, &f, 11).await.unwrap();
    let ideas = store
        .create_code(session, &code("Idée 💡"), 12)
        .await
        .unwrap();
    // The same name in another session is fine; in the same session, not even in other case.
    store
        .create_code(other_session, &code("Idée 💡"), 13)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_code(session, &code("AGENT AS MANAGER"), 14)
            .await,
        Err(CodingError::DuplicateName(_))
    ));
    for bad in [code(" "), {
        let mut f = code("x");
        f.color = Some("red".into());
        f
    }] {
        assert!(matches!(
            store.create_code(session, &bad, 15).await,
            Err(CodingError::Invalid(_))
        ));
    }
    assert!(matches!(
        store.create_code(999_999, &code("x"), 15).await,
        Err(CodingError::Store(StoreError::NotFound("session")))
    ));
    let foreign = store.codebook(other_session).await.unwrap()[0].id;
    let mut f = code("x");
    f.parent_id = Some(foreign);
    assert!(matches!(
        store.create_code(session, &f, 15).await,
        Err(CodingError::Invalid(_))
    ));

    // Updates keep the GUID; a parent may not become its own descendant.
    let mut f = code("Follows the agent");
    f.parent_id = Some(manager.id);
    let renamed = store.update_code(follows.id, &f).await.unwrap();
    assert_eq!(renamed.guid, follows.guid);
    assert_eq!(renamed.name, "Follows the agent");
    let mut f = code("Agent as manager");
    f.parent_id = Some(follows.id);
    assert!(matches!(
        store.update_code(manager.id, &f).await,
        Err(CodingError::Invalid(_))
    ));
    let mut f = code("Idée 💡");
    f.parent_id = Some(ideas.id);
    assert!(matches!(
        store.update_code(ideas.id, &f).await,
        Err(CodingError::Invalid(_))
    ));
    assert!(matches!(
        store
            .update_code(ideas.id, &code("follows the AGENT"))
            .await,
        Err(CodingError::DuplicateName(_))
    ));

    // Deleting a category moves its children up instead of deleting them.
    store.delete_code(manager.id).await.unwrap();
    let book = store.codebook(session).await.unwrap();
    assert_eq!(
        book.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["Follows the agent", "Idée 💡"]
    );
    assert_eq!(book[0].parent_id, None);
    assert!(matches!(
        store.delete_code(manager.id).await,
        Err(CodingError::Store(StoreError::NotFound("code")))
    ));
}

async fn codings_are_unique_per_coder_code_and_utterance(store: Store) {
    let (session, groups) = new_session(&store, 2).await;
    let (other_session, other_groups) = new_session(&store, 1).await;
    for (g, n) in [(groups[0], 3), (groups[1], 2), (other_groups[0], 1)] {
        for i in 0..n {
            store
                .append_message(&child_message(g, &format!("c{i}"), "hello"))
                .await
                .unwrap();
        }
    }
    let a = store.create_code(session, &code("A"), 1).await.unwrap();
    let b = store.create_code(session, &code("B"), 1).await.unwrap();
    let mut cat = code("Category");
    cat.codable = false;
    let cat = store.create_code(session, &cat, 1).await.unwrap();
    let coding = |code_id, group_id, seq, coder: &str| NewCoding {
        code_id,
        group_id,
        seq,
        coder: coder.into(),
        facilitator_id: None,
        created_at: 5,
    };
    let first = store
        .add_coding(&coding(a.id, groups[0], 2, "alice"))
        .await
        .unwrap();
    let again = store
        .add_coding(&coding(a.id, groups[0], 2, " alice "))
        .await
        .unwrap();
    assert_eq!(first, again, "a repeated coding is the same coding");
    store
        .add_coding(&coding(a.id, groups[0], 2, "bob"))
        .await
        .unwrap();
    store
        .add_coding(&coding(b.id, groups[0], 2, "alice"))
        .await
        .unwrap();
    store
        .add_coding(&coding(b.id, groups[1], 1, "bob"))
        .await
        .unwrap();
    store
        .add_coding(&coding(a.id, groups[0], 1, "bob"))
        .await
        .unwrap();
    for bad in [
        coding(a.id, groups[0], 99, "alice"),      // no such message
        coding(a.id, other_groups[0], 1, "alice"), // another session's message
        coding(cat.id, groups[0], 1, "alice"),     // a category
        coding(a.id, groups[0], 1, "   "),         // no coder
    ] {
        let err = store.add_coding(&bad).await.unwrap_err();
        assert!(matches!(err, CodingError::Invalid(_)), "{bad:?}: {err}");
    }
    assert!(matches!(
        store
            .add_coding(&coding(999_999, groups[0], 1, "alice"))
            .await,
        Err(CodingError::Store(StoreError::NotFound("code")))
    ));
    let all = store.codings(session).await.unwrap();
    let key = |c: &peerlearn::store::CodingRecord| (c.group_id, c.seq, c.coder.clone(), c.code_id);
    assert_eq!(
        all.iter().map(key).collect::<Vec<_>>(),
        [
            (groups[0], 1, "bob".to_string(), a.id),
            (groups[0], 2, "alice".to_string(), a.id),
            (groups[0], 2, "alice".to_string(), b.id),
            (groups[0], 2, "bob".to_string(), a.id),
            (groups[1], 1, "bob".to_string(), b.id),
        ]
    );
    assert!(store.codings(other_session).await.unwrap().is_empty());
    assert!(store
        .remove_coding("alice", b.id, groups[0], 2)
        .await
        .unwrap());
    assert!(!store
        .remove_coding("alice", b.id, groups[0], 2)
        .await
        .unwrap());
    // Deleting a code deletes its codings.
    store.delete_code(a.id).await.unwrap();
    assert_eq!(store.codings(session).await.unwrap().len(), 1);
}

async fn codebook_import_is_all_or_nothing(store: Store) {
    let (session, _) = new_session(&store, 1).await;
    let csv =
        "name,description,colour,parent\nIdeas,new ideas,#00aa00,\nWild idea,,,ideas\nManager,,,\n";
    let summary = store
        .import_codebook_file(session, csv.as_bytes(), 1)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.updated), (3, 0));
    let book = store.codebook(session).await.unwrap();
    assert_eq!(book.len(), 3);
    assert_eq!(book[1].parent_id, Some(book[0].id));
    assert_eq!(book[0].color.as_deref(), Some("#00AA00"));

    // The same file again updates in place (same GUIDs, derived from the names).
    let summary = store
        .import_codebook_file(session, csv.as_bytes(), 2)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.updated), (0, 3));
    assert_eq!(store.codebook(session).await.unwrap(), book);

    // A malformed file: line and reason, nothing written.
    let bad = "name,colour\nFresh,#123456\nBroken,blue\n";
    let err = store
        .import_codebook_file(session, bad.as_bytes(), 3)
        .await
        .unwrap_err();
    assert!(matches!(err, CodingError::Import(_)), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
    assert_eq!(store.codebook(session).await.unwrap(), book);

    // A conflict found only while writing rolls back the codes written before it: "Fresh" is
    // new, then "Ideas" (matched by name) would be renamed to "Manager", which is taken.
    let gen = peerlearn_transcripts::qdpx::guid::GuidGen::new("", None);
    let ideas_guid = gen.derive("code-name", &[b"ideas".as_slice()]).to_string();
    assert_eq!(ideas_guid, book[0].guid);
    let clash = format!("id,name\nfresh-1,Fresh\n{ideas_guid},Manager\n");
    let err = store
        .import_codebook_file(session, clash.as_bytes(), 4)
        .await
        .unwrap_err();
    assert!(matches!(err, CodingError::DuplicateName(_)), "{err}");
    assert_eq!(store.codebook(session).await.unwrap(), book);

    // A .qdc keeps its GUIDs, and an unknown session is refused.
    let qdc = "<?xml version=\"1.0\"?><CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\"><Codes>\
        <Code guid=\"0b1f2c3d-0000-4000-8000-000000000001\" name=\"Trust\" isCodable=\"true\" color=\"#112233\"/>\
        </Codes></CodeBook>";
    store
        .import_codebook_file(session, qdc.as_bytes(), 5)
        .await
        .unwrap();
    let book = store.codebook(session).await.unwrap();
    assert_eq!(book[3].guid, "0b1f2c3d-0000-4000-8000-000000000001");
    assert!(matches!(
        store.import_codebook_file(999_999, qdc.as_bytes(), 6).await,
        Err(CodingError::Store(StoreError::NotFound("session")))
    ));
}

// ---------------------------------------------------------------------------------------------
// Children's data: retention, deletion, consent

const DAY: i64 = 86_400_000;

/// A session of two groups created at `created_at` and kept `days`, each group with two
/// children, three messages (at `said_at`), an agent event, a directive, a flag and a coding;
/// the session with a code and a consent record. Returns the session id and its group ids.
async fn filled_session(
    store: &Store,
    tag: &str,
    days: u32,
    created_at: i64,
    said_at: i64,
) -> (i64, Vec<i64>) {
    let (session, groups) = store
        .create_session_with_retention(
            &NewSession {
                created_at,
                ..common::session::new_session(&[AgentRole::Moderator; 2])
            },
            days,
        )
        .await
        .unwrap();
    assert_eq!(session.retention_days, i64::from(days));
    let code = store
        .create_code(
            session.id,
            &CodeFields {
                name: format!("idea {tag}"),
                description: None,
                color: None,
                parent_id: None,
                codable: true,
            },
            created_at,
        )
        .await
        .unwrap();
    for g in &groups {
        for child in ["Mia", "Leo"] {
            store
                .add_participant(
                    g.id,
                    child,
                    "🦊",
                    &format!("{tag}-{}-{child}", g.id),
                    said_at,
                )
                .await
                .unwrap();
        }
        for n in 0..3 {
            let mut m = child_message(g.id, &format!("{tag}-{n}"), "a ramp for the slide");
            m.created_at = said_at + n;
            store.append_message(&m).await.unwrap();
        }
        store
            .record_agent_event(&AgentEvent {
                group_id: g.id,
                created_at: said_at,
                trigger: Trigger::Silence.into(),
                decision: LogDecision::Spoke(Intent::AskQuestion),
                reason: "nobody wrote".into(),
                message_seq: Some(2),
                ..Default::default()
            })
            .await
            .unwrap();
        store
            .add_directive(g.id, "vote", None, Some(2), said_at)
            .await
            .unwrap();
        store
            .raise_flag(g.id, Some(1), "directive_ignored", "", said_at)
            .await
            .unwrap();
        store
            .add_coding(&NewCoding {
                code_id: code.id,
                group_id: g.id,
                seq: 1,
                coder: "ana".into(),
                facilitator_id: None,
                created_at: said_at,
            })
            .await
            .unwrap();
    }
    store
        .add_consent(
            session.id,
            &NewConsent {
                kind: ConsentKind::Parents,
                given_on: "2026-01-10".into(),
                note: "forms in the school office".into(),
            },
            None,
            created_at,
        )
        .await
        .unwrap();
    (session.id, groups.iter().map(|g| g.id).collect())
}

/// The rows of a two-group [`filled_session`].
fn filled_rows() -> SessionRows {
    SessionRows {
        messages: 6,
        participants: 4,
        agent_events: 2,
        directives: 2,
        flags: 2,
        codings: 2,
        codes: 1,
        consents: 1,
        groups: 2,
        sessions: 1,
    }
}

/// Everything a session holds, read through the store's public reads.
async fn contents(store: &Store, session_id: i64, groups: &[i64]) -> String {
    let mut out = format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n",
        store.session(session_id).await.ok(),
        store.groups_of_session(session_id).await.unwrap(),
        store.codebook(session_id).await.unwrap(),
        store.consents(session_id).await.unwrap(),
    );
    out.push_str(&format!("{:?}\n", store.codings(session_id).await.unwrap()));
    for &g in groups {
        out.push_str(&format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n",
            store.participants(g).await.unwrap(),
            store.messages_after(g, 0, 100).await.unwrap(),
            store.agent_events(g).await.unwrap(),
            store.directives(g).await.unwrap(),
            store.flags(g).await.unwrap(),
        ));
    }
    out
}

async fn assert_gone(store: &Store, session_id: i64, groups: &[i64]) {
    assert!(matches!(
        store.session(session_id).await,
        Err(StoreError::NotFound("session"))
    ));
    assert!(store
        .groups_of_session(session_id)
        .await
        .unwrap()
        .is_empty());
    assert!(store.codebook(session_id).await.unwrap().is_empty());
    assert!(store.codings(session_id).await.unwrap().is_empty());
    assert!(store.consents(session_id).await.unwrap().is_empty());
    for &g in groups {
        assert!(matches!(store.group(g).await, Err(StoreError::NotFound(_))));
        assert!(store.participants(g).await.unwrap().is_empty());
        assert!(store.messages_after(g, 0, 100).await.unwrap().is_empty());
        assert!(store.agent_events(g).await.unwrap().is_empty());
        assert!(store.directives(g).await.unwrap().is_empty());
        assert!(store.flags(g).await.unwrap().is_empty());
    }
}

async fn purge_deletes_only_expired_sessions(store: Store) {
    let now = peerlearn::store::now_ms();
    let created = now - 100 * DAY;
    // Ended 40 days ago, kept 30: due.
    let (old, old_groups) = filled_session(&store, "old", 30, created, created + DAY).await;
    store
        .set_session_status(old, SessionStatus::Ended, now - 40 * DAY)
        .await
        .unwrap();
    // Ended 10 days ago, kept 30: stays.
    let (recent, recent_groups) =
        filled_session(&store, "recent", 30, created, created + DAY).await;
    store
        .set_session_status(recent, SessionStatus::Ended, now - 10 * DAY)
        .await
        .unwrap();
    // Ended 40 days ago but kept a year: stays.
    let (long, long_groups) = filled_session(&store, "long", 365, created, created + DAY).await;
    store
        .set_session_status(long, SessionStatus::Ended, now - 40 * DAY)
        .await
        .unwrap();
    // Never ended, last message 5 days ago: counts from the message, stays.
    let (active, active_groups) =
        filled_session(&store, "active", 30, created, now - 5 * DAY).await;
    // Never ended, nobody wrote, created 100 days ago: counts from the creation, due.
    let (idle, _) = new_session(&store, 1).await;
    let idle_created = store.session(idle).await.unwrap().created_at;
    assert_eq!(idle_created, 1_000, "new_session creates at 1970 + 1 s");

    let expected = filled_rows();
    assert_eq!(store.session_rows(old).await.unwrap(), expected);
    let kept = [
        (recent, recent_groups.clone()),
        (long, long_groups.clone()),
        (active, active_groups.clone()),
    ];
    let mut before = Vec::new();
    for (id, groups) in &kept {
        assert_eq!(store.session_rows(*id).await.unwrap(), expected);
        before.push(contents(&store, *id, groups).await);
    }

    let due: Vec<i64> = store
        .expired_sessions(now)
        .await
        .unwrap()
        .iter()
        .map(|e| e.session_id)
        .collect();
    assert_eq!(due, vec![old, idle]);
    let expired = &store.expired_sessions(now).await.unwrap()[0];
    assert_eq!(expired.counted_from, now - 40 * DAY);
    assert_eq!(expired.expired_at, now - 10 * DAY);

    let done = store.purge_expired(now).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].0.session_id, old);
    assert_eq!(done[0].1, expected);
    assert_eq!(done[1].1.sessions, 1);
    assert_eq!(done[1].1.groups, 1);
    assert_gone(&store, old, &old_groups).await;
    assert!(matches!(
        store.session(idle).await,
        Err(StoreError::NotFound(_))
    ));
    // The children's credential hashes went with them.
    assert!(store
        .participant_by_credential(&format!("old-{}-Mia", old_groups[0]))
        .await
        .is_err());
    // The other sessions are untouched, row for row.
    for ((id, groups), before) in kept.iter().zip(&before) {
        assert_eq!(store.session_rows(*id).await.unwrap(), expected);
        assert_eq!(&contents(&store, *id, groups).await, before);
    }

    // The audit log keeps that it happened: by whom, when, how many rows of each kind.
    let audit: Vec<_> = store
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "purge")
        .collect();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].target, format!("session {old}"));
    assert_eq!(audit[0].facilitator_id, None);
    assert_eq!(audit[0].created_at, now);
    for part in [
        "by=purge",
        "reason=retention",
        "retention_days=30",
        &expected.detail(),
    ] {
        assert!(
            audit[0].detail.contains(part),
            "{part}: {}",
            audit[0].detail
        );
    }
    // Nothing is due twice.
    assert!(store.purge_expired(now).await.unwrap().is_empty());
    // A year on, everything is due.
    assert_eq!(
        store.expired_sessions(now + 400 * DAY).await.unwrap().len(),
        3
    );
}

async fn delete_session_is_complete_and_audited(store: Store) {
    let now = peerlearn::store::now_ms();
    let lee = store
        .add_facilitator("ms-lee", "hash", 1_000)
        .await
        .unwrap();
    let (doomed, doomed_groups) = filled_session(&store, "doomed", 180, now, now).await;
    let (other, other_groups) = filled_session(&store, "other", 180, now, now).await;
    let before = contents(&store, other, &other_groups).await;
    store
        .add_login("login-hash", lee.id, "csrf", now, now + DAY)
        .await
        .unwrap();

    let rows = store
        .delete_session(
            doomed,
            Deleter::Facilitator {
                id: lee.id,
                name: "ms-lee",
            },
            "reason=request",
            now,
        )
        .await
        .unwrap();
    assert_eq!(rows, filled_rows());
    assert_gone(&store, doomed, &doomed_groups).await;
    assert_eq!(contents(&store, other, &other_groups).await, before);
    // Facilitators and their sign-ins are not children's data.
    assert_eq!(store.facilitator(lee.id).await.unwrap().name, "ms-lee");
    assert!(store.login("login-hash", now).await.is_ok());
    let entry = store.audit_log().await.unwrap().pop().unwrap();
    assert_eq!(
        (
            entry.facilitator_id,
            entry.action.as_str(),
            entry.target.clone()
        ),
        (Some(lee.id), "delete_session", format!("session {doomed}"))
    );
    assert!(
        entry
            .detail
            .starts_with("by=ms-lee reason=request messages=6"),
        "{}",
        entry.detail
    );

    // Unknown or already deleted: not found, nothing audited.
    let audited = store.audit_log().await.unwrap().len();
    for id in [doomed, 999_999] {
        assert!(matches!(
            store
                .delete_session(id, Deleter::CommandLine, "reason=request", now)
                .await,
            Err(StoreError::NotFound("session"))
        ));
        assert!(matches!(
            store.session_rows(id).await,
            Err(StoreError::NotFound("session"))
        ));
    }
    assert_eq!(store.audit_log().await.unwrap().len(), audited);

    // Retention periods are bounded.
    for days in [0, 3651] {
        let err = store
            .create_session_with_retention(
                &NewSession {
                    created_at: now,
                    ..common::session::new_session(&[])
                },
                days,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1 to 3650"), "{err}");
    }
    assert_eq!(
        store.session(other).await.unwrap().retention_days,
        180,
        "kept as created"
    );
}

async fn consent_records_round_trip(store: Store) {
    let lee = store
        .add_facilitator("ms-lee", "hash", 1_000)
        .await
        .unwrap();
    let (session, _) = new_session(&store, 1).await;
    let first = store
        .add_consent(
            session,
            &peerlearn::store::check_consent(
                "child-assent",
                "2026-11-20",
                "asked in class, all agreed",
                peerlearn::store::now_ms(),
            )
            .unwrap(),
            Some(lee.id),
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(first.kind, ConsentKind::ChildAssent);
    assert_eq!(first.recorded_by_name.as_deref(), Some("ms-lee"));
    let second = store
        .add_consent(
            session,
            &NewConsent {
                kind: ConsentKind::School,
                given_on: "2026-11-01".into(),
                note: String::new(),
            },
            None,
            6_000,
        )
        .await
        .unwrap();
    let all = store.consents(session).await.unwrap();
    assert_eq!(all, vec![first, second]);
    assert_eq!(all[1].recorded_by_name, None);
    assert_eq!(all[1].note, "");
    assert!(matches!(
        store
            .add_consent(
                999_999,
                &NewConsent {
                    kind: ConsentKind::Parents,
                    given_on: "2026-11-01".into(),
                    note: String::new(),
                },
                None,
                6_000,
            )
            .await,
        Err(StoreError::NotFound("session"))
    ));
}

async fn the_purge_timer_deletes_in_the_background(store: Store) {
    let (due, _) = new_session(&store, 1).await; // created in 1970
    let (kept, _) = filled_session(
        &store,
        "kept",
        180,
        peerlearn::store::now_ms(),
        peerlearn::store::now_ms(),
    )
    .await;
    let timer = peerlearn::purge::spawn(store.clone(), Duration::from_millis(50));
    let started = Instant::now();
    while store.session(due).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(10), "not purged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.session(kept).await.is_ok());
    assert!(store
        .audit_log()
        .await
        .unwrap()
        .iter()
        .any(|a| a.action == "purge" && a.target == format!("session {due}")));
    // It stops by itself once the store is closed.
    store.close().await;
    tokio::time::timeout(Duration::from_secs(5), timer)
        .await
        .expect("the timer stops with the store")
        .unwrap();
}

/// A child's help request (0009_help_requests.sql): stored with its child and note, open until
/// resolved, seen once (the first sighting kept), and no longer open once dealt with.
async fn help_requests_go_new_seen_dealt_with(store: Store) {
    let (_, groups) = new_session(&store, 1).await;
    let group = groups[0];
    let request = NewHelpRequest {
        group_id: group,
        participant_id: 7,
        detail: "Mia asked for help.".into(),
        severity: Severity::Urgent,
        note: Some("my email is [hidden]".into()),
        original_note: Some("my email is mia@example.com".into()),
        created_at: 5_000,
    };
    let flag = store.raise_help_request(&request).await.unwrap();
    assert_eq!(flag.kind, HELP_REQUEST);
    assert_eq!(flag.participant_id, Some(7));
    assert_eq!(flag.severity, Severity::Urgent);
    assert_eq!(flag.note, request.note);
    assert_eq!(flag.original_note, request.original_note);
    assert_eq!(
        (flag.seen_at, flag.resolved_at, flag.message_seq),
        (None, None, None)
    );
    assert_eq!(
        store.open_help_request(group, 7).await.unwrap(),
        Some(flag.clone())
    );
    assert_eq!(store.open_help_request(group, 8).await.unwrap(), None);

    let (first, second) = (
        entry(3, "see_notice", group, 6_000),
        entry(4, "see_notice", group, 7_000),
    );
    let seen = store.see_flag(group, flag.id, 3, 6_000, &first).await;
    let seen = seen.unwrap();
    assert_eq!((seen.seen_at, seen.seen_by), (Some(6_000), Some(3)));
    let again = store.see_flag(group, flag.id, 4, 7_000, &second).await;
    let again = again.unwrap();
    assert_eq!(
        (again.seen_at, again.seen_by),
        (Some(6_000), Some(3)),
        "the first sighting"
    );
    assert!(matches!(
        store
            .see_flag(
                group + 1,
                flag.id,
                3,
                6_000,
                &entry(3, "see_notice", group, 6_000)
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    store
        .resolve_flag(group, flag.id, "dealt_with", Some(3), 8_000, None)
        .await
        .unwrap();
    assert_eq!(store.open_help_request(group, 7).await.unwrap(), None);
    assert_eq!(store.flags(group).await.unwrap().len(), 1);
}

/// A group with Mia, her visible message and a held-message notice on it: what the
/// facilitator's actions below act on.
async fn group_to_steer(store: &Store) -> (i64, i64, i64, i64) {
    let (_, groups) = new_session(store, 1).await;
    let g = groups[0];
    let mia = store
        .add_participant(g, "Mia", "🦊", "hash-mia", 1_500)
        .await
        .unwrap();
    let seq = store
        .append_message(&child_message(g, "c-1", "a slide"))
        .await
        .unwrap()
        .message
        .seq;
    let flag = store
        .raise_flag(g, Some(seq), "held", "the screen held it", 2_500)
        .await
        .unwrap();
    (g, mia.id, seq, flag.id)
}

/// The teacher's post as the adult, audited with it.
fn facilitators_post(g: i64, audit: NewAudit) -> NewMessage {
    NewMessage {
        client_msg_id: format!("facilitator-{}", audit.created_at),
        sender_kind: SenderKind::Facilitator,
        sender_id: audit.facilitator_id,
        audit: Some(audit),
        ..child_message(g, "", "Try the ramp")
    }
}

/// Every write behind a facilitator's action stores the action's audit entry with it: when
/// the write returns (and its effect can be shown), the entry is in the log, once. The
/// system's own writes carry none.
async fn facilitator_writes_commit_their_audit_entry(store: Store) {
    let (g, mia, seq, flag) = group_to_steer(&store).await;
    let e = |action: &str, at: i64| entry(7, action, g, at);
    let mut expected = Vec::new();
    let mut audited = |entry: NewAudit| expected.push(entry);

    let a = e("see_notice", 3_000);
    store.see_flag(g, flag, 7, 3_000, &a).await.unwrap();
    audited(a);
    let a = e("hide", 3_100);
    let hidden = store
        .set_moderation(g, seq, Moderation::Hidden, Some(7), 3_100, Some(&a))
        .await
        .unwrap();
    assert_eq!(hidden.moderation, Moderation::Hidden);
    audited(a);
    let a = e("keep_held", 3_200);
    store
        .resolve_flag(g, flag, "kept", Some(7), 3_200, Some(&a))
        .await
        .unwrap();
    audited(a);
    let a = e("mute", 3_300);
    store.set_muted_until(mia, Some(9_000), &a).await.unwrap();
    audited(a);
    let a = e("pause_agent", 3_400);
    assert!(
        store
            .set_agent_paused(g, true, &a)
            .await
            .unwrap()
            .agent_paused
    );
    audited(a);
    let a = e("switch_role", 3_500);
    let switched = store
        .set_group_role(g, AgentRole::Participant, &a)
        .await
        .unwrap();
    assert_eq!(switched.agent_role, AgentRole::Participant);
    audited(a);
    let a = e("skip_phase", 3_600);
    store
        .set_group_phase(g, Some(1), Some(99_000), 1, false, Some(&a))
        .await
        .unwrap();
    audited(a);
    let a = e("post", 3_700);
    let posted = store
        .append_message(&facilitators_post(g, a.clone()))
        .await
        .unwrap();
    assert_eq!(posted.message.seq, seq + 1);
    audited(a);
    // The clock's own phase change and a child's message: no entry.
    store
        .set_group_phase(g, Some(2), Some(120_000), 2, false, None)
        .await
        .unwrap();
    store
        .append_message(&child_message(g, "c-2", "ok"))
        .await
        .unwrap();

    let log: Vec<NewAudit> = store
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|a| NewAudit {
            facilitator_id: a.facilitator_id,
            action: a.action,
            target: a.target,
            detail: a.detail,
            created_at: a.created_at,
        })
        .collect();
    assert_eq!(log, expected);
}

/// When the database refuses the audit entry, the facilitator's write goes with it: the call
/// fails (the dashboard answers the teacher with an error) and nothing changed, not even a
/// `seq` used up. Writes that carry no entry go on as before.
async fn a_refused_audit_entry_undoes_the_facilitators_write(db: common::TestDb) {
    let store = db.store().await;
    let (g, mia, seq, flag) = group_to_steer(&store).await;
    common::refuse_audit_entries(&db.settings).await;
    let e = |action: &str| entry(7, action, g, 3_000);
    let refused = |result: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(result, Err(StoreError::Database(_))),
            "{what}: {result:?}"
        );
    };

    refused(
        store
            .see_flag(g, flag, 7, 3_000, &e("see_notice"))
            .await
            .map(drop),
        "see_flag",
    );
    let a = e("resolve_notice");
    refused(
        store
            .resolve_flag(g, flag, "dealt_with", Some(7), 3_000, Some(&a))
            .await
            .map(drop),
        "resolve_flag",
    );
    let a = e("hide");
    refused(
        store
            .set_moderation(g, seq, Moderation::Hidden, Some(7), 3_000, Some(&a))
            .await
            .map(drop),
        "set_moderation",
    );
    refused(
        store.set_muted_until(mia, Some(9_000), &e("mute")).await,
        "set_muted_until",
    );
    refused(
        store
            .set_agent_paused(g, true, &e("pause_agent"))
            .await
            .map(drop),
        "set_agent_paused",
    );
    refused(
        store
            .set_group_role(g, AgentRole::None, &e("switch_role"))
            .await
            .map(drop),
        "set_group_role",
    );
    let a = e("extend_phase");
    refused(
        store
            .set_group_phase(g, Some(0), Some(99_000), 0, false, Some(&a))
            .await,
        "set_group_phase",
    );
    refused(
        store
            .append_message(&facilitators_post(g, e("post")))
            .await
            .map(drop),
        "append_message",
    );
    refused(
        store.record_audit(&e("whisper")).await.map(drop),
        "record_audit",
    );

    let notice = store.flag(g, flag).await.unwrap();
    assert_eq!((notice.seen_at, notice.resolved_at), (None, None));
    assert_eq!(
        store.message(g, seq).await.unwrap().moderation,
        Moderation::Visible
    );
    assert_eq!(store.participants(g).await.unwrap()[0].muted_until, None);
    let group = store.group(g).await.unwrap();
    assert_eq!(
        (group.agent_paused, group.agent_role, group.phase_index),
        (false, AgentRole::Moderator, None)
    );
    assert_eq!(store.message_count(g).await.unwrap(), 1, "no post stored");
    assert!(store.audit_log().await.unwrap().is_empty());
    // A child's message needs no entry: stored, with the seq the refused post did not use.
    let next = store
        .append_message(&child_message(g, "c-2", "still here"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, seq + 1);
    store
        .set_group_phase(g, Some(0), Some(99_000), 0, false, None)
        .await
        .unwrap();
}
