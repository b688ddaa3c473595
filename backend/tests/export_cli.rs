//! `peerlearn export` over a real stored session: pseudonymised CSV and a schema-valid QDPX,
//! hidden messages left out, the audit log written, and bad requests refused with exit code 2.

mod common;

use peerlearn::store::{AgentRole, Store};

use common::process::assert_success;
use common::research::{stored_session, Cli};
use common::session::{new_session, running_session};

#[tokio::test]
async fn exports_are_pseudonymised_complete_and_audited() {
    let cli = Cli::new().await;
    let store = &cli.store;
    let (session, groups) = stored_session(store).await;

    let out = cli.export(session, &["--format", "csv"]);
    assert_success(&out);
    let csv = std::fs::read_to_string(cli.path().join(format!("session-{session}.csv"))).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "header + 3 visible messages (the hidden one is left out):\n{csv}"
    );
    assert!(
        !csv.contains("Mia") && !csv.contains("Leo"),
        "no nickname anywhere:\n{csv}"
    );
    assert!(csv.contains("Child 1") && csv.contains("Child 2"));
    assert!(
        csv.contains("\"A ramp for the slide, \"\"wide\"\", 🛝\""),
        "RFC 4180 quoting:\n{csv}"
    );
    assert!(
        csv.contains("Child 2, what do you think of Child 1's ramp?"),
        "{csv}"
    );
    assert!(
        csv.contains("imbalance") && csv.contains("has not spoken yet"),
        "the agent's reason:\n{csv}"
    );
    assert!(!csv.contains("something unkind"));

    // Hidden messages only when asked; nicknames only when asked.
    let out = cli.export(
        session,
        &[
            "--format",
            "jsonl",
            "--include-hidden",
            "--pseudonyms",
            "nicknames",
            "--out",
            "-",
        ],
    );
    let jsonl = String::from_utf8(out.stdout).unwrap();
    assert_eq!(jsonl.lines().count(), 4);
    assert!(jsonl.contains("something unkind") && jsonl.contains("Mia"));

    // REFI-QDA: the project inside validates against the official schema.
    let out = cli.export(
        session,
        &[
            "--format",
            "qdpx",
            "--group",
            &groups[0].to_string(),
            "--out",
            "p.qdpx",
        ],
    );
    assert_success(&out);
    let qde = cli.qdpx("p.qdpx");
    assert!(!qde.contains("Mia"));

    let audit = store.audit_log().await.unwrap();
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|a| a.action == "export"));
    assert!(
        audit[2].detail.contains("format=qdpx") && audit[2].detail.contains("utterances=3"),
        "{:?}",
        audit[2]
    );
}

