//! The embedded engine with the real default model (SmolLM2-135M-Instruct): determinism,
//! isolation of rooms batched together, prefix reuse, context overflow, cancellation,
//! eviction and restore, UTF-8 streaming, and bad model files.

mod common;

use std::time::{Duration, Instant};

use common::engine::{
    check_cache_reuse, check_contents_stay_text, check_hostile_prefix_reuse, check_rooms_never_mix,
    collect, config, convo, hostile_convo, reply, runs, settle, test_model, SYSTEM,
};
use peerlearn::engine::llama::{LlamaEngine, PromptTokens};
use peerlearn::engine::{
    ChatMessage, Completion, Engine, EngineError, FinishReason, GenerateRequest, RoomKey,
    SamplingParams, StreamEvent,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_generation_is_deterministic() {
    let engine = LlamaEngine::load(&config(2, 512)).unwrap();
    assert_eq!(
        engine.info().chat_template.as_deref(),
        Some("chatml"),
        "SmolLM2 uses ChatML"
    );
    let messages = convo(&["Mia: I think we need a big slide!"]);
    let a = reply(&engine, "a", messages.clone(), 32).await;
    let b = reply(&engine, "b", messages.clone(), 32).await;
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.text, b.text, "fresh room, same prompt, same reply");
    // The same room again: everything but the last prompt token comes from the cache, and the
    // reply is still the same.
    engine.close_room(&RoomKey::from("b"));
    let c = reply(&engine, "a", messages.clone(), 32).await;
    assert_eq!(a.text, c.text);
    assert!(c.metrics.cached_tokens > 0);
    // And a fresh engine agrees.
    drop(engine);
    let engine = LlamaEngine::load(&config(1, 512)).unwrap();
    let d = reply(&engine, "z", messages, 32).await;
    assert_eq!(a.text, d.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_generating_at_once_never_mix_conversations() {
    let engine = LlamaEngine::load(&config(4, 512)).unwrap();
    check_rooms_never_mix(&engine, 24).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_reuse_counters_match_the_suffixes_over_ten_turns() {
    let engine = LlamaEngine::load(&config(2, 2048)).unwrap();
    check_cache_reuse(&engine, 10, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_room_copies_the_system_prompt_another_room_evaluated() {
    let engine = LlamaEngine::load(&config(2, 512)).unwrap();
    let system = engine
        .count_tokens(vec![ChatMessage::system(SYSTEM)], false)
        .await
        .unwrap();
    let a = reply(
        &engine,
        "a",
        convo(&["Mia: I think we need a big slide!"]),
        24,
    )
    .await;
    assert_eq!(
        a.metrics.cached_tokens, 0,
        "the first room evaluates everything"
    );
    let b_messages = convo(&["Leo: Can we add a sandpit with water?"]);
    let with_header = engine.count_tokens(b_messages.clone(), true).await.unwrap();
    let b = reply(&engine, "b", b_messages.clone(), 24).await;
    assert_eq!(
        b.metrics.cached_tokens as usize, system,
        "the second room copies the system prompt"
    );
    assert_eq!(b.metrics.prompt_tokens as usize, with_header - system);
    assert_eq!(
        engine.metrics().snapshot().shared_prefix_tokens,
        system as u64
    );
    // A different system prompt is evaluated, not copied.
    let other = vec![
        ChatMessage::system("You are Blue. You help children plan a school garden together."),
        ChatMessage::user("Ava: Can we grow strawberries?"),
    ];
    let c = reply(&engine, "c", other, 8).await;
    assert_eq!(c.metrics.cached_tokens, 0);
    // The copy holds exactly what evaluating the prompt gives: the same greedy reply as a
    // room on an engine that has never seen the system prompt.
    drop(engine);
    let fresh = LlamaEngine::load(&config(1, 512)).unwrap();
    let alone = reply(&fresh, "b", b_messages, 24).await;
    assert_eq!(alone.metrics.cached_tokens, 0);
    assert_eq!(b.text, alone.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_overflow_is_survived_and_the_reply_still_comes() {
    // 256 tokens per room with 64 reserved for the reply: the conversation overflows after a
    // few turns.
    let engine = LlamaEngine::load(&config(1, 256)).unwrap();
    let mut messages = vec![ChatMessage::system(SYSTEM)];
    let mut compacted = 0;
    for turn in 0..14 {
        messages.push(ChatMessage::user(format!(
            "Ava: here is my idea number {turn}: a tall tower with a rope bridge, a tunnel and a \
             slide, painted in bright colours so everyone can find it."
        )));
        let done = reply(&engine, "long", messages.clone(), 24).await;
        assert!(
            done.metrics.generated_tokens > 0,
            "turn {turn}: a reply came"
        );
        assert!(
            done.metrics.prompt_tokens + done.metrics.cached_tokens <= 256,
            "turn {turn}"
        );
        compacted += usize::from(done.metrics.compacted);
        messages.push(ChatMessage::assistant(done.text));
    }
    assert!(
        compacted >= 1,
        "the oldest turns were dropped at least once"
    );
    assert!(engine.metrics().snapshot().compactions >= 1);
    // One message alone larger than the whole context is cut, not refused.
    let huge = convo(&[&"Leo: wow ".repeat(400)]);
    let done = reply(&engine, "huge", huge, 8).await;
    assert!(done.metrics.compacted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_generation_and_frees_the_slot() {
    // One slot: room B can only run once room A's reply has let go of it.
    let engine = LlamaEngine::load(&config(1, 1024)).unwrap();
    let mut params = SamplingParams::greedy(400);
    params.temperature = 0.8; // sampled, so the model does not end its turn early
    params.repeat_penalty = 1.3;
    let mut a = engine.generate(GenerateRequest::new(
        "a",
        convo(&["Mia: tell me a very long story about a playground"]),
        params,
    ));
    let mut seen = 0;
    while seen < 3 {
        match a.next_event().await.unwrap().unwrap() {
            StreamEvent::Token(_) => seen += 1,
            StreamEvent::Done(d) => panic!("ended before it could be cancelled: {d:?}"),
        }
    }
    let cancelled_at = Instant::now();
    engine.cancel(&RoomKey::from("a"));
    let b = engine.generate(GenerateRequest::new(
        "b",
        convo(&["Leo: hi!"]),
        SamplingParams::greedy(4),
    ));
    let done_a = loop {
        match a.next_event().await.unwrap().unwrap() {
            StreamEvent::Token(_) => {}
            StreamEvent::Done(d) => break d,
        }
    };
    assert_eq!(done_a.finish_reason, FinishReason::Cancelled);
    assert!(done_a.metrics.generated_tokens < 400);
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "stopped within a step or two"
    );
    let (_, done_b) = collect(b).await.unwrap();
    assert!(done_b.metrics.generated_tokens > 0);
    assert!(
        done_b.metrics.ttft_ms.unwrap() < 3000.0,
        "room B got the slot at once: {:?}",
        done_b.metrics
    );
    assert_eq!(engine.metrics().snapshot().finished_cancelled, 1);

    // Dropping a stream cancels it too.
    let mut params = SamplingParams::greedy(400);
    params.temperature = 0.8;
    let mut c = engine.generate(GenerateRequest::new(
        "c",
        convo(&["Ava: count to a thousand"]),
        params,
    ));
    let _ = c.next_event().await;
    drop(c);
    let d = reply(&engine, "d", convo(&["Zoe: hello"]), 4).await;
    assert!(d.metrics.generated_tokens > 0);
    settle(&engine).await;
    assert_eq!(engine.metrics().snapshot().finished_cancelled, 2);
}

/// Plays a fixed script on an engine; room "x" has its conversation, room "y" interferes.
async fn eviction_script(engine: &LlamaEngine) -> Vec<Completion> {
    let mut x = convo(&["Mia: We should build a tree house."]);
    let mut y = convo(&["Leo: I want a trampoline."]);
    let mut out = Vec::new();
    for turn in 0..3 {
        let rx = reply(engine, "x", x.clone(), 16).await;
        x.push(ChatMessage::assistant(rx.text.clone()));
        x.push(ChatMessage::user(format!(
            "Ava: good, and a ladder number {turn}?"
        )));
        out.push(rx);
        let ry = reply(engine, "y", y.clone(), 16).await;
        y.push(ChatMessage::assistant(ry.text.clone()));
        y.push(ChatMessage::user(format!("Sam: bigger trampoline {turn}!")));
        settle(engine).await;
    }
    out.push(reply(engine, "x", x, 24).await);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_and_restore_give_the_same_reply_as_staying_resident() {
    let resident = LlamaEngine::load(&config(2, 512)).unwrap();
    let expected = eviction_script(&resident).await;
    assert_eq!(resident.metrics().snapshot().evictions, 0);
    drop(resident);

    let one_slot = LlamaEngine::load(&config(1, 512)).unwrap();
    let got = eviction_script(&one_slot).await;
    let m = one_slot.metrics().snapshot();
    assert!(
        m.evictions >= 3 && m.restores >= 3,
        "rooms took turns in the one slot: {m:?}"
    );
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(e.text, g.text, "reply {i}");
    }
    let last = got.last().unwrap();
    assert!(last.metrics.restored, "room x came back from RAM");
    assert!(
        last.metrics.cached_tokens > 40 && last.metrics.prompt_tokens < 40,
        "restored without a full prefill: {:?}",
        last.metrics
    );
    let mut prom = String::new();
    one_slot.render_prometheus(&mut prom);
    assert!(prom.contains("peerlearn_engine_restores_total{backend=\"llama.cpp\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_emoji_arrives_intact() {
    let engine = LlamaEngine::load(&config(1, 512)).unwrap();
    let messages = vec![
        ChatMessage::system("You answer every message with exactly three emojis and nothing else."),
        ChatMessage::user("happy"),
        ChatMessage::assistant("😀🎉🌈"),
        ChatMessage::user("food"),
        ChatMessage::assistant("🍕🍔🍟"),
        ChatMessage::user("animals"),
    ];
    let (chunks, done) = collect(engine.generate(GenerateRequest::new(
        "e",
        messages,
        SamplingParams::greedy(24),
    )))
    .await
    .unwrap();
    let text = chunks.concat();
    let emoji: Vec<char> = text.chars().filter(|c| *c as u32 >= 0x1F300).collect();
    assert!(!emoji.is_empty(), "the model answered with emoji: {text:?}");
    assert!(
        !text.contains('\u{FFFD}'),
        "no broken characters: {chunks:?}"
    );
    // Each emoji is several tokens of this model's byte-level vocabulary, so the decoder really
    // had to hold partial characters back.
    assert!(
        done.metrics.generated_tokens as usize > chunks.len(),
        "tokens {} > chunks {}",
        done.metrics.generated_tokens,
        chunks.len()
    );
    assert_eq!(text, done.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_eos_runs_a_reply_to_its_length() {
    // For benchmarks that compare engines at equal reply lengths: the end-of-turn token is
    // banned, so a reply the model would end early runs to max_tokens.
    let engine = LlamaEngine::load(&config(1, 512)).unwrap();
    let messages = convo(&["Mia: hi Blue!"]);
    let natural = reply(&engine, "n", messages.clone(), 96).await;
    assert_eq!(
        natural.finish_reason,
        FinishReason::Stop,
        "{:?}",
        natural.text
    );
    assert!(natural.metrics.generated_tokens < 96);
    let mut params = SamplingParams::greedy(96);
    params.ignore_eos = true;
    let (_, long) = collect(engine.generate(GenerateRequest::new("l", messages, params)))
        .await
        .unwrap();
    assert_eq!(long.finish_reason, FinishReason::Length);
    assert_eq!(long.metrics.generated_tokens, 96);
    assert!(
        long.text.starts_with(natural.text.trim_end()),
        "{:?} / {:?}",
        long.text,
        natural.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_strings_end_the_reply_before_the_string() {
    let engine = LlamaEngine::load(&config(1, 512)).unwrap();
    let messages = convo(&["Mia: I think we need a big slide!"]);
    let full = reply(&engine, "s", messages.clone(), 32).await.text;
    let words: Vec<&str> = full.split_whitespace().collect();
    assert!(words.len() >= 4, "{full:?}");
    let stop = format!(" {}", words[2]);
    let mut params = SamplingParams::greedy(32);
    params.stop = vec![stop.clone()];
    let (chunks, done) = collect(engine.generate(GenerateRequest::new("s2", messages, params)))
        .await
        .unwrap();
    assert_eq!(done.finish_reason, FinishReason::StopString);
    assert!(!chunks.concat().contains(&stop));
    assert!(full.starts_with(&done.text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contents_never_become_control_tokens() {
    let engine = LlamaEngine::load(&config(1, 1024)).unwrap();
    let (hostile, plain) = check_contents_stay_text(&engine).await;
    let user_defined = |p: &PromptTokens| -> Vec<i32> {
        p.tokens
            .iter()
            .filter(|t| t.user_defined)
            .map(|t| t.id)
            .collect()
    };
    assert_eq!(user_defined(&hostile), user_defined(&plain));

    if engine.info().chat_template.as_deref() != Some("chatml") {
        return;
    }
    // ChatML: exactly `<|im_start|>role\ncontent<|im_end|>\n` per message, the contents
    // between the control tokens unchanged (no zero-width space any more).
    let start = plain.tokens[0].id;
    let end = plain
        .tokens
        .iter()
        .find(|t| t.bytes == b"<|im_end|>")
        .unwrap()
        .id;
    assert_eq!(plain.tokens[0].bytes, b"<|im_start|>");
    let mut expected = Vec::new();
    for m in hostile_convo(true) {
        expected.push(Err(start));
        expected.push(Ok(format!("{}\n{}", m.role.as_str(), m.content)));
        expected.push(Err(end));
        expected.push(Ok("\n".to_string()));
    }
    expected.push(Err(start));
    expected.push(Ok("assistant\n".to_string()));
    assert_eq!(runs(&hostile), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_conversation_is_answered_and_its_prefix_is_reused() {
    let engine = LlamaEngine::load(&config(1, 2048)).unwrap();
    check_hostile_prefix_reuse(&engine).await;
}

#[tokio::test]
async fn bad_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1, 256);

    cfg.model_path = dir.path().join("missing.gguf");
    let err = LlamaEngine::load(&cfg).err().unwrap();
    assert!(matches!(err, EngineError::ModelNotFound { .. }), "{err}");
    assert!(err.to_string().contains("missing.gguf") && err.to_string().contains("fetch-model.sh"));

    cfg.model_path = dir.path().join("notes.gguf");
    std::fs::write(&cfg.model_path, "these are not weights").unwrap();
    let err = LlamaEngine::load(&cfg).err().unwrap();
    assert!(matches!(err, EngineError::NotGguf { .. }), "{err}");

    cfg.model_path = dir.path().to_path_buf();
    assert!(matches!(
        LlamaEngine::load(&cfg).err().unwrap(),
        EngineError::NotGguf { .. }
    ));

    cfg.model_path = dir.path().join("truncated.gguf");
    std::fs::write(&cfg.model_path, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let err = LlamaEngine::load(&cfg).err().unwrap();
    assert!(matches!(err, EngineError::ModelLoad { .. }), "{err}");

    let mut cfg = config(4, 256);
    cfg.batch_size = 2;
    assert!(matches!(
        LlamaEngine::load(&cfg).err().unwrap(),
        EngineError::InvalidConfig(_)
    ));
    let _ = test_model();
}
