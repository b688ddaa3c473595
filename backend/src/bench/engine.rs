//! `peerlearn bench engine`: a fixed multi-room group-chat workload against an engine.
//!
//! R rooms run at once. Each starts with a short system prompt; every turn appends one child
//! message (`Name: text`), hands it to the engine's eager prefill (as the server does when it
//! stores a message) and at once asks for a streamed reply of at most N tokens, with a fixed
//! seed per room and turn. Time to first token is measured from that moment, so it includes
//! evaluating the new message. With `--llm-url` the same workload goes through the remote
//! backend, so one harness measures both engines.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::engine::llama::LlamaEngine;
use crate::engine::remote::RemoteEngine;
use crate::engine::{
    ChatMessage, Engine, EngineConfig, GenerateRequest, MetricsSnapshot, RoomKey, SamplingParams,
    StreamEvent,
};

/// Arguments of `peerlearn bench engine`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineBenchArgs {
    /// Rooms chatting at once.
    #[arg(long, default_value_t = 8)]
    pub rooms: u32,
    /// Turns per room (one child message and one reply each).
    #[arg(long, default_value_t = 20)]
    pub turns: u32,
    /// Most tokens per reply.
    #[arg(long, default_value_t = 48)]
    pub max_tokens: u32,
    /// GGUF model of the embedded engine.
    #[arg(long, env = "PEERLEARN_MODEL", value_name = "PATH", default_value = crate::engine::config::DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// Run the workload against a remote OpenAI-compatible server instead. Repeat the flag or
    /// separate URLs with commas for replicas of one model, as `serve` takes them: each room
    /// sticks to one replica.
    #[arg(
        long,
        env = "PEERLEARN_LLM_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub llm_url: Vec<String>,
    /// Bearer token for the remote server.
    #[arg(
        long,
        env = "PEERLEARN_LLM_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub llm_api_key: Option<String>,
    /// Model name sent to the remote server.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// CPU threads of the embedded engine. [default: the machine's cores]
    #[arg(long, env = "PEERLEARN_THREADS")]
    pub threads: Option<u32>,
    /// Room slots of the embedded engine. [default: --rooms]
    #[arg(long)]
    pub slots: Option<u32>,
    /// Context per room slot, in tokens.
    #[arg(long, default_value_t = 2048)]
    pub context_per_slot: u32,
    /// Most tokens per decode step.
    #[arg(long, default_value_t = 512)]
    pub batch_size: u32,
    /// Most prompt tokens per decode step while other rooms generate.
    #[arg(long)]
    pub prefill_chunk: Option<u32>,
    /// Most generating rooms per decode step (0 = all). [default: the engine's default]
    #[arg(long)]
    pub gen_per_step: Option<u32>,
    /// Use a unified KV buffer for all rooms (true/false). [default: the engine's default]
    #[arg(long)]
    pub kv_unified: Option<bool>,
    /// Flash attention on (true) or off (false); without the flag llama.cpp decides (auto).
    #[arg(long, value_name = "BOOL")]
    pub flash_attention: Option<bool>,
    /// Repetition penalty (1 = off). With `--temperature 0 --repeat-penalty 1` both engines
    /// reply with the same text (llama-server also puts the prompt's last tokens into the
    /// penalty window, which we do not, so with a penalty their replies differ from the first
    /// token on), and their tokens/s compare like for like.
    #[arg(long, default_value_t = 1.1, value_name = "PENALTY")]
    pub repeat_penalty: f32,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Base seed; each room and turn derives its own from it.
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Skip the eager prefill of each child message (to measure what it saves).
    #[arg(long)]
    pub no_prefill: bool,
    /// Every reply runs to `--max-tokens`: the end-of-turn tokens are banned (llama-server's
    /// `ignore_eos` is sent to a remote engine). Two engines whose replies differ in length
    /// otherwise compare per-turn costs spread over different numbers of tokens.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Print the report as JSON (the report is always one JSON object).
    #[arg(long)]
    pub json: bool,
}

