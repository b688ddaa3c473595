//! `peerlearn export` over a real stored session: pseudonymised CSV and a schema-valid QDPX,
//! hidden messages left out, the audit log written, and bad requests refused with exit code 2.

mod common;

use peerlearn::store::Store;

use common::research::{peerlearn, stored_session, validate_qdpx};

#[tokio::test]
async fn exports_are_pseudonymised_complete_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let settings = peerlearn::config::DatabaseSettings {
        url: db.clone(),
        kind: peerlearn::config::DatabaseKind::Sqlite,
        connect_timeout: std::time::Duration::from_secs(5),
    };
    let store = Store::connect(&settings).await.unwrap();
    let (session, groups) = stored_session(&store).await;

    let out = peerlearn(dir.path(), &db)
        .args([
            "export",
            "--session",
            &session.to_string(),
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join(format!("session-{session}.csv"))).unwrap();
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
    let out = peerlearn(dir.path(), &db)
        .args([
            "export",
            "--session",
            &session.to_string(),
            "--format",
            "jsonl",
            "--include-hidden",
            "--pseudonyms",
            "nicknames",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    let jsonl = String::from_utf8(out.stdout).unwrap();
    assert_eq!(jsonl.lines().count(), 4);
    assert!(jsonl.contains("something unkind") && jsonl.contains("Mia"));

    // REFI-QDA: the project inside validates against the official schema.
    let out = peerlearn(dir.path(), &db)
        .args([
            "export",
            "--session",
            &session.to_string(),
            "--format",
            "qdpx",
            "--group",
            &groups[0].to_string(),
            "--out",
            "p.qdpx",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let qde = validate_qdpx(dir.path(), &dir.path().join("p.qdpx"));
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
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let settings = peerlearn::config::DatabaseSettings {
        url: db.clone(),
        kind: peerlearn::config::DatabaseKind::Sqlite,
        connect_timeout: std::time::Duration::from_secs(5),
    };
    let store = Store::connect(&settings).await.unwrap();
    let (session, _) = stored_session(&store).await;
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
        let out = peerlearn(dir.path(), &db).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // Nothing was written and nothing audited.
    assert!(!dir.path().join(format!("session-{session}.csv")).exists());
    assert!(store.audit_log().await.unwrap().is_empty());
}
