//! The agent in a real room (actor, store, pipeline) with the deterministic FakeEngine: who
//! speaks when, what is stored and logged, the facilitator's commands.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::session::running_session;
use common::TestDb;
use peerlearn::activity::Catalog;
use peerlearn::agent::PolicyConfig;
use peerlearn::engine::fake::FakeEngine;
use peerlearn::engine::{build_engine, SharedEngine};
use peerlearn::metrics::Metrics;
use peerlearn::room::{
    Ack, AgentConfig, FacilitatorCommand, RoomConfig, RoomDeps, Rooms, SendRequest, Welcome,
};
use peerlearn::safety::classifier::Classifier;
use peerlearn::safety::Screen;
use peerlearn::simulate::{self, scenario};
use peerlearn::store::{self, AgentRole, SenderKind, Store};
use serde_json::Value;

const REPLY: &str = "That sounds fun. What could we add to our playground next?";

/// The moderator's written opening line for the playground (prompts/fallbacks/en.toml), said
/// when the model's own opening is refused.
const OPENING: &str = "Hi everyone, I'm Blue, an AI helper. Today we design: A playground \
                       everyone can play on. First, Warm-up: Everyone says hello and one thing \
                       they love doing at a playground.";

/// The facilitator's whisper in the pause test, and the fake model's reply to it.
const SECRET: &str = "ask them about colours for the ramp";
const WHISPERED: &str = "Which colours would make our ramp easy to see?";

fn fake() -> FakeEngine {
    FakeEngine::new().with_reply(|_| REPLY.to_string())
}

/// A moderator quick to invite a quiet child, which never breaks a silence by itself.
const INVITING: &str = "[policy]
quiet_child_ms = 1500
invite_cooldown_ms = 1000
min_gap_ms = 200
silence_ms = 60000";

/// Mia's two ideas, early in a scenario: Sam, the other child, has said nothing yet.
const MIA_TALKS: &str = r#"[[timeline]]
at = 0.5
child = "Mia"
text = "I want a big slide"
[[timeline]]
at = 1.5
child = "Mia"
text = "and swings for everyone"
"#;

/// A fake model that always says `reply`, a token every `token_delay`.
fn streaming(reply: &'static str, token_delay: Duration) -> Arc<FakeEngine> {
    Arc::new(
        FakeEngine::new()
            .with_reply(move |_| reply.to_string())
            .with_token_delay(token_delay),
    )
}

fn scenario(text: &str) -> simulate::Scenario {
    scenario::parse("test", text, "test.toml", &Catalog::built_in()).expect("valid scenario")
}

async fn simulate(text: &str, engine: FakeEngine) -> simulate::Report {
    let engine: SharedEngine = Arc::new(engine);
    simulate::run(&scenario(text), Arc::new(Catalog::built_in()), Some(engine))
        .await
        .expect("simulation runs")
}

#[tokio::test]
async fn an_ignored_invitation_is_escalated_once_then_flagged() {
    let report = simulate(
        &format!(
            r#"
activity = "playground"
agent_role = "moderator"
duration_s = 7
minute_s = 30
directive_window_s = 1.5
{INVITING}
[[children]]
nickname = "Mia"
[[children]]
nickname = "Sam"
behaviour = "ignores_agent"
{MIA_TALKS}"#
        ),
        fake(),
    )
    .await;
    assert!(
        report.agent_messages >= 3,
        "opening, invitation, escalation: {report:?}"
    );
    assert!(report.invitations >= 1, "{report:?}");
    assert!(report.escalations >= 1, "{report:?}");
    assert!(
        report.flags >= 1,
        "an ignored directive is flagged: {report:?}"
    );
    assert_eq!(report.invited_children_who_then_spoke, 0);
    assert!(
        report
            .decisions
            .keys()
            .any(|k| k.ends_with(":directive_ignored")),
        "{:?}",
        report.decisions
    );
}