const NAMES: [&str; 6] = ["Mia", "Leo", "Ava", "Noah", "Zoe", "Sam"];

const TOPICS: [&str; 4] = [
    "a playground everyone can play on",
    "a robot helper for the classroom",
    "less waste from school lunch",
    "a garden on the school roof",
];

const LINES: [&str; 20] = [
    "I think we need a really big slide!",
    "What about kids who use a wheelchair?",
    "We could put a ramp next to the stairs.",
    "I like swings, can we have swings?",
    "Maybe a sandpit with water to build castles.",
    "The robot could hand out the pencils.",
    "What if it talks too loud?",
    "We should vote on the best idea.",
    "I don't know, maybe something with trees?",
    "Can we paint it in rainbow colours?",
    "Leo's idea is good but it costs a lot.",
    "We could use the old tyres for a climbing wall.",
    "What do you think, Blue?",
    "I want a quiet corner to read.",
    "Let's combine the slide and the ramp!",
    "How big should it be?",
    "My little brother would love a tunnel.",
    "Blue, can you help us choose?",
    "We only have ten minutes left.",
    "I think we agree on the tunnel and the ramp.",
];

/// One reply as the workload saw it.
struct Reply {
    ttft_ms: f64,
    /// The engine's own: from the request's arrival to the first token sampled.
    engine_ttft_ms: Option<f64>,
    queue_ms: f64,
    tokens: u32,
    tokens_per_s: Option<f64>,
    cached_tokens: u32,
    request_prompt_tokens: u32,
}

/// Runs the benchmark and returns its report.
pub async fn run(args: EngineBenchArgs) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(
        args.rooms >= 1 && args.turns >= 1 && args.max_tokens >= 1,
        "rooms, turns and max-tokens must be at least 1"
    );
    let mut config = EngineConfig {
        model_path: args.model.clone(),
        slots: args.slots.unwrap_or(args.rooms).max(1),
        context_per_slot: args.context_per_slot,
        batch_size: args.batch_size,
        llm_urls: crate::config::check_llm_urls(&args.llm_url)?,
        llm_api_key: args.llm_api_key.clone(),
        llm_model: args.llm_model.clone(),
        ..EngineConfig::default()
    };
    if let Some(t) = args.threads {
        config.threads = t;
    }
    if let Some(c) = args.prefill_chunk {
        config.prefill_chunk = c;
    }
    if let Some(g) = args.gen_per_step {
        config.gen_per_step = g;
    }
    if let Some(u) = args.kv_unified {
        config.kv_unified = u;
    }
    config.flash_attention = args.flash_attention;

    // The embedded engine also tells how many tokens each child message adds to a prompt, the
    // yardstick for prompt tokens per turn.
    let mut first_turn_tokens: Option<f64> = None;
    let (engine, new_message_tokens): (Arc<dyn Engine>, Option<f64>) = if !args.llm_url.is_empty() {
        (
            Arc::new(RemoteEngine::new(&config).context("remote engine")?),
            None,
        )
    } else {
        {
            let cfg = config.clone();
            let llama = tokio::task::spawn_blocking(move || LlamaEngine::load(&cfg))
                .await?
                .context("embedded engine")?;
            let mut sum = 0usize;
            let mut n = 0usize;
            let mut first = 0usize;
            for room in 0..args.rooms {
                first += llama
                    .count_tokens(vec![system_prompt(room), child_message(room, 0)], true)
                    .await?;
                for turn in 0..args.turns {
                    let msg = vec![child_message(room, turn)];
                    sum += llama.count_tokens(msg, false).await?;
                    n += 1;
                }
            }
            first_turn_tokens = Some(first as f64);
            (Arc::new(llama), Some(sum as f64 / n as f64))
        }
    };

    let before = engine.metrics().snapshot();
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.rooms)
        .map(|room| {
            let engine = engine.clone();
            let args = args.clone();
            tokio::spawn(async move { run_room(engine.as_ref(), &args, room).await })
        })
        .collect();
    let mut replies = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        let (r, e) = task.await?;
        replies.extend(r);
        errors.extend(e);
    }
    let wall = started.elapsed();
    // Let the engine finish its own background work (reply tails) before reading the totals.
    let settle_deadline = Instant::now() + Duration::from_secs(30);
    while engine.metrics().snapshot().active_requests > 0 && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = engine.metrics().snapshot();
    let mut value = report(
        &args,
        engine.as_ref(),
        &replies,
        &errors,
        wall,
        &before,
        &after,
        new_message_tokens,
    );
    // Turns after the first: the first turn of a room evaluates its system prompt too.
    let later_turns = replies.len().saturating_sub(args.rooms as usize);
    if let (Some(first), true) = (first_turn_tokens, later_turns > 0 && errors.is_empty()) {
        let later =
            ((after.prompt_tokens - before.prompt_tokens) as f64 - first) / later_turns as f64;
        value["prompt_tokens_per_later_turn_mean"] = json!((later * 10.0).round() / 10.0);
    }
    Ok(value)
}

