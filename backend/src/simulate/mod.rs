//! `peerlearn simulate`: a classroom session with scripted children, run in a real room (the
//! same actor, pipeline, store and engine as in a classroom, through the Rooms API) against a
//! fresh SQLite database, then measured from what was stored.
//!
//! The timeline may run faster than real time (`speedup`); the phase timers, the agent's
//! timers and the model's latency are real, so what is measured is what children would see.

pub mod report;
pub mod scenario;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::activity::Catalog;
use crate::config::{DatabaseKind, DatabaseSettings};
use crate::engine::SharedEngine;
use crate::metrics::Metrics;
use crate::room::{AgentConfig, RoomConfig, RoomDeps, RoomError, Rooms, SendRequest};
use crate::store::{self, LogTrigger, NewGroup, NewSession, Participant, Store};

pub use report::Report;
pub use scenario::Scenario;

/// Runs `scenario` with `engine` (None: no agent at all) and returns its report.
pub async fn run(
    scenario: &Scenario,
    catalog: Arc<Catalog>,
    engine: Option<SharedEngine>,
) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let settings = DatabaseSettings {
        url: format!("sqlite://{}", dir.path().join("simulate.db").display()),
        kind: DatabaseKind::Sqlite,
        connect_timeout: Duration::from_secs(5),
    };
    let store = Store::connect(&settings).await?;
    let (session, groups) = store
        .create_session(&NewSession {
            facilitator_id: None,
            activity_id: scenario.activity.clone(),
            language: scenario.language.clone(),
            agent_name: scenario.agent_name.clone(),
            groups: vec![NewGroup {
                name: "Simulated group".into(),
                agent_role: scenario.agent_role,
            }],
            created_at: store::now_ms(),
            phase_minutes: None,
            safety_level: "standard".into(),
        })
        .await?;
    // Without a lobby the scenario plays a session the facilitator started before anyone
    // joined; with one, the children join first and Start comes after (below).
    if scenario.lobby_s <= 0.0 {
        store
            .set_session_status(session.id, store::SessionStatus::Running, store::now_ms())
            .await?;
    }
    let group = groups
        .into_iter()
        .next()
        .context("the session has no group")?;
    let tick = Duration::from_millis(250);
    let config = RoomConfig {
        tick,
        minute_ms: (scenario.minute_s * 1000.0) as i64,
        rate_limit: 50,
        agent: AgentConfig {
            policy: scenario.policy.clone(),
            directive_window_ms: (scenario.directive_window_s * 1000.0) as i64,
            ..AgentConfig::default()
        },
        ..RoomConfig::default()
    };
    let phases_in_activity = catalog
        .get(&scenario.activity)
        .map_or(0, |a| a.phases.len());
    let engine_errors_at_start = engine.clone().map(|e| {
        let errors = e.metrics().snapshot().errors;
        (e, errors)
    });
    let rooms = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        activities: catalog,
        screen: crate::safety::Screen::built_in(),
        classifier: None,
        engine,
        config,
        watch: Arc::default(),
    });

    // The children join and stay connected; the first one's stream is the observer's.
    let mut children: HashMap<String, Participant> = HashMap::new();
    let mut observer = None;
    let mut keep_alive = Vec::new();
    for (i, c) in scenario.children.iter().enumerate() {
        let p = store
            .add_participant(
                group.id,
                &c.nickname,
                "🙂",
                &format!("simulated-{}-{i}", group.id),
                store::now_ms(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot add {}: {e}", c.nickname))?;
        let welcome = rooms
            .hello(group.id, rooms.connection_id(), p.clone(), 0)
            .await
            .map_err(|e| anyhow::anyhow!("{} could not join: {e}", c.nickname))?;
        if observer.is_none() {
            observer = Some(welcome.events);
        } else {
            keep_alive.push(welcome.events);
        }
        children.insert(c.nickname.clone(), p);
    }
    let mut observer = observer.context("no children")?;
    if scenario.lobby_s > 0.0 {
        // The facilitator's Start, as the dashboard does it: the store, then the live room.
        tokio::time::sleep(Duration::from_secs_f64(scenario.lobby_s)).await;
        store
            .set_session_status(session.id, store::SessionStatus::Running, store::now_ms())
            .await?;
        rooms
            .session_status(group.id, store::SessionStatus::Running)
            .await;
    }

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(scenario.duration_s);
    // Timeline lines as (real time, child, text); answers to being named are added as they come.
    let mut pending: Vec<(Instant, String, String)> = scenario
        .timeline
        .iter()
        .map(|l| {
            (
                start + Duration::from_secs_f64(l.at / scenario.speedup),
                l.child.clone(),
                l.text.clone(),
            )
        })
        .collect();
    let mut counter = 0u64;
    let mut refused = 0usize;
    let mut phases_seen = 0usize;
    loop {
        pending.sort_by_key(|(t, _, _)| *t);
        let next = pending.first().map(|(t, _, _)| *t).unwrap_or(end).min(end);
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {
                if Instant::now() >= end {
                    break;
                }
                if pending.first().is_some_and(|(t, _, _)| *t <= Instant::now()) {
                    let (_, who, text) = pending.remove(0);
                    counter += 1;
                    let p = &children[&who];
                    let request = SendRequest { participant_id: p.id, client_msg_id: format!("sim-{counter}"), text, reply_to: None };
                    match rooms.send_message(group.id, request).await {
                        Ok(_) => {}
                        Err(RoomError::Refused(e)) => {
                            refused += 1;
                            tracing::warn!(child = %who, error = %e.message, "a scripted message was refused")
                        }
                        Err(unavailable) => return Err(unavailable.into()),
                    }
                }
            }
            frame = observer.recv() => match frame {
                Ok(out) => {
                    let v: serde_json::Value = serde_json::from_str(out.json.as_str()).unwrap_or_default();
                    match v["type"].as_str() {
                        Some("phase") => phases_seen += 1,
                        Some("message") if v["sender"]["kind"] == "agent" => {
                            let text = v["text"].as_str().unwrap_or_default().to_lowercase();
                            for c in &scenario.children {
                                if let Some(answer) = &c.answers_when_named {
                                    if crate::agent::text::addresses(&text, &c.nickname) {
                                        let at = Instant::now() + Duration::from_secs_f64(c.answer_delay_s / scenario.speedup);
                                        pending.push((at, c.nickname.clone(), answer.clone()));
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
        }
    }
    drop(keep_alive);
    // Stops the room: its actor ends when the registry's senders are gone.
    drop(rooms);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let agent_name = scenario.agent_name.clone();
    let messages = store.messages_after(group.id, 0, 100_000).await?;
    let events = store.agent_events(group.id).await?;
    let directives = store.directives(group.id).await?;
    let flags = store.flags(group.id).await?;
    let child_ids: Vec<i64> = children.values().map(|p| p.id).collect();
    let nicknames: std::collections::BTreeMap<i64, String> = children
        .values()
        .map(|p| (p.id, p.nickname.clone()))
        .collect();
    let engine_errors = engine_errors_at_start
        .map(|(e, at_start)| e.metrics().snapshot().errors.saturating_sub(at_start) as usize)
        .unwrap_or(0);
    let ended = events
        .iter()
        .any(|e| e.trigger == LogTrigger::Policy(crate::agent::Trigger::ActivityEnd));
    let report = report::build(&report::Inputs {
        scenario: &scenario.name,
        role: scenario.agent_role,
        agent_name: &agent_name,
        messages: &messages,
        events: &events,
        directives: &directives,
        flags: &flags,
        child_ids: &child_ids,
        phases_completed: phases_seen.saturating_sub(1) + usize::from(ended),
        phases_in_activity,
        language: &scenario.language,
        nicknames: &nicknames,
        run_errors: refused + engine_errors,
        elapsed_s: start.elapsed().as_secs_f64(),
    });
    store.close().await;
    Ok(report)
}

/// Flags of `peerlearn simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The scenario file (see docs/scenarios.md; prompts/scenarios/ has examples).
    #[arg(long, value_name = "FILE")]
    pub scenario: std::path::PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Folder with roles and activities. [file key: prompts_dir] [default: prompts]
    #[arg(long, env = "PEERLEARN_PROMPTS_DIR", value_name = "DIR")]
    pub prompts_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub engine: crate::config::EngineArgs,
}

/// The command's edge: loads the activities, the scenario and the engine, then runs it.
pub async fn run_command(
    args: &SimulateArgs,
    file: &crate::config::FileConfig,
) -> anyhow::Result<Report> {
    let prompts_dir = args
        .prompts_dir
        .clone()
        .or_else(|| file.prompts_dir.clone())
        .unwrap_or_else(|| crate::config::DEFAULT_PROMPTS_DIR.into());
    let catalog = Arc::new(Catalog::load(&prompts_dir)?);
    let scenario = scenario::load(&args.scenario, &catalog)?;
    let engine = if scenario.agent_role == crate::store::AgentRole::None {
        None
    } else {
        let e = crate::config::EngineSettings::resolve(&args.engine, file)?;
        let config = e.engine_config();
        if !config.is_remote() {
            crate::model::check_gguf(&config.model_path)?;
        }
        let engine =
            tokio::task::spawn_blocking(move || crate::engine::build_engine(&config)).await??;
        Some(engine)
    };
    run(&scenario, catalog, engine).await
}

impl Report {
    /// A few lines for a person reading the terminal.
    pub fn summary(&self) -> String {
        format!(
            "scenario {} ({}) ran {:.0} s: {} child messages, {} agent messages (share {:.2})\n\
             reply p50 {:?} ms, p95 {:?} ms; addressed: {} answered, {} unanswered\n\
             invitations {}, invited children who then spoke {}; directives {} (followed {}, escalated {}), flags {}\n\
             participation gini {:.2}; phases completed {} of {}\n\
             wrong language {}, wrong child {}, errors {}\n\nagent said:\n  {}",
            self.scenario,
            self.agent_role,
            self.elapsed_s,
            self.child_messages,
            self.agent_messages,
            self.agent_talk_share,
            self.reply_ms_p50.map(|v| v.round()),
            self.reply_ms_p95.map(|v| v.round()),
            self.addressed_replies,
            self.addressed_unanswered,
            self.invitations,
            self.invited_children_who_then_spoke,
            self.directives,
            self.directives_followed,
            self.escalations,
            self.flags,
            self.participation_gini_children,
            self.phases_completed,
            self.phases_in_activity,
            self.wrong_language_messages,
            self.wrong_child_answers,
            self.errors,
            self.agent_texts.join("\n  ")
        )
    }
}