#[tokio::test]
async fn an_invited_child_who_answers_counts_as_followed() {
    let report = simulate(
        &format!(
            r#"
activity = "playground"
agent_role = "moderator"
duration_s = 6
minute_s = 30
directive_window_s = 3
{INVITING}
[[children]]
nickname = "Mia"
[[children]]
nickname = "Sam"
behaviour = "quiet"
answers_when_named = "a quiet corner please"
answer_delay_s = 0.3
{MIA_TALKS}"#
        ),
        // The fake names whoever the instruction is about, like a real invitation would.
        FakeEngine::new().with_reply(|req| {
            let last = &req.messages.last().unwrap().content;
            if last.contains("Sam") {
                "Sam, what would you like to add?".into()
            } else {
                REPLY.into()
            }
        }),
    )
    .await;
    assert!(report.invitations >= 1, "{report:?}");
    assert_eq!(report.invited_children_who_then_spoke, 1, "{report:?}");
    assert!(report.directives_followed >= 1, "{report:?}");
    assert_eq!(report.flags, 0, "{report:?}");
}

#[tokio::test]
async fn every_message_that_names_the_agent_is_answered() {
    let report = simulate(
        r#"
activity = "playground"
agent_role = "participant"
duration_s = 4
minute_s = 30
[policy]
min_gap_ms = 200
[[children]]
nickname = "Mia"
[[children]]
nickname = "Leo"
[[timeline]]
at = 0.3
child = "Mia"
text = "Blue what do you like?"
[[timeline]]
at = 0.4
child = "Leo"
text = "@blue are you a robot?"
[[timeline]]
at = 1.5
child = "Mia"
text = "I like blueberries"
"#,
        fake().with_token_delay(Duration::from_millis(20)),
    )
    .await;
    assert_eq!(report.addressed_replies, 2, "{report:?}");
    assert_eq!(report.addressed_unanswered, 0, "{report:?}");
    assert_eq!(
        report.agent_messages, 2,
        "a participant does not announce phases: {report:?}"
    );
    assert!(report.reply_ms_p95.is_some());
}

#[tokio::test]
async fn a_control_group_gets_no_agent_but_runs_its_phases() {
    let report = simulate(
        r#"
activity = "playground"
agent_role = "none"
duration_s = 2.5
minute_s = 0.5
[[children]]
nickname = "Mia"
[[timeline]]
at = 0.2
child = "Mia"
text = "Blue are you there?"
"#,
        fake(),
    )
    .await;
    assert_eq!(report.agent_messages, 0);
    assert!(report.phases_completed >= 1, "{report:?}");
}

/// A room over a fresh SQLite store with `engine`, and one running group with two children.
/// The entry a facilitator's command for group `g` carries.
fn audited(action: &str, g: i64) -> store::NewAudit {
    common::audit_entry(1, action, g, store::now_ms())
}

async fn room(
    engine: Arc<FakeEngine>,
    role: AgentRole,
) -> (Rooms, Store, i64, Vec<store::Participant>, TestDb) {
    room_with(engine, role, None).await
}

/// [`room`] with a safety classifier behind the rules.
async fn room_with(
    engine: Arc<FakeEngine>,
    role: AgentRole,
    classifier: Option<Classifier>,
) -> (Rooms, Store, i64, Vec<store::Participant>, TestDb) {
    let db = common::sqlite().await;
    let store = db.store().await;
    let (_, groups) = running_session(&store, &[role]).await;
    let g = groups[0].id;
    let mut kids = Vec::new();
    for (i, n) in ["Mia", "Leo"].iter().enumerate() {
        kids.push(
            store
                .add_participant(g, n, "🙂", &format!("c{i}"), store::now_ms())
                .await
                .unwrap(),
        );
    }
    let engine: SharedEngine = engine;
    let rooms = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        activities: Arc::new(Catalog::built_in()),
        screen: Screen::built_in(),
        classifier,
        engine: Some(engine),
        config: RoomConfig {
            tick: Duration::from_millis(50),
            agent: AgentConfig {
                policy: PolicyConfig {
                    min_gap_ms: 100,
                    ..PolicyConfig::default()
                },
                ..AgentConfig::default()
            },
            ..RoomConfig::default()
        },
        watch: Arc::default(),
    });
    (rooms, store, g, kids, db)
}

/// The decisions the agent logged in group `g`, in order.
async fn decisions(store: &Store, g: i64) -> Vec<String> {
    store
        .agent_events(g)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.decision.to_string())
        .collect()
}

