//! The research commands over a real stored session: `codebook import` (all or nothing),
//! `analyze irr`, `analyze participation`, and exports carrying the codebook and codings
//! (`--format qdpx` valid against the REFI-QDA schema, `--format qdc`); bad requests exit 2.

mod common;

use peerlearn::store::NewCoding;

use common::process::assert_success;
use common::research::{stored_session, Cli};

async fn fixture() -> (Cli, i64, Vec<i64>) {
    let cli = Cli::new().await;
    let (session, groups) = stored_session(&cli.store).await;
    (cli, session, groups)
}

/// [`Cli::run`], read as its exit code, stdout and stderr.
fn run(cli: &Cli, args: &[&str]) -> (Option<i32>, String, String) {
    let out = cli.run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CODEBOOK: &str = "name,description,colour,parent\n\
Agent as manager,Children treat the agent as a boss,#FF8800,\n\
Follows instruction,,#00AA11,Agent as manager\n\
Creative idea,,,\n";

#[tokio::test]
async fn codebook_import_then_agreement_and_coded_exports() {
    let (cli, session, groups) = fixture().await;
    let store = &cli.store;
    let s = session.to_string();
    std::fs::write(cli.path().join("book.csv"), CODEBOOK).unwrap();
    let (code, out, err) = run(&cli, &["codebook", "import", "--session", &s, "book.csv"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("imported 3 codes"), "{out}");

    // Fewer than two coders: a clear message.
    let (code, _, err) = run(&cli, &["analyze", "irr", "--session", &s]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("at least two coders"), "{err}");

    // alice: code A on 1 and 2; bob: code A on 1 and 3 (3 visible units in group 1).
    // both 1, only_a 1, only_b 1, neither 0: p_o = 1/3, p_e = 5/9, kappa = -0.5.
    let book = store.codebook(session).await.unwrap();
    let follows = book
        .iter()
        .find(|c| c.name == "Follows instruction")
        .unwrap();
    let g = groups[0];
    for (coder, seq) in [("alice", 1), ("alice", 2), ("bob", 1), ("bob", 3)] {
        store
            .add_coding(&NewCoding {
                code_id: follows.id,
                group_id: g,
                seq,
                coder: coder.into(),
                facilitator_id: None,
                created_at: 10_000,
            })
            .await
            .unwrap();
    }
    let (code, out, err) = run(&cli, &["analyze", "irr", "--session", &s, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["coders"], serde_json::json!(["alice", "bob"]));
    assert_eq!(report["units"], 3, "the hidden message is not a unit");
    let c = report["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code_name"] == "Follows instruction")
        .unwrap();
    let kappa = c["pairs"][0]["kappa"]["kappa"].as_f64().unwrap();
    assert!((kappa + 0.5).abs() < 1e-9, "{kappa}");
    let (code, out, err) = run(&cli, &["analyze", "irr", "--session", &s]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("Follows instruction")
            && out.contains("alice / bob")
            && out.contains("-0.500"),
        "{out}"
    );

    // The QDPX carries the codebook and the codings, and still validates.
    let (code, _, err) = run(
        &cli,
        &[
            "export",
            "--session",
            &s,
            "--format",
            "qdpx",
            "--out",
            "p.qdpx",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let qde = cli.qdpx("p.qdpx");
    assert!(
        qde.contains("<CodeBook>") || qde.contains("<CodeBook"),
        "{qde}"
    );
    assert!(qde.contains("Follows instruction"));
    assert_eq!(qde.matches("<Coding ").count(), 4, "{qde}");
    assert!(!qde.contains("Mia"));

    // The codebook alone, with the same GUIDs.
    let (code, _, err) = run(&cli, &["export", "--session", &s, "--format", "qdc"]);
    assert_eq!(code, Some(0), "{err}");
    let qdc = std::fs::read_to_string(cli.path().join(format!("session-{session}.qdc"))).unwrap();
    assert!(
        qdc.contains("<CodeBook") && qdc.contains(&follows.guid),
        "{qdc}"
    );
    let back = peerlearn_transcripts::read_qdc(qdc.as_bytes()).unwrap();
    assert_eq!(back.codes.len(), 3);

    let audit = store.audit_log().await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["codebook_import", "export", "export"]);
}

#[tokio::test]
async fn a_malformed_codebook_imports_nothing() {
    let (cli, session, _) = fixture().await;
    let store = &cli.store;
    let s = session.to_string();
    std::fs::write(
        cli.path().join("bad.csv"),
        "name,colour\nFine,#123456\nBroken,blue\n",
    )
    .unwrap();
    std::fs::write(
        cli.path().join("bad.qdc"),
        "<CodeBook><Codes>\n<Code name=\"a\"></Codes>",
    )
    .unwrap();
    std::fs::write(cli.path().join("ok.csv"), CODEBOOK).unwrap();
    for (args, says) in [
        (
            vec!["codebook", "import", "--session", &s, "bad.csv"],
            "bad.csv: line 3: colour \"blue\" is not #RRGGBB; nothing was imported",
        ),
        (
            vec!["codebook", "import", "--session", &s, "bad.qdc"],
            "bad.qdc: line 2",
        ),
        (
            vec!["codebook", "import", "--session", &s, "missing.csv"],
            "cannot read missing.csv",
        ),
        (
            vec!["codebook", "import", "--session", "999", "ok.csv"],
            "session 999 not found",
        ),
    ] {
        let (code, _, err) = run(&cli, &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(store.codebook(session).await.unwrap().is_empty());
    assert!(store.audit_log().await.unwrap().is_empty());
}

#[tokio::test]
async fn participation_tables() {
    let (cli, session, groups) = fixture().await;
    let store = &cli.store;
    let s = session.to_string();
    store
        .add_directive(groups[0], "invite", None, Some(2), 3_002)
        .await
        .unwrap();
    let d = store.directives(groups[0]).await.unwrap();
    store
        .resolve_directive(d[0].id, "followed", 3_003)
        .await
        .unwrap();
    let (code, _, err) = run(
        &cli,
        &[
            "analyze",
            "participation",
            "--session",
            &s,
            "--out",
            "p.csv",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let groups_csv = std::fs::read_to_string(cli.path().join("p.csv")).unwrap();
    let speakers_csv = std::fs::read_to_string(cli.path().join("p-speakers.csv")).unwrap();
    let rows: Vec<&str> = groups_csv.lines().collect();
    assert_eq!(rows.len(), 3, "{groups_csv}");
    let header: Vec<&str> = rows[0].split(',').collect();
    let row: Vec<&str> = rows[1].split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    // Group 1: Mia 1 turn, Leo 1 visible turn (the hidden one is left out), the agent 1.
    assert_eq!(col("child_turns"), "2");
    assert_eq!(col("agent_turns"), "1");
    assert_eq!(col("child_turn_gini"), "0.0000");
    assert_eq!(col("directives"), "1");
    assert_eq!(col("directive_compliance"), "1.0000");
    assert_eq!(col("agent_replies"), "1");
    assert!(speakers_csv.contains("Child 1") && speakers_csv.contains("Child 2"));
    assert!(!speakers_csv.contains("Mia") && !groups_csv.contains("Leo"));

    let (code, out, _) = run(
        &cli,
        &["analyze", "participation", "--session", &s, "--out", "-"],
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("child_turn_gini") && out.contains("share_of_child_turns"));

    for (args, says) in [
        (
            vec!["analyze", "participation", "--session", "999"],
            "session 999 not found",
        ),
        (
            vec![
                "analyze",
                "participation",
                "--session",
                &s,
                "--group",
                "999",
            ],
            "group 999",
        ),
        (
            vec!["analyze", "irr", "--session", "999"],
            "session 999 not found",
        ),
        (
            vec!["analyze", "irr", "--session", &s, "--coverage", "some"],
            "some",
        ),
        (
            vec!["export", "--session", &s, "--format", "qdc"],
            "has no codebook",
        ),
    ] {
        let (code, _, err) = run(&cli, &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!cli.path().join(format!("session-{session}.qdc")).exists());
}

/// The benchmark command on a small session: it runs, and the exports read every page (5,000
/// messages in one group are three pages) exactly once.
#[test]
fn bench_export_reads_every_page_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::process::peerlearn(dir.path())
        .args([
            "bench",
            "export",
            "--utterances",
            "5000",
            "--groups",
            "1",
            "--runs",
            "1",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every 997th message is hidden: seq 997, 1994, 2991, 3988, 4985.
    assert_eq!(report["csv"]["utterances"], 4995, "{report}");
    assert_eq!(report["qdpx"]["utterances"], 4995, "{report}");
    assert!(report["qdpx"]["codings"].as_u64().unwrap() > 0, "{report}");
    assert!(report["csv"]["median_s"].as_f64().unwrap() > 0.0);
}
