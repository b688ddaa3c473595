//! A small stored session for the command-line tests of exports and analyses: two groups
//! (a moderator group with Mia and Leo, a control group), a child's message with quotes and an
//! emoji, the agent's invitation with its event, a reply, and a hidden message.

use std::process::Command;

use peerlearn::store::{
    AgentEvent, AgentRole, Moderation, NewMessage, NewSession, SenderKind, Store,
};

use super::process::assert_success;
use super::session::new_session;

/// A fresh SQLite database in a folder of its own, where the test runs the binary against it.
pub struct Cli {
    pub dir: tempfile::TempDir,
    /// The database's URL.
    pub db: String,
    pub store: Store,
}

impl Cli {
    pub async fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let settings = super::sqlite_at(&dir.path().join("x.db"));
        let store = Store::connect(&settings).await.unwrap();
        Cli {
            dir,
            db: settings.url,
            store,
        }
    }

    /// The folder the binary runs in (where its files are written).
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The binary against the database, run in the folder.
    pub fn command(&self) -> Command {
        let mut cmd = super::process::peerlearn(self.path());
        cmd.env("PEERLEARN_DATABASE_URL", &self.db);
        cmd
    }

    /// Runs the binary with `args`, to its end.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs `peerlearn export --session {session}` with `args`, to its end.
    pub fn export(&self, session: i64, args: &[&str]) -> std::process::Output {
        let session = session.to_string();
        let mut all = vec!["export", "--session", &session];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Unpacks and validates a `.qdpx` the binary wrote in the folder (see [`validate_qdpx`]).
    pub fn qdpx(&self, name: &str) -> String {
        validate_qdpx(self.path(), &self.path().join(name))
    }
}

/// Stores the session; returns its id and its groups' ids.
pub async fn stored_session(store: &Store) -> (i64, Vec<i64>) {
    let (session, groups) = store
        .create_session(&NewSession {
            // 1970: long past any retention period (the purge tests count on it).
            created_at: 1_000,
            ..new_session(&[AgentRole::Moderator, AgentRole::None])
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
        audit: None,
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
        .set_moderation(g, 4, Moderation::Hidden, None, 9_000, None)
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
    assert_success(&lint);
    std::fs::read_to_string(&qde).unwrap()
}