/// Says hello for `kid`; the welcome and the room's frames from then on.
async fn hello(rooms: &Rooms, g: i64, kid: &store::Participant) -> Welcome {
    rooms
        .hello(g, rooms.connection_id(), kid.clone(), 0)
        .await
        .unwrap()
}

/// Stores a message of `kid` through the room's pipeline.
async fn say(rooms: &Rooms, g: i64, kid: &store::Participant, id: &str, text: &str) -> Ack {
    rooms
        .send_message(
            g,
            SendRequest {
                participant_id: kid.id,
                client_msg_id: id.into(),
                text: text.into(),
                reply_to: None,
            },
        )
        .await
        .unwrap()
}

async fn next_frame(
    rx: &mut tokio::sync::broadcast::Receiver<peerlearn::room::Outbound>,
    kind: &str,
) -> Value {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let out = rx.recv().await.expect("room stream");
            let v: Value = serde_json::from_str(out.json.as_str()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} frame"))
}

#[tokio::test]
async fn the_moderator_opens_with_the_phase_and_a_stored_streamed_reply() {
    let engine = Arc::new(fake());
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Moderator).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let welcome: Value = serde_json::from_str(w.welcome.as_str()).unwrap();
    let mut rx = w.events;
    // The first child starts the activity: the phase frame, then the moderator's opening.
    let phase = next_frame(&mut rx, "phase").await;
    assert_eq!(phase["name"], "Warm-up");
    let start = next_frame(&mut rx, "agent_start").await;
    assert_eq!(start["name"], "Blue");
    let end = next_frame(&mut rx, "agent_end").await;
    let seq = end["seq"].as_i64().expect("the stored reply's seq");
    let msg = next_frame(&mut rx, "message").await;
    assert_eq!(msg["seq"], seq);
    assert_eq!(msg["sender"]["kind"], "agent");
    assert_eq!(msg["text"], REPLY);
    assert_eq!(msg["phase"], "Warm-up");
    let _ = welcome;
    // A second child sees the running phase in their welcome.
    let w2 = hello(&rooms, g, &kids[1]).await;
    let welcome2: Value = serde_json::from_str(w2.welcome.as_str()).unwrap();
    assert_eq!(welcome2["phase"]["name"], "Warm-up");
    // The reply is logged with its prompt version and model.
    let events = store.agent_events(g).await.unwrap();
    let spoken = events
        .iter()
        .find(|e| e.message_seq == Some(seq))
        .expect("logged");
    assert_eq!(spoken.trigger, "phase_timer");
    assert_eq!(spoken.decision, "announce_phase");
    assert!(spoken
        .prompt_version
        .as_deref()
        .unwrap()
        .starts_with("moderator-"));
    assert_eq!(spoken.model.as_deref(), Some("fake-model"));
    assert!(spoken.total_ms.is_some() && spoken.generated_tokens.is_some());
    // Children's messages are prefilled eagerly and their decisions logged, silent ones too.
    let ack = say(&rooms, g, &kids[0], "m1", "a slide for all").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(engine
        .calls()
        .iter()
        .any(|c| matches!(c, peerlearn::engine::fake::FakeCall::Prefill { .. })));
    let events = store.agent_events(g).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.trigger == "message" && e.decision == "silent"),
        "{events:?}"
    );
    let stored = store.message(g, ack.seq).await.unwrap();
    assert_eq!(stored.phase.as_deref(), Some("Warm-up"));
}