fn system_prompt(room: u32) -> ChatMessage {
    let topic = TOPICS[room as usize % TOPICS.len()];
    ChatMessage::system(format!(
        "You are Blue, a friendly AI helper in a group of children who are designing {topic}. \
         Answer in one or two short sentences a 9-year-old understands."
    ))
}

fn child_message(room: u32, turn: u32) -> ChatMessage {
    let name = NAMES[((room + turn) as usize) % NAMES.len()];
    let line = LINES[((room * 7 + turn) as usize) % LINES.len()];
    ChatMessage::user(format!("{name}: {line}"))
}

async fn run_room(
    engine: &dyn Engine,
    args: &EngineBenchArgs,
    room: u32,
) -> (Vec<Reply>, Vec<String>) {
    let key = RoomKey::from(format!("bench-{room}"));
    let mut messages = vec![system_prompt(room)];
    let mut replies = Vec::new();
    let mut errors = Vec::new();
    for turn in 0..args.turns {
        messages.push(child_message(room, turn));
        let t0 = Instant::now();
        if !args.no_prefill {
            // Not awaited: the server prefills when it stores the message, and here the agent
            // decides to answer at once.
            drop(engine.prefill(key.clone(), messages.clone()));
        }
        let params = SamplingParams {
            temperature: args.temperature,
            repeat_penalty: args.repeat_penalty,
            seed: args.seed.wrapping_add(room * 1000 + turn),
            max_tokens: args.max_tokens,
            ignore_eos: args.ignore_eos,
            ..SamplingParams::default()
        };
        let mut stream =
            engine.generate(GenerateRequest::new(key.clone(), messages.clone(), params));
        let mut first: Option<f64> = None;
        let mut text = String::new();
        loop {
            match stream.next_event().await {
                Some(Ok(StreamEvent::Token(t))) => {
                    first.get_or_insert_with(|| t0.elapsed().as_secs_f64() * 1000.0);
                    text.push_str(&t);
                }
                Some(Ok(StreamEvent::Done(done))) => {
                    replies.push(Reply {
                        ttft_ms: first.unwrap_or_else(|| t0.elapsed().as_secs_f64() * 1000.0),
                        engine_ttft_ms: done.metrics.ttft_ms,
                        queue_ms: done.metrics.queue_ms,
                        tokens: done.metrics.generated_tokens,
                        tokens_per_s: done.metrics.tokens_per_s,
                        cached_tokens: done.metrics.cached_tokens,
                        request_prompt_tokens: done.metrics.prompt_tokens,
                    });
                    break;
                }
                Some(Err(e)) => {
                    errors.push(e.to_string());
                    break;
                }
                None => {
                    errors.push("the stream ended without a result".into());
                    break;
                }
            }
        }
        messages.push(ChatMessage::assistant(text));
    }
    (replies, errors)
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[rank.min(sorted.len() - 1)])
}

