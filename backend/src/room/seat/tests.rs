//! The seat driven without a room: a recording room stands in for the actor, the fake engine
//! for the model, and each test checks the effects the seat asked for.

use super::*;

fn line(n: usize) -> Line {
    Line::named("Mia", format!("idea {n}"))
}

#[test]
fn the_prompt_window_drops_old_lines_in_halves_so_prompts_extend_each_other() {
    let mut lines = VecDeque::new();
    let mut drops = 0;
    for n in 0..100 {
        let before: Vec<Line> = lines.iter().cloned().collect();
        push_bounded(&mut lines, line(n), 16);
        assert!(
            lines.len() >= 16.min(n + 1) && lines.len() <= 32,
            "{}",
            lines.len()
        );
        assert_eq!(lines.back(), Some(&line(n)), "the newest line is always in");
        let now: Vec<Line> = lines.iter().cloned().collect();
        if now.starts_with(&before) {
            continue;
        }
        // Only at a drop does the window not extend the previous one.
        drops += 1;
        assert_eq!(now.len(), 16);
    }
    // 100 lines: drops at the 33rd, 50th, 67th and 84th; every other message only extends.
    assert_eq!(drops, 4);
}

// --- the seat driven by events, its effects recorded -----------------------------------------

use std::sync::Mutex;

use crate::agent::directives::Kind;
use crate::agent::reply_check::Rejection;
use crate::engine::fake::{FakeCall, FakeEngine};
use crate::protocol::ServerFrame;
use crate::room::post::Posted;
use crate::store::{Message, Moderation, SenderKind};

/// What the seat asked its room to do, in order. (A test record: its size does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    Frame(ServerFrame),
    /// A dashboard event, by kind ("agent", "decision"...).
    Publish(String),
    Post(String),
    Deliver {
        seq: i64,
        shown: bool,
    },
    Record(LogTrigger, LogDecision, Option<i64>),
    Directive(Kind, Option<i64>),
    Resolve(i64, Outcome),
    Notice(String),
}

/// A room that records what the seat asks of it; its post path holds what `holds` says.
struct RecordingRoom {
    running: bool,
    role: AgentRole,
    children: Vec<(i64, String)>,
    effects: Mutex<Vec<Effect>>,
    last_seq: i64,
    holds: fn(&str) -> bool,
    phase: Option<crate::activity::Phase>,
}

impl RecordingRoom {
    fn new(role: AgentRole) -> RecordingRoom {
        RecordingRoom {
            running: true,
            role,
            children: vec![(1, "Mia".into()), (2, "Leo".into())],
            effects: Mutex::new(Vec::new()),
            last_seq: 10,
            holds: |_| false,
            phase: None,
        }
    }

    fn effects(&self) -> Vec<Effect> {
        self.effects.lock().unwrap().clone()
    }

    fn push(&self, e: Effect) {
        self.effects.lock().unwrap().push(e);
    }

    fn decisions(&self) -> Vec<LogDecision> {
        self.effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Record(_, d, _) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// The text the group was shown, stream by stream: deltas joined, and each stream's end.
    fn shown(&self) -> Vec<(String, Option<i64>)> {
        let mut out = Vec::new();
        let mut current = String::new();
        for e in self.effects() {
            match e {
                Effect::Frame(ServerFrame::AgentStart { .. }) => current.clear(),
                Effect::Frame(ServerFrame::AgentDelta { text, .. }) => current.push_str(&text),
                Effect::Frame(ServerFrame::AgentEnd { seq, .. }) => {
                    out.push((std::mem::take(&mut current), seq))
                }
                _ => {}
            }
        }
        out
    }
}

impl SeatRoom for RecordingRoom {
    fn view(&self) -> RoomView<'_> {
        RoomView {
            group_id: 7,
            session_running: self.running,
            agent_name: "Blue",
            language: "en",
            role: self.role,
            children: self
                .children
                .iter()
                .map(|(id, n)| (*id, n.as_str()))
                .collect(),
            online: self.children.len(),
            activity: None,
            activity_title: "Playground",
            phase: self.phase.as_ref(),
            opening: false,
        }
    }

    fn agent_name(&self) -> &str {
        "Blue"
    }

    fn broadcast(&self, frame: ServerFrame) {
        self.push(Effect::Frame(frame));
    }