#[tokio::test]
async fn pausing_cancels_a_running_reply_and_whispers_stay_private() {
    // The whisper's reply differs from the others: the agent refuses to say the same thing
    // twice, and an answer to the "Blue?" asked while paused may come first (with no written
    // line for following guidance, a repeat would leave the agent silent).
    let engine = Arc::new(
        FakeEngine::new()
            .with_reply(|r| {
                if r.messages.iter().any(|m| m.content.contains(SECRET)) {
                    WHISPERED.to_string()
                } else {
                    REPLY.to_string()
                }
            })
            .with_token_delay(Duration::from_millis(150)),
    );
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Participant).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let mut rx = w.events;
    say(&rooms, g, &kids[0], "m1", "Blue, help!").await;
    next_frame(&mut rx, "agent_start").await;
    rooms
        .facilitator(
            g,
            FacilitatorCommand::PauseAgent {
                audit: audited("pause_agent", g),
            },
        )
        .await
        .unwrap();
    let end = next_frame(&mut rx, "agent_end").await;
    assert!(
        end["seq"].is_null(),
        "a cancelled reply is not stored: {end}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let agent_messages = |ms: Vec<store::Message>| {
        ms.into_iter()
            .filter(|m| m.sender_kind == SenderKind::Agent)
            .count()
    };
    assert_eq!(
        agent_messages(store.messages_after(g, 0, 100).await.unwrap()),
        0
    );
    let events = store.agent_events(g).await.unwrap();
    assert!(
        events.iter().any(|e| e.decision == "cancelled"),
        "{events:?}"
    );
    // Paused: even being addressed gets no reply.
    say(&rooms, g, &kids[0], "m2", "Blue?").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        agent_messages(store.messages_after(g, 0, 100).await.unwrap()),
        0
    );
    // Resumed, a whisper makes the agent act on it; the whisper's words reach only the model.
    rooms
        .facilitator(
            g,
            FacilitatorCommand::ResumeAgent {
                audit: audited("resume_agent", g),
            },
        )
        .await
        .unwrap();
    let secret = SECRET;
    rooms
        .facilitator(
            g,
            FacilitatorCommand::Whisper {
                text: secret.into(),
                audit: audited("whisper", g),
            },
        )
        .await
        .unwrap();
    // The question asked while paused ("Blue?") may be answered first, once resumed; the
    // whisper's reply then comes after it. Wait for the agent message that follows the request
    // carrying the whisper (the test was flaky when it took the first agent message).
    let whispered = |engine: &FakeEngine| {
        engine
            .generate_requests()
            .iter()
            .any(|r| r.messages.iter().any(|m| m.content.contains(secret)))
    };
    let mut frames = Vec::new();
    let msg = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let out = rx.recv().await.unwrap();
            frames.push(out.json.to_string());
            let v: Value = serde_json::from_str(out.json.as_str()).unwrap();
            if v["type"] == "message" && v["sender"]["kind"] == "agent" && whispered(&engine) {
                return v;
            }
        }
    })
    .await
    .expect("the agent follows the whisper");
    assert_eq!(msg["text"], WHISPERED);
    assert!(frames.iter().all(|f| !f.contains(secret)), "{frames:?}");
    assert!(whispered(&engine), "the whisper reached the model");
    let audit: Vec<String> = store
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(audit, ["pause_agent", "resume_agent", "whisper"]);
}

#[tokio::test]
async fn the_facilitator_extends_and_skips_phases() {
    let (rooms, _store, g, kids, _dir) = room(Arc::new(fake()), AgentRole::None).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let mut rx = w.events;
    let first = next_frame(&mut rx, "phase").await;
    rooms
        .facilitator(
            g,
            FacilitatorCommand::ExtendPhase {
                minutes: 2,
                audit: audited("extend_phase", g),
            },
        )
        .await
        .unwrap();
    let extended = next_frame(&mut rx, "phase").await;
    assert_eq!(extended["index"], 0);
    assert_eq!(
        extended["ends_at_ms"].as_i64().unwrap() - first["ends_at_ms"].as_i64().unwrap(),
        120_000
    );
    rooms
        .facilitator(
            g,
            FacilitatorCommand::SkipPhase {
                audit: audited("skip_phase", g),
            },
        )
        .await
        .unwrap();
    let next = next_frame(&mut rx, "phase").await;
    assert_eq!(next["index"], 1);
    assert_eq!(next["name"], "Ideas");
}