#[tokio::test]
async fn unknown_sessions_groups_and_formats_exit_2() {
    let cli = Cli::new().await;
    let store = &cli.store;
    let (session, _) = stored_session(store).await;
    for (args, says) in [
        (vec!["export", "--session", "999"], "session 999 not found"),
        (
            vec![
                "export",
                "--session",
                &session.to_string(),
                "--group",
                "999",
            ],
            "group 999",
        ),
        (
            vec![
                "export",
                "--session",
                &session.to_string(),
                "--format",
                "docx",
            ],
            "docx",
        ),
        (
            vec![
                "export",
                "--session",
                &session.to_string(),
                "--pseudonyms",
                "real",
            ],
            "real",
        ),
    ] {
        let out = cli.command().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // Nothing was written and nothing audited.
    assert!(!cli.path().join(format!("session-{session}.csv")).exists());
    assert!(store.audit_log().await.unwrap().is_empty());
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A session created now (not due for deletion) with one group.
async fn fresh_session(store: &Store) -> i64 {
    let new = new_session(&[AgentRole::None]);
    store.create_session(&new).await.unwrap().0.id
}

#[tokio::test]
async fn purge_and_session_delete_from_the_command_line() {
    let cli = Cli::new().await;
    let store = &cli.store;
    // Created in 1970 and never ended: long past its 180 days.
    let (old, old_groups) = stored_session(store).await;
    let fresh = fresh_session(store).await;

    let out = cli.run(&["purge", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("would delete session {old} "))
            && said.contains("messages=4 participants=2")
            && said.contains("nothing was deleted"),
        "{said}"
    );
    assert!(!said.contains(&format!("session {fresh} ")), "{said}");
    assert!(
        store.session(old).await.is_ok(),
        "a dry run deletes nothing"
    );

    let out = cli.run(&["purge"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("deleted session {old} ")),
        "{}",
        text(&out)
    );
    assert!(store.session(old).await.is_err());
    assert!(store.participants(old_groups[0]).await.unwrap().is_empty());
    assert!(store.session(fresh).await.is_ok());
    let purge = store.audit_log().await.unwrap().pop().unwrap();
    assert_eq!(
        (purge.action.as_str(), purge.target.clone()),
        ("purge", format!("session {old}"))
    );
    assert!(purge.detail.contains("by=purge") && purge.detail.contains("messages=4"));
    let out = cli.run(&["purge"]);
    assert!(text(&out).contains("purged 0 sessions"), "{}", text(&out));

    // `session delete`: refused without confirmation when stdin is not a terminal.
    let out = cli
        .command()
        .args(["session", "delete", &fresh.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--yes"), "{}", text(&out));
    assert!(store.session(fresh).await.is_ok());
    for (args, says) in [
        (
            vec!["session", "delete", "999", "--yes"],
            "session 999 not found",
        ),
        (vec!["session", "delete", "abc", "--yes"], "invalid value"),
        (vec!["session", "delete", "--yes"], "<ID>"),
    ] {
        let out = cli.command().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    // A running session is ended on the dashboard first.
    let running = running_session(store, &[AgentRole::None]).await.0.id;
    let out = cli.run(&["session", "delete", &running.to_string(), "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is running"), "{}", text(&out));

    let out = cli.run(&["session", "delete", &fresh.to_string(), "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("deleted session {fresh}: messages=0")));
    assert!(store.session(fresh).await.is_err());
    let entry = store.audit_log().await.unwrap().pop().unwrap();
    assert_eq!(entry.action, "delete_session");
    assert!(
        entry.detail.starts_with("by=command line reason=request"),
        "{}",
        entry.detail
    );
}

#[tokio::test]
async fn consent_is_recorded_checked_and_exported() {
    let cli = Cli::new().await;
    let store = &cli.store;
    let (session, _) = stored_session(store).await;
    let id = session.to_string();
    let out = cli.run(&[
        "session",
        "consent",
        &id,
        "--kind",
        "parents",
        "--date",
        "2026-11-20",
        "--note",
        "signed forms in the office; Mia's father asked questions",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli.run(&[
        "session",
        "consent",
        &id,
        "--kind",
        "child-assent",
        "--date",
        "2026-11-21",
    ]);
    assert!(
        out.status.success(),
        "an empty note is fine: {}",
        text(&out)
    );
    for (args, says) in [
        (
            vec!["--kind", "teacher", "--date", "2026-11-20"],
            "unknown consent kind",
        ),
        (
            vec!["--kind", "parents", "--date", "2026-02-30"],
            "not a day",
        ),
        (
            vec!["--kind", "parents", "--date", "yesterday"],
            "not a day",
        ),
        (
            vec!["--kind", "other", "--date", "2026-11-20"],
            "needs a note",
        ),
        (vec!["--kind", "parents"], "--date"),
    ] {
        let out = cli
            .command()
            .args(["session", "consent", &id])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let out = cli.run(&[
        "session",
        "consent",
        "999",
        "--kind",
        "school",
        "--date",
        "2026-11-20",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("session 999 not found"));
    assert_eq!(store.consents(session).await.unwrap().len(), 2);
    assert!(store
        .audit_log()
        .await
        .unwrap()
        .iter()
        .any(|a| a.action == "add_consent" && a.detail.contains("kind=parents")));

    // CSV: the consent records go beside the transcript, pseudonymised like it.
    let out = cli.export(session, &["--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out));
    let consent =
        std::fs::read_to_string(cli.path().join(format!("session-{session}-consent.csv"))).unwrap();
    let lines: Vec<&str> = consent.lines().collect();
    assert_eq!(
        lines[0],
        "session_id,kind,given_on,note,recorded_by,recorded_at"
    );
    assert_eq!(lines.len(), 3, "{consent}");
    assert!(lines[1].contains("parents,2026-11-20,") && lines[1].contains("Child 1's father"));
    assert!(lines[1].contains(",command line,"), "{consent}");
    assert!(!consent.contains("Mia"));
    assert!(
        lines[2].contains("child_assent,2026-11-21,,command line"),
        "{consent}"
    );

    // QDPX: each record is a note, and the project still validates.
    let out = cli.export(session, &["--format", "qdpx", "--out", "c.qdpx"]);
    assert!(out.status.success(), "{}", text(&out));
    let qde = cli.qdpx("c.qdpx");
    assert!(
        qde.contains("name=\"Consent: parents, 2026-11-20\""),
        "{qde}"
    );
    assert!(qde.contains("Consent records: 2"), "{qde}");
    assert!(!qde.contains("Mia"));
}

#[tokio::test]
async fn exports_hide_facilitators_coders_and_ids() {
    use peerlearn::store::{CodeFields, NewCoding, NewMessage, SenderKind};
    let cli = Cli::new().await;
    let store = &cli.store;
    let (session, groups) = stored_session(store).await;
    let lee = store.add_facilitator("ms-lee", "hash", 1).await.unwrap();
    store.add_facilitator("mr_okafor", "hash", 2).await.unwrap();
    let mia = store.participants(groups[0]).await.unwrap()[0].clone();
    for (n, text) in [
        (5, "ms-lee said we can, Ms Lee is nice"),
        (6, "ask mr okafor"),
    ] {
        store
            .append_message(&NewMessage {
                group_id: groups[0],
                client_msg_id: format!("m{n}"),
                sender_kind: SenderKind::Child,
                sender_id: Some(mia.id),
                text: text.into(),
                phase: None,
                created_at: 4_000 + n,
                reply_to: None,
                screening: Default::default(),
                audit: None,
            })
            .await
            .unwrap();
    }
    store
        .append_message(&NewMessage {
            group_id: groups[0],
            client_msg_id: "t1".into(),
            sender_kind: SenderKind::Facilitator,
            sender_id: Some(lee.id),
            text: "I am ms-lee".into(),
            phase: None,
            created_at: 4_100,
            reply_to: None,
            screening: Default::default(),
            audit: None,
        })
        .await
        .unwrap();
    let code = store
        .create_code(
            session,
            &CodeFields {
                name: "ramp".into(),
                description: None,
                color: None,
                parent_id: None,
                codable: true,
            },
            1,
        )
        .await
        .unwrap();
    for coder in ["dr-ana-real", "prof-ben-real"] {
        store
            .add_coding(&NewCoding {
                code_id: code.id,
                group_id: groups[0],
                seq: 1,
                coder: coder.into(),
                facilitator_id: None,
                created_at: 5,
            })
            .await
            .unwrap();
    }
    let out = cli.export(
        session,
        &["--format", "csv", "--pseudonyms", "nicknames", "--out", "-"],
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        !csv.to_lowercase().contains("lee") && !csv.contains("okafor"),
        "{csv}"
    );
    assert!(
        csv.contains("Facilitator said we can, Facilitator is nice"),
        "{csv}"
    );
    assert!(csv.contains("ask Facilitator 2"), "{csv}");
    assert!(csv.contains("I am Facilitator"), "{csv}");

    let qdpx = |name: &str, extra: &[&str]| {
        let mut args = vec!["--format", "qdpx", "--out", name];
        args.extend_from_slice(extra);
        let out = cli.export(session, &args);
        assert!(out.status.success(), "{}", text(&out));
        let qde = cli.qdpx(name);
        std::fs::remove_file(cli.path().join("project.qde")).unwrap();
        qde
    };
    let first = qdpx("a.qdpx", &[]);
    let second = qdpx("b.qdpx", &[]);
    assert!(
        !first.contains("-real") && first.contains("name=\"Coder 1\""),
        "{first}"
    );
    assert!(first.contains("name=\"Coder 2\""));
    let kept = qdpx("c.qdpx", &["--keep-coder-names"]);
    assert!(kept.contains("name=\"dr-ana-real\""), "{kept}");

    // GUIDs: consistent within one export (every reference resolves), different across
    // exports, and not the ones derivable from the ids with an empty salt.
    let guids = |qde: &str, attr: &str| -> Vec<String> {
        qde.split(attr)
            .skip(1)
            .map(|rest| rest[..36].to_string())
            .collect()
    };
    let defined: std::collections::HashSet<String> =
        guids(&first, " guid=\"").into_iter().collect();
    let refs = guids(&first, "targetGUID=\"");
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(defined.contains(r), "{r} is referenced but not defined");
    }
    let case_guids = |qde: &str| guids(qde, "<Case guid=\"");
    let (a, b) = (case_guids(&first), case_guids(&second));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().all(|g| !b.contains(g)), "fresh GUIDs per export");
    let derivable = peerlearn_transcripts::qdpx::guid::GuidGen::new("", Some(session))
        .derive("case", &[b"child", &mia.id.to_le_bytes()])
        .to_string();
    assert!(!a.contains(&derivable) && !b.contains(&derivable));
    // The codes keep their stored GUIDs (a codebook round-trips through QDA tools).
    let stored = store.codebook(session).await.unwrap()[0].guid.clone();
    assert!(first.contains(&stored) && second.contains(&stored));
}

#[tokio::test]
async fn a_failed_audit_write_fails_the_export() {
    use sqlx::Connection;
    let cli = Cli::new().await;
    let store = &cli.store;
    let (session, _) = stored_session(store).await;
    let mut conn = sqlx::SqliteConnection::connect(&cli.db).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'the audit log is read-only'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    for format in ["csv", "qdpx", "qdc"] {
        let out = cli.export(session, &["--format", format]);
        if format == "qdc" {
            // No codebook: refused before anything is written or audited.
            assert_eq!(out.status.code(), Some(2), "{}", text(&out));
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{format}: {}", text(&out));
        assert!(
            text(&out)
                .contains("cannot write the audit log entry for this export; nothing was exported"),
            "{}",
            text(&out)
        );
        let left: Vec<_> = std::fs::read_dir(cli.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("session-"))
            .collect();
        assert!(
            left.is_empty(),
            "{format}: nothing is left behind: {left:?}"
        );
    }
    let out = cli.export(session, &["--out", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing reaches standard output");
}