    fn publish(&self, event: crate::room::watch::WatchEvent) {
        let kind = serde_json::to_value(&event).unwrap()["type"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        self.push(Effect::Publish(kind));
    }

    async fn post(&mut self, text: &str, reply_to: Option<i64>, now_ms: i64) -> Option<Posted> {
        self.push(Effect::Post(text.to_string()));
        self.last_seq += 1;
        let hidden = (self.holds)(text);
        let screen = Screen::built_in();
        let message = Message {
            id: self.last_seq,
            group_id: 7,
            seq: self.last_seq,
            client_msg_id: format!("agent-{}", self.last_seq),
            sender_kind: SenderKind::Agent,
            sender_id: None,
            text: text.to_string(),
            phase: None,
            created_at: now_ms,
            reply_to,
            moderation: if hidden {
                Moderation::Hidden
            } else {
                Moderation::Visible
            },
            moderated_by: None,
            moderated_at: None,
            original_text: None,
            screen_action: if hidden { "hold" } else { "allow" }.into(),
            screen_category: None,
            screen_reason: None,
        };
        Some(Posted {
            message,
            duplicate: false,
            verdict: screen.check_agent(text, "en", ""),
            notice: None,
        })
    }

    async fn deliver(&mut self, posted: &Posted) {
        self.push(Effect::Deliver {
            seq: posted.message.seq,
            shown: posted.shown(),
        });
    }

    async fn record(&self, event: AgentEvent) {
        self.push(Effect::Record(
            event.trigger,
            event.decision,
            event.message_seq,
        ));
    }

    async fn store_directive(&self, kind: Kind, target: Option<i64>, _seq: i64, _now: i64) -> i64 {
        self.push(Effect::Directive(kind, target));
        99
    }

    async fn resolve_directive(&self, d: &Directive, outcome: Outcome, _now: i64) {
        self.push(Effect::Resolve(d.id, outcome));
    }

    async fn raise_notice(&self, kind: &str, _detail: &str, _now: i64) {
        self.push(Effect::Notice(kind.to_string()));
    }
}

fn seat_with(
    engine: FakeEngine,
    role: AgentRole,
) -> (AgentSeat, mpsc::Receiver<ReplyEvent>, Arc<FakeEngine>) {
    let engine = Arc::new(engine);
    let (seat, rx) = AgentSeat::new(
        engine.clone(),
        Screen::built_in(),
        AgentConfig::default(),
        SeatStart {
            group_id: 7,
            role,
            paused: false,
            topic: text::topic_words(&["design a playground with slides"]),
            history: &[],
            now_ms: 1_000,
        },
    );
    (seat, rx, engine)
}

/// Feeds the running reply's items to the seat until it is finished (and any retry too).
async fn run_reply(
    seat: &mut AgentSeat,
    room: &mut RecordingRoom,
    rx: &mut mpsc::Receiver<ReplyEvent>,
) {
    while seat.running.is_some() {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .expect("the reply finishes")
            .expect("the seat's reply channel stays open");
        seat.on_reply(room, ev).await;
    }
}

#[tokio::test]
async fn a_child_who_asks_the_agent_is_answered_streamed_stored_and_logged() {
    let engine = FakeEngine::new().with_replies(vec!["Slides are great, Leo. A tall one?".into()]);
    let (mut seat, mut rx, engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue do you like slides?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    // The group saw the reply as one stream that ends with its stored seq.
    assert_eq!(
        room.shown(),
        vec![("Slides are great, Leo. A tall one?".to_string(), Some(11))]
    );
    let effects = room.effects();
    assert!(effects.contains(&Effect::Post("Slides are great, Leo. A tall one?".into())));
    assert!(effects.contains(&Effect::Deliver {
        seq: 11,
        shown: true
    }));
    // Frames first, then delivery: the stream's end carries the seq before the message
    // reaches the dashboards.
    let end = effects
        .iter()
        .position(|e| matches!(e, Effect::Frame(ServerFrame::AgentEnd { .. })))
        .unwrap();
    let delivered = effects
        .iter()
        .position(|e| matches!(e, Effect::Deliver { .. }))
        .unwrap();
    assert!(end < delivered, "{effects:?}");
    assert_eq!(
        room.decisions().last(),
        Some(&LogDecision::Spoke(Intent::Answer))
    );
    assert!(effects.contains(&Effect::Record(
        Trigger::Addressed.into(),
        LogDecision::Spoke(Intent::Answer),
        Some(11)
    )));
    // The engine was warmed with the conversation, then asked for the reply, and the reply's
    // conversation extends the prefilled one (the prompt cache hits).
    let calls = engine.calls();
    let prefilled = calls.iter().find_map(|c| match c {
        FakeCall::Prefill { messages, .. } => Some(messages.clone()),
        _ => None,
    });
    let asked = engine.generate_requests();
    assert_eq!(asked.len(), 1);
    let prefilled = prefilled.expect("the child's message was prefilled");
    assert!(asked[0].messages.starts_with(&prefilled), "{asked:?}");
    // The dashboard heard the agent start and finish.
    assert!(effects.contains(&Effect::Publish("agent".into())));
}

/// The conversations the engine was asked to prefill, in order.
fn prefilled(engine: &FakeEngine) -> Vec<Vec<ChatMessage>> {
    engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            FakeCall::Prefill { messages, .. } => Some(messages),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_new_phase_and_a_new_child_only_add_to_what_the_engine_has_evaluated() {
    // The phase and the children are a note in the conversation, not in the system prompt:
    // a phase change used to make the engine evaluate the whole chat again (seconds).
    let (mut seat, _rx, engine) = seat_with(FakeEngine::new(), AgentRole::Moderator);
    let mut room = RecordingRoom::new(AgentRole::Moderator);
    room.running = false; // the agent listens only: no reply mixes into the prefills
    let phase = |name: &str| crate::activity::Phase {
        name: name.into(),
        goal: format!("the goal of {name}"),
        minutes: 5,
        moderator: format!("get everyone talking about {name}"),
    };
    room.phase = Some(phase("Warm-up"));
    seat.prefill(&room.view()); // as when the children joined
    seat.on_child_message(&mut room, 1, 11, "hi I like slides", 2_000)
        .await;
    room.phase = Some(phase("Ideas"));
    seat.on_phase(&mut room, Some(1), 3_000).await;
    seat.on_child_message(&mut room, 2, 12, "a wide slide", 4_000)
        .await;
    room.children.push((3, "Sam".into()));
    seat.on_child_message(&mut room, 1, 13, "a rope bridge", 5_000)
        .await;

    let p = prefilled(&engine);
    assert_eq!(p.len(), 5, "{p:?}");
    for pair in p.windows(2) {
        assert!(pair[1].starts_with(&pair[0]), "{pair:?}");
    }
    let last = p.last().unwrap();
    let notes: Vec<&str> = last[1..]
        .iter()
        .filter(|m| m.role == crate::engine::Role::System)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(notes.len(), 3, "{last:?}");
    assert!(
        notes[0].contains("Warm-up") && notes[1].contains("Ideas"),
        "{notes:?}"
    );
    assert!(
        notes[2].contains("Sam") && notes[2].contains("Ideas"),
        "{notes:?}"
    );
    // The system prompt is the session's: no phase, no child's name in it.
    assert!(!last[0].content.contains("Ideas") && !last[0].content.contains("Mia"));
}

#[tokio::test]
async fn children_joining_before_anyone_speaks_leave_one_note_not_one_each() {
    let (mut seat, _rx, engine) = seat_with(FakeEngine::new(), AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    room.children = vec![(1, "Mia".into())];
    seat.prefill(&room.view());
    room.children.push((2, "Leo".into()));
    seat.prefill(&room.view());
    let p = prefilled(&engine);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].len(), 2, "the system prompt and one note: {:?}", p[1]);
    assert!(p[1][1].content.contains("Leo, Mia"), "{:?}", p[1]);
    assert_eq!(p[0][0], p[1][0], "the system prompt did not change");
}

#[tokio::test]
async fn before_the_session_runs_the_seat_listens_and_asks_nothing() {
    let (mut seat, _rx, engine) = seat_with(FakeEngine::new(), AgentRole::Moderator);
    let mut room = RecordingRoom::new(AgentRole::Moderator);
    room.running = false;
    seat.on_child_message(&mut room, 1, 11, "Blue are you there?", 2_000)
        .await;
    seat.on_tick(&mut room, 90_000).await;
    assert!(engine.generate_requests().is_empty());
    assert!(room.effects().is_empty(), "{:?}", room.effects());
}

#[tokio::test]
async fn a_paused_agent_logs_the_pause_and_then_stays_silent_when_asked() {
    let (mut seat, _rx, engine) = seat_with(FakeEngine::new(), AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.command(&mut room, AgentCommand::Pause, 1_500).await;
    assert_eq!(
        room.effects().first(),
        Some(&Effect::Record(
            LogTrigger::Facilitator,
            LogDecision::Paused,
            None
        ))
    );
    seat.on_child_message(&mut room, 2, 11, "Blue what do you think?", 2_000)
        .await;
    assert!(engine.generate_requests().is_empty());
    assert_eq!(room.decisions().last(), Some(&LogDecision::Silent));
    assert!(room.shown().is_empty());
}

#[tokio::test]
async fn a_sentence_the_screen_refuses_is_never_shown_and_a_written_line_replaces_it() {
    let engine =
        FakeEngine::new().with_replies(vec!["Sure! Call me on 07700 900123 after school.".into()]);
    let (mut seat, mut rx, engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue can I call you?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    let shown = room.shown();
    assert!(
        shown.iter().all(|(text, _)| !text.contains("07700")),
        "{shown:?}"
    );
    assert!(room
        .effects()
        .iter()
        .all(|e| !matches!(e, Effect::Post(t) if t.contains("07700"))));
    // No second try (the same prompt may say it again): one request, a fallback line said.
    assert_eq!(engine.generate_requests().len(), 1);
    // Logged as the answer it became (its reason says a sentence failed the screen and a
    // written line was said), with the written line's seq.
    let (line, seq) = shown.last().expect("a written line was said");
    assert!(room.effects().contains(&Effect::Record(
        Trigger::Addressed.into(),
        LogDecision::Spoke(Intent::Answer),
        *seq
    )));
    assert!(!line.is_empty() && seq.is_some(), "{shown:?}");
}

#[tokio::test]
async fn a_whole_reply_the_post_path_holds_is_logged_held_and_a_written_line_is_said() {
    let engine = FakeEngine::new().with_replies(vec!["Slides are fun. I like the red one.".into()]);
    let (mut seat, mut rx, _engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    // The room's whole-reply screen holds what the sentence checks passed (e.g. a number
    // split over two sentences): here, the model's reply.
    room.holds = |text| text.contains("red one");
    seat.on_child_message(&mut room, 2, 11, "Blue do you like slides?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    let effects = room.effects();
    // Stored hidden, delivered as hidden (for the facilitator), its stream ended without a seq.
    assert!(effects.contains(&Effect::Deliver {
        seq: 11,
        shown: false
    }));
    let shown = room.shown();
    assert!(
        shown.iter().all(|(_, seq)| *seq != Some(11)),
        "the held reply never gets its seq: {shown:?}"
    );
    assert!(
        room.decisions().contains(&LogDecision::HeldUnsafe),
        "{:?}",
        room.decisions()
    );
    // A written line, stored and shown as a stream of its own.
    assert!(effects.contains(&Effect::Deliver {
        seq: 12,
        shown: true
    }));
    let (line, seq) = shown.last().unwrap();
    assert_eq!(*seq, Some(12));
    assert!(!line.contains("red one"));
}

#[tokio::test]
async fn a_reply_that_echoes_is_retried_once_then_answered() {
    let engine = FakeEngine::new().with_replies(vec![
        "Mia: I want slides".into(),
        "A slide shaped like a dragon, Leo!".into(),
    ]);
    let (mut seat, mut rx, engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue what slide should we build?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    assert_eq!(engine.generate_requests().len(), 2, "one retry");
    let decisions = room.decisions();
    assert!(
        decisions.contains(&LogDecision::Dropped(Rejection::Echo)),
        "{decisions:?}"
    );
    assert_eq!(decisions.last(), Some(&LogDecision::Spoke(Intent::Answer)));
    assert_eq!(
        room.shown().last(),
        Some(&("A slide shaped like a dragon, Leo!".to_string(), Some(11)))
    );
}

/// An engine whose every reply takes 500 ms to start: first a copy of the chat (refused as an
/// echo), then a good answer.
fn slow_echo_then_answer() -> FakeEngine {
    FakeEngine::new()
        .with_first_token_delay(std::time::Duration::from_millis(500))
        .with_replies(vec![
            "Mia: I want slides".into(),
            "A slide shaped like a dragon, Leo!".into(),
        ])
}

#[tokio::test]
async fn a_slow_refused_answer_is_replaced_by_a_written_line_at_once_not_retried() {
    // The first try takes 500 ms and copies the chat: a second try as long would show the
    // asker its first words after 1 s, past the 800 ms budget.
    let (mut seat, mut rx, engine) = seat_with(slow_echo_then_answer(), AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue what slide should we build?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    assert_eq!(engine.generate_requests().len(), 1, "no second try");
    assert_eq!(
        room.decisions(),
        vec![
            LogDecision::Dropped(Rejection::Echo),
            LogDecision::Spoke(Intent::Answer)
        ],
        "the refusal is logged as its own decision, then the written line"
    );
    let (line, seq) = room.shown().last().cloned().unwrap();
    assert_eq!(seq, Some(11));
    assert!(line.contains("Leo"), "the line names the asker: {line}");
    assert!(!line.contains("I want slides"), "{line}");
}

#[tokio::test]
async fn a_slow_answer_is_retried_when_the_budget_allows_it() {
    let (mut seat, mut rx, engine) = seat_with(slow_echo_then_answer(), AgentRole::Participant);
    seat.config.answer_within = std::time::Duration::from_secs(5);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue what slide should we build?", 2_000)
        .await;
    run_reply(&mut seat, &mut room, &mut rx).await;

    assert_eq!(engine.generate_requests().len(), 2, "one retry");
    assert_eq!(
        room.shown().last(),
        Some(&("A slide shaped like a dragon, Leo!".to_string(), Some(11)))
    );
}

#[tokio::test]
async fn a_reply_the_conversation_has_moved_past_is_dropped_not_shown_late() {
    let engine = FakeEngine::new()
        .with_first_token_delay(std::time::Duration::from_secs(3))
        .with_replies(vec!["Maybe a slide shaped like a rocket?".into()]);
    let (mut seat, _rx, engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.command(
        &mut room,
        AgentCommand::Whisper("suggest a slide".into()),
        1_500,
    )
    .await;
    assert_eq!(
        engine.generate_requests().len(),
        1,
        "the guidance is acted on"
    );
    for (i, text) in ["swings!", "no a zipline", "zipline yes"]
        .iter()
        .enumerate()
    {
        seat.on_child_message(&mut room, 1 + (i as i64 % 2), 11 + i as i64, text, 2_000)
            .await;
    }
    assert!(
        room.decisions().contains(&LogDecision::DroppedStale),
        "{:?}",
        room.decisions()
    );
    assert!(
        room.effects().contains(&Effect::Record(
            Trigger::Whisper.into(),
            LogDecision::DroppedStale,
            None
        )),
        "{:?}",
        room.effects()
    );
    assert!(
        !room.effects().iter().any(|e| matches!(
            e,
            Effect::Frame(ServerFrame::AgentStart { stream_id: 1, .. })
        )),
        "the dropped reply never started a stream"
    );
    assert!(engine
        .calls()
        .iter()
        .any(|c| matches!(c, FakeCall::Cancel(_))));
}

#[tokio::test]
async fn an_answer_is_said_however_many_messages_come_before_it() {
    let engine = FakeEngine::new()
        .with_first_token_delay(std::time::Duration::from_millis(300))
        .with_replies(vec!["Yes, Leo, slides for robots too!".into()]);
    let (mut seat, mut rx, _engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.on_child_message(&mut room, 2, 11, "Blue can robots play too?", 2_000)
        .await;
    for (i, text) in ["swings!", "no a zipline", "zipline yes", "ok"]
        .iter()
        .enumerate()
    {
        seat.on_child_message(&mut room, 1, 12 + i as i64, text, 2_100)
            .await;
    }
    run_reply(&mut seat, &mut room, &mut rx).await;
    assert!(!room.decisions().contains(&LogDecision::DroppedStale));
    assert_eq!(
        room.shown().first().map(|(t, _)| t.as_str()),
        Some("Yes, Leo, slides for robots too!")
    );
}

#[tokio::test]
async fn a_question_to_the_agent_goes_before_an_idea_it_has_not_shown_yet() {
    let engine = FakeEngine::new()
        .with_first_token_delay(std::time::Duration::from_millis(200))
        .with_replies(vec!["Slides for everyone, Leo!".into()]);
    let (mut seat, mut rx, engine) = seat_with(engine, AgentRole::Participant);
    let mut room = RecordingRoom::new(AgentRole::Participant);
    seat.note_online(1, "Mia", true, 1_000);
    seat.note_online(2, "Leo", true, 1_000);
    // A long lull: the participant offers an idea nobody asked for.
    seat.on_tick(&mut room, 60_000).await;
    assert_eq!(
        engine.generate_requests().len(),
        1,
        "{:?}",
        room.decisions()
    );
    // Before a word of it is shown, Leo asks the agent something.
    seat.on_child_message(&mut room, 2, 11, "Blue do you like slides?", 60_100)
        .await;
    assert!(
        room.effects().contains(&Effect::Record(
            Trigger::Silence.into(),
            LogDecision::Cancelled,
            None
        )),
        "the idea is set aside and logged: {:?}",
        room.effects()
    );
    assert_eq!(
        engine.generate_requests().len(),
        2,
        "the answer is asked for at once"
    );
    assert!(engine
        .calls()
        .iter()
        .any(|c| matches!(c, FakeCall::Cancel(_))));
    run_reply(&mut seat, &mut room, &mut rx).await;
    assert_eq!(
        room.shown(),
        vec![("Slides for everyone, Leo!".to_string(), Some(11))],
        "only the answer was shown"
    );
    assert_eq!(
        room.decisions().last(),
        Some(&LogDecision::Spoke(Intent::Answer))
    );
}