#[tokio::test]
async fn a_worthless_reply_is_dropped_and_retried_once() {
    // The first reply is refused, the retry is good; each refusal is its own decision. The
    // model copies its instruction (tiny models do), answers another child than the one who
    // asked (Mia), or writes Spanish in an English session.
    for (worthless, dropped) in [
        ("(Teacher, only you see this) answer them", "dropped_echo"),
        (
            "Leo, slides are great fun for everyone on the playground!",
            "dropped_wrong_child",
        ),
        (
            "¡Sí! Los toboganes son muy divertidos para todos nosotros en el parque.",
            "dropped_wrong_language",
        ),
    ] {
        let engine = Arc::new(
            FakeEngine::new().with_replies(vec![worthless.to_string(), REPLY.to_string()]),
        );
        let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Participant).await;
        let w = hello(&rooms, g, &kids[0]).await;
        let mut rx = w.events;
        say(&rooms, g, &kids[0], "m1", "hi Blue").await;
        let start = next_frame(&mut rx, "agent_start").await;
        assert_eq!(start["reply_to"], 1);
        let msg = next_frame(&mut rx, "message").await;
        assert_eq!(msg["text"], REPLY, "after {worthless}");
        assert_eq!(msg["reply_to"], 1);
        assert_eq!(engine.generate_requests().len(), 2);
        // The event is logged right after the broadcast.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let decisions = decisions(&store, g).await;
        assert!(decisions.contains(&dropped.to_string()), "{decisions:?}");
        assert!(decisions.contains(&"answer".to_string()), "{decisions:?}");
    }
}

#[tokio::test]
async fn when_the_retry_is_worthless_too_a_written_fallback_line_answers() {
    // Both attempts copy a child's line or the instruction: the child still gets an answer,
    // a line from prompts/fallbacks/en.toml, and the log says so.
    let engine = Arc::new(FakeEngine::new().with_replies(vec![
        "Mia: hi Blue".into(),
        "(Teacher, only you see this) answer them".into(),
    ]));
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Participant).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let mut rx = w.events;
    say(
        &rooms,
        g,
        &kids[0],
        "m1",
        "hi Blue, what is your favourite thing?",
    )
    .await;
    let start = next_frame(&mut rx, "agent_start").await;
    assert_eq!(start["reply_to"], 1);
    let msg = next_frame(&mut rx, "message").await;
    assert_eq!(
        msg["text"],
        "Good question, Mia! I am not sure. What do you think?"
    );
    assert_eq!(msg["reply_to"], 1);
    assert_eq!(engine.generate_requests().len(), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = store.agent_events(g).await.unwrap();
    let said = events
        .iter()
        .find(|e| e.message_seq == Some(2))
        .expect("the fallback's event");
    assert_eq!(said.decision, "answer");
    assert!(
        said.prompt_version
            .as_deref()
            .is_some_and(|v| v.starts_with("fallback-en-")),
        "{said:?}"
    );
    assert!(said.reason.contains("fallback line"), "{said:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.decision == "dropped_echo")
            .count(),
        1,
        "the first attempt is logged as dropped, the second became the fallback"
    );
}

#[tokio::test]
async fn an_off_topic_opening_is_never_shown_and_the_phase_is_announced_anyway() {
    // Tiny models wander off ("what's a fun adventure?") or take a name ("I'm Emily"). Such a
    // reply for the whole group is held back, refused and retried; then a written line.
    let engine = Arc::new(FakeEngine::new().with_replies(vec![
        "If you are ready to explore the world with me, what is a fun adventure today?".into(),
        "Hello friends, I'm Emily and I will be your buddy today!".into(),
    ]));
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Moderator).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let mut rx = w.events;
    // Every frame up to the stored message: no refused words among them.
    let (frames, msg) = frames_until_message(&mut rx).await;
    for f in frames.iter().chain([&msg]) {
        let json = f.to_string();
        assert!(
            !json.contains("adventure") && !json.contains("Emily"),
            "a refused reply reached the children: {json}"
        );
    }
    assert_eq!(msg["text"], OPENING);
    assert_eq!(engine.generate_requests().len(), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let decisions = decisions(&store, g).await;
    assert!(
        decisions.contains(&"dropped_off_topic".to_string())
            && decisions.contains(&"announce_phase".to_string()),
        "{decisions:?}"
    );
    // Neither refused reply reached the children: the only agent message is the line.
    let stored = store.messages_after(g, 0, 100).await.unwrap();
    let agent: Vec<&str> = stored
        .iter()
        .filter(|m| m.sender_kind == SenderKind::Agent)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(agent.len(), 1, "{agent:?}");
}