fn round(v: Option<f64>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |v| {
        json!((v * 10.0).round() / 10.0)
    })
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &EngineBenchArgs,
    engine: &dyn Engine,
    replies: &[Reply],
    errors: &[String],
    wall: Duration,
    before: &MetricsSnapshot,
    after: &MetricsSnapshot,
    new_message_tokens: Option<f64>,
) -> serde_json::Value {
    let mut ttft: Vec<f64> = replies.iter().map(|r| r.ttft_ms).collect();
    ttft.sort_by(f64::total_cmp);
    let mut engine_ttft: Vec<f64> = replies.iter().filter_map(|r| r.engine_ttft_ms).collect();
    engine_ttft.sort_by(f64::total_cmp);
    let mut queue: Vec<f64> = replies.iter().map(|r| r.queue_ms).collect();
    queue.sort_by(f64::total_cmp);
    let mut tps: Vec<f64> = replies.iter().filter_map(|r| r.tokens_per_s).collect();
    tps.sort_by(f64::total_cmp);
    let generated: u64 = replies.iter().map(|r| u64::from(r.tokens)).sum();
    let n = replies.len().max(1) as f64;
    let info = engine.info();
    // The embedded engine counts every token it evaluates (eager prefills, replies and the
    // reply tails it evaluates in the background); the remote backend only knows what the
    // server reports per request.
    let prompt_per_turn = if info.backend == "remote" {
        replies
            .iter()
            .map(|r| f64::from(r.request_prompt_tokens))
            .sum::<f64>()
            / n
    } else {
        (after.prompt_tokens - before.prompt_tokens) as f64 / n
    };
    let mut distinct_errors: Vec<&String> = errors.iter().collect();
    distinct_errors.sort();
    distinct_errors.dedup();
    json!({
        "backend": info.backend,
        "model": info.model_name,
        "rooms": args.rooms,
        "turns": args.turns,
        "max_tokens": args.max_tokens,
        "threads": info.threads,
        "slots": info.slots,
        "eager_prefill": !args.no_prefill,
        "ignore_eos": args.ignore_eos,
        "replies": replies.len(),
        "errors": errors.len(),
        "error_messages": distinct_errors.iter().take(5).collect::<Vec<_>>(),
        "ttft_ms_p50": round(percentile(&ttft, 50.0)),
        "ttft_ms_p95": round(percentile(&ttft, 95.0)),
        "ttft_ms_max": round(ttft.last().copied()),
        "engine_ttft_ms_p50": round(percentile(&engine_ttft, 50.0)),
        "queue_ms_p50": round(percentile(&queue, 50.0)),
        "per_stream_tok_s_median": round(percentile(&tps, 50.0)),
        "aggregate_tok_s": round(Some(generated as f64 / wall.as_secs_f64())),
        "generated_tokens": generated,
        "wall_s": round(Some(wall.as_secs_f64())),
        "prompt_tokens_per_turn_mean": round(Some(prompt_per_turn)),
        "cached_tokens_per_turn_mean": round(Some(replies.iter().map(|r| f64::from(r.cached_tokens)).sum::<f64>() / n)),
        "reply_prompt_tokens_per_turn_mean": round(Some(replies.iter().map(|r| f64::from(r.request_prompt_tokens)).sum::<f64>() / n)),
        "new_message_tokens_mean": round(new_message_tokens),
        "prompt_tokens_over_new_message_mean": round(new_message_tokens.map(|m| prompt_per_turn - m)),
        "decode_steps": after.decode_steps - before.decode_steps,
        "decode_tokens_per_step_mean": round(Some(
            (after.decode_tokens - before.decode_tokens) as f64 / (after.decode_steps - before.decode_steps).max(1) as f64
        )),
        "decode_ms_per_step_mean": round(Some(
            (after.decode_seconds - before.decode_seconds) * 1000.0 / (after.decode_steps - before.decode_steps).max(1) as f64
        )),
        "evictions": after.evictions - before.evictions,
        "compactions": after.compactions - before.compactions,
    })
}
