//! A small stored session for the command-line tests of exports and analyses: two groups
//! (a moderator group with Mia and Leo, a control group), a child's message with quotes and an
//! emoji, the agent's invitation with its event, a reply, and a hidden message.

use std::process::Command;

use peerlearn::store::{
    AgentEvent, AgentRole, Moderation, NewGroup, NewMessage, NewSession, SenderKind, Store,
};

/// The binary against the database at `db`, run in `dir`.
pub fn peerlearn(dir: &std::path::Path, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerlearn"));
    cmd.current_dir(dir)
        .env("PEERLEARN_LOG", "warn")
        .env("PEERLEARN_DATABASE_URL", db);
    cmd
}

/// Stores the session; returns its id and its groups' ids.
pub async fn stored_session(store: &Store) -> (i64, Vec<i64>) {
    let (session, groups) = store
        .create_session(&NewSession {
            facilitator_id: None,
            activity_id: "playground".into(),
            language: "en".into(),
            agent_name: "Blue".into(),
            groups: vec![
                NewGroup {
                    name: "Group 1".into(),
                    agent_role: AgentRole::Moderator,
                },
                NewGroup {
                    name: "Group 2".into(),
                    agent_role: AgentRole::None,
                },
            ],
            created_at: 1_000,
            phase_minutes: None,
            safety_level: "standard".into(),
        })
        .await
        .unwrap();
    let g = groups[0].id;
    let mia = store
        .add_participant(g, "Mia", "🦊", "h1", 2_000)
        .await
        .unwrap();
    let leo = store
        .add_participant(g, "Leo", "🐼", "h2", 2_100)
        .await
        .unwrap();
    let say = |seq: usize, kind: SenderKind, sender: Option<i64>, text: &str| NewMessage {
        group_id: g,
        client_msg_id: format!("m{seq}"),
        sender_kind: kind,
        sender_id: sender,
        text: text.into(),
        phase: Some("Ideas".into()),
        created_at: 3_000 + seq as i64,
        reply_to: None,
        screening: Default::default(),
    };
    store
        .append_message(&say(
            1,
            SenderKind::Child,
            Some(mia.id),
            "A ramp for the slide, \"wide\", 🛝",
        ))
        .await
        .unwrap();
    store
        .append_message(&say(
            2,
            SenderKind::Agent,
            None,
            "Leo, what do you think of Mia's ramp?",
        ))
        .await
        .unwrap();
    store
        .append_message(&say(
            3,
            SenderKind::Child,
            Some(leo.id),
            "I like Mia's idea",
        ))
        .await
        .unwrap();
    store
        .append_message(&say(4, SenderKind::Child, Some(leo.id), "something unkind"))
        .await
        .unwrap();
    store
        .set_moderation(g, 4, Moderation::Hidden, None, 9_000)
        .await
        .unwrap();
    store
        .record_agent_event(&AgentEvent {
            group_id: g,
            trigger: peerlearn::agent::Trigger::Imbalance.into(),
            decision: peerlearn::store::LogDecision::Spoke(peerlearn::agent::Intent::InviteQuiet),
            reason: "Leo has not spoken yet".into(),
            message_seq: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    (session.id, groups.iter().map(|g| g.id).collect())
}

/// Unpacks `project.qde` from a `.qdpx` into `dir`, checks it against the official REFI-QDA
/// schema with xmllint, and returns its text.
pub fn validate_qdpx(dir: &std::path::Path, qdpx: &std::path::Path) -> String {
    let qde = dir.join("project.qde");
    let unzip = Command::new("python3")
        .args(["-c", "import sys,zipfile; open(sys.argv[2],'wb').write(zipfile.ZipFile(sys.argv[1]).read('project.qde'))"])
        .arg(qdpx)
        .arg(&qde)
        .status()
        .unwrap();
    assert!(unzip.success());
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../transcripts/tests/data/Project.xsd"
    );
    let lint = Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&qde)
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    std::fs::read_to_string(&qde).unwrap()
}