/// A server restart (or a room whose actor stopped while everyone was away) carries on with
/// the group's phase and timer instead of starting the activity again.
#[tokio::test]
async fn the_phase_clock_survives_a_restart() {
    let (rooms, store, g, kids, _dir) = room(Arc::new(fake()), AgentRole::None).await;
    let w = hello(&rooms, g, &kids[0]).await;
    let mut rx = w.events;
    assert_eq!(next_frame(&mut rx, "phase").await["index"], 0);
    rooms
        .facilitator(
            g,
            FacilitatorCommand::SkipPhase {
                audit: audited("skip_phase", g),
            },
        )
        .await
        .unwrap();
    let second = next_frame(&mut rx, "phase").await;
    assert_eq!(second["index"], 1);
    drop(rx);

    // A new registry over the same database, as after a restart.
    let restarted = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        activities: Arc::new(Catalog::built_in()),
        screen: Screen::built_in(),
        classifier: None,
        engine: None,
        config: RoomConfig::default(),
        watch: Arc::default(),
    });
    let w = restarted
        .hello(g, restarted.connection_id(), kids[0].clone(), 0)
        .await
        .unwrap();
    let welcome: Value = serde_json::from_str(w.welcome.as_str()).unwrap();
    assert_eq!(welcome["phase"]["index"], 1, "{welcome}");
    assert_eq!(welcome["phase"]["ends_at_ms"], second["ends_at_ms"]);
    let saved = store.group(g).await.unwrap();
    assert_eq!((saved.phase_index, saved.phases_completed), (Some(1), 1));
}

/// No frame carries `secret` (`what` says what it would have been).
fn never_shown(frames: &[Value], secret: &str, what: &str) {
    for f in frames {
        assert!(
            !f.to_string().contains(secret),
            "{what} reached the children: {f}"
        );
    }
}

/// Whether a reply was taken back: it ended without a stored message.
fn taken_back(frames: &[Value]) -> bool {
    frames
        .iter()
        .any(|f| f["type"] == "agent_end" && f["seq"].is_null())
}

/// The agent's logged event for a reply the safety screen refused (the log is written right
/// after the broadcast: it is given a moment).
async fn screen_refusal(store: &Store, g: i64) -> store::AgentEvent {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = store.agent_events(g).await.unwrap();
    events
        .into_iter()
        .find(|e| e.reason.contains("safety screen"))
        .expect("the refusal is logged")
}

/// Every frame the room sends until its first stored `message`, and that message.
async fn frames_until_message(
    rx: &mut tokio::sync::broadcast::Receiver<peerlearn::room::Outbound>,
) -> (Vec<Value>, Value) {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = Vec::new();
        loop {
            let out = rx.recv().await.expect("room stream");
            let v: Value = serde_json::from_str(out.json.as_str()).unwrap();
            if v["type"] == "message" {
                return (seen, v);
            }
            seen.push(v);
        }
    })
    .await
    .expect("a stored message")
}

#[tokio::test]
async fn a_reply_streams_sentence_by_sentence_once_each_has_passed_the_screen() {
    let reply = "A big slide sounds fun for the playground. What could we add next?";
    let engine = streaming(reply, Duration::from_millis(20));
    let (rooms, _store, g, kids, _dir) = room(engine, AgentRole::Moderator).await;
    let mut rx = hello(&rooms, g, &kids[0]).await.events;
    let (frames, msg) = frames_until_message(&mut rx).await;
    let deltas: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "agent_delta")
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    // Whole sentences only, the first one as soon as it was complete (before the second).
    assert_eq!(
        deltas,
        [
            "A big slide sounds fun for the playground.",
            " What could we add next?"
        ]
    );
    assert_eq!(msg["text"], reply);
}

#[tokio::test]
async fn an_unsafe_sentence_ends_the_reply_and_a_written_safe_line_replaces_it() {
    // The model's second sentence carries an email address: the agent must never say one.
    let engine = streaming(
        "Welcome to our playground design! Write to me at blue.bot@gmail.com with ideas. \
         Let's start.",
        Duration::from_millis(10),
    );
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Moderator).await;
    let mut rx = hello(&rooms, g, &kids[0]).await.events;
    let (frames, msg) = frames_until_message(&mut rx).await;
    never_shown(&frames, "gmail", "an unsafe sentence");
    // The sentence that had passed was shown, then taken back with the rest of the reply.
    let first = frames
        .iter()
        .find(|f| f["type"] == "agent_delta")
        .expect("the first sentence streamed");
    assert_eq!(first["text"], "Welcome to our playground design!");
    assert!(
        taken_back(&frames),
        "the refused reply is taken back: {frames:?}"
    );
    // A written line (the opening's) is said instead, with no second try of the model.
    assert_eq!(msg["text"], OPENING);
    assert_eq!(engine.generate_requests().len(), 1);
    let refused = screen_refusal(&store, g).await;
    assert!(refused.reason.contains("written safe line"), "{refused:?}");
    // Nothing unsafe was stored as the agent's, visible or not.
    for m in store.messages_after(g, 0, 100).await.unwrap() {
        assert!(!m.text.contains("gmail"), "{m:?}");
    }
}

#[tokio::test]
async fn the_agent_never_hears_a_held_message_or_a_redacted_original() {
    let engine = Arc::new(fake());
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Participant).await;
    let _w = hello(&rooms, g, &kids[0]).await;
    say(&rooms, g, &kids[0], "p1", "my email is mia.jones@gmail.com").await;
    say(&rooms, g, &kids[0], "p2", "you're ugly Leo").await;
    say(&rooms, g, &kids[0], "p3", "I want to die").await;
    say(
        &rooms,
        g,
        &kids[0],
        "p4",
        "Blue what do you think about a slide?",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = engine.generate_requests();
    assert!(!requests.is_empty(), "the agent answered the question");
    for r in &requests {
        let prompt: String = r.messages.iter().map(|m| m.content.as_str()).collect();
        assert!(
            !prompt.contains("mia.jones")
                && !prompt.contains("ugly")
                && !prompt.contains("want to die"),
            "the agent saw what the group never saw: {prompt}"
        );
        assert!(prompt.contains("my email is [hidden]"), "{prompt}");
    }
    for c in engine.calls() {
        assert!(!format!("{c:?}").contains("mia.jones"), "{c:?}");
    }
    // The store keeps the originals for the facilitator.
    let stored = store.messages_after(g, 0, 100).await.unwrap();
    let email = stored.iter().find(|m| m.client_msg_id == "p1").unwrap();
    assert_eq!(email.text, "my email is [hidden]");
    assert_eq!(
        email.original_text.as_deref(),
        Some("my email is mia.jones@gmail.com")
    );
}

/// A fake Llama Guard that answers `verdict` after `delay`.
fn guard(verdict: &'static str, delay: Duration) -> Classifier {
    let engine: SharedEngine = Arc::new(
        FakeEngine::new()
            .with_reply(move |_| verdict.to_string())
            .with_first_token_delay(delay),
    );
    Classifier::new(engine, Duration::from_millis(300))
}

#[tokio::test]
async fn the_classifier_makes_a_verdict_stricter_never_milder() {
    let (rooms, store, g, kids, _dir) = room_with(
        Arc::new(fake()),
        AgentRole::None,
        Some(guard("unsafe\nS11", Duration::ZERO)),
    )
    .await;
    let _w = hello(&rooms, g, &kids[0]).await;
    // The rules let it through; Llama Guard calls it self-harm: urgent, hidden.
    let ack = say(&rooms, g, &kids[0], "c1", "everything is pointless lately").await;
    let m = store.message(g, ack.seq).await.unwrap();
    assert_eq!(m.screen_action, "urgent");
    assert_eq!(m.moderation, store::Moderation::Hidden);
}

#[tokio::test]
async fn a_classifier_that_says_safe_does_not_lift_the_rules_hold() {
    let (rooms, store, g, kids, _dir) = room_with(
        Arc::new(fake()),
        AgentRole::None,
        Some(guard("safe", Duration::ZERO)),
    )
    .await;
    let _w = hello(&rooms, g, &kids[0]).await;
    let ack = say(&rooms, g, &kids[0], "c2", "you're ugly").await;
    assert_eq!(
        store.message(g, ack.seq).await.unwrap().screen_action,
        "hold"
    );
}

#[tokio::test]
async fn a_slow_or_confused_classifier_leaves_the_rules_verdict() {
    for classifier in [
        guard("unsafe\nS1", Duration::from_secs(5)),
        guard("I think this is fine", Duration::ZERO),
    ] {
        let (rooms, store, g, kids, _dir) =
            room_with(Arc::new(fake()), AgentRole::None, Some(classifier)).await;
        let _w = hello(&rooms, g, &kids[0]).await;
        let ack = say(&rooms, g, &kids[0], "c3", "a slide with a ramp").await;
        let m = store.message(g, ack.seq).await.unwrap();
        assert_eq!(m.screen_action, "allow");
        assert_eq!(m.moderation, store::Moderation::Visible);
        let ack = say(&rooms, g, &kids[0], "c4", "my email is mia.jones@gmail.com").await;
        assert_eq!(
            store.message(g, ack.seq).await.unwrap().screen_action,
            "redact"
        );
    }
}

/// The same seam with a real engine: Llama Guard's prompt through llama.cpp on the Llama 3
/// test model (Meta's tokenizer and template, random weights, scripts/make-test-models.py).
/// Its answer is no verdict, so every message keeps the rules' verdict, each within the wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_classifier_that_gives_no_verdict_leaves_the_rules_verdict() {
    let model = common::engine::family_model("PEERLEARN_TEST_LLAMA3_MODEL");
    let engine = build_engine(&common::engine::config_for(&model, 1, 1024)).unwrap();
    let wait = Duration::from_secs(5);
    let (rooms, store, g, kids, _dir) = room_with(
        Arc::new(fake()),
        AgentRole::None,
        Some(Classifier::new(engine, wait)),
    )
    .await;
    let _w = hello(&rooms, g, &kids[0]).await;
    for (id, text, action) in [
        ("r1", "a slide with a ramp", "allow"),
        ("r2", "you're ugly", "hold"),
        ("r3", "my email is mia.jones@gmail.com", "redact"),
    ] {
        let started = std::time::Instant::now();
        let ack = say(&rooms, g, &kids[0], id, text).await;
        assert!(started.elapsed() < wait, "{text}: {:?}", started.elapsed());
        let m = store.message(g, ack.seq).await.unwrap();
        assert_eq!(m.screen_action, action, "{text}");
    }
}

#[tokio::test]
async fn shutting_down_cancels_a_running_reply_and_stores_none_of_it() {
    let engine = Arc::new(fake().with_token_delay(Duration::from_millis(200)));
    let (rooms, store, g, kids, _dir) = room(engine, AgentRole::Moderator).await;
    let mut rx = hello(&rooms, g, &kids[0]).await.events;
    // The opening is streaming (its first sentence takes a while at this pace).
    next_frame(&mut rx, "phase").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(Duration::from_secs(5), rooms.shutdown())
        .await
        .expect("every room ends");
    let stored = store.messages_after(g, 0, 100).await.unwrap();
    assert!(
        stored.iter().all(|m| m.sender_kind != SenderKind::Agent),
        "a half reply was stored: {stored:?}"
    );
    // No room starts once the server is stopping.
    assert!(rooms
        .hello(g, rooms.connection_id(), kids[1].clone(), 0)
        .await
        .is_err());
}

#[tokio::test]
async fn sentences_are_judged_with_the_ones_before_them() {
    // Each sentence alone passes; together they spell a phone number. A sentence is judged
    // with the ones before it, so the number's end is never shown; the opening line is said.
    let engine = streaming(
        "Welcome to our playground design! Call 07700. 900123 is the rest.",
        Duration::from_millis(10),
    );
    let (rooms, store, g, kids, _dir) = room(engine.clone(), AgentRole::Moderator).await;
    let mut rx = hello(&rooms, g, &kids[0]).await.events;
    let (frames, msg) = frames_until_message(&mut rx).await;
    never_shown(&frames, "900123", "the number's end");
    assert!(
        taken_back(&frames),
        "what was shown of the held reply is taken back: {frames:?}"
    );
    assert_eq!(msg["text"], OPENING);
    let refused = screen_refusal(&store, g).await;
    assert!(refused.reason.contains("personal data"), "{refused:?}");
    // Only the written line is stored as the agent's; nothing with the number.
    let stored = store.messages_after(g, 0, 100).await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored.iter().all(|m| !m.text.contains("900123")));
}
