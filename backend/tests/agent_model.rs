//! The agent end to end with the real default model (PEERLEARN_TEST_MODEL or
//! models/default.gguf): a short scenario through `simulate`, asserting structure, not text.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::engine::config;
use peerlearn::activity::Catalog;
use peerlearn::engine::build_engine;
use peerlearn::safety::classifier::{parse_verdict, Classifier, ClassifierError, Turn};
use peerlearn::simulate::{self, scenario};

const SCENARIO: &str = r#"
activity = "playground"
agent_role = "participant"
duration_s = 25
minute_s = 30
[policy]
participant_every = 3
min_gap_ms = 3000
silence_ms = 60000
[[children]]
nickname = "Mia"
[[children]]
nickname = "Leo"
[[timeline]]
at = 1
child = "Mia"
text = "hi Blue! what should our playground have?"
[[timeline]]
at = 8
child = "Leo"
text = "I like swings"
[[timeline]]
at = 10
child = "Mia"
text = "a slide that a wheelchair can use"
[[timeline]]
at = 12
child = "Leo"
text = "and a sandpit up high"
[[timeline]]
at = 15
child = "Mia"
text = "@Blue do you like the sandpit?"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_session_with_the_real_model() {
    let catalog = Arc::new(Catalog::built_in());
    let scenario = scenario::parse("model-test", SCENARIO, "model-test.toml", &catalog).unwrap();
    let engine = tokio::task::spawn_blocking(|| build_engine(&config(2, 2048)))
        .await
        .unwrap()
        .expect("the default model loads");
    let report = simulate::run(&scenario, catalog, Some(engine))
        .await
        .expect("the session runs");
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    // Both messages that named the agent were answered, or tried twice (the tiny default model
    // sometimes only copies its instruction; such replies are dropped, never shown), and never
    // retried endlessly.
    let attempts: usize = report
        .decisions
        .iter()
        .filter(|(k, _)| k.starts_with("addressed:"))
        .map(|(_, n)| n)
        .sum();
    assert!((2..=4).contains(&attempts), "{:?}", report.decisions);
    assert_eq!(report.addressed_replies + report.addressed_unanswered, 2);
    assert_eq!(report.reply_ms_p50.is_some(), report.agent_messages > 0);
    for text in &report.agent_texts {
        assert!(!text.trim().is_empty());
        assert!(!text.starts_with("Blue:"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        let sentences = text.matches(['.', '!', '?']).count();
        assert!(sentences <= 6, "short replies: {text}");
    }
    assert!(report.agent_talk_share < 0.6, "{report:?}");
    assert!(
        report.decisions.keys().any(|k| k.starts_with("message:")),
        "silent decisions are logged too"
    );
}

/// A classifier on the default model with room for one request at a time, waiting `wait`.
fn classifier(wait: Duration) -> Classifier {
    let engine = build_engine(&config(1, 1024)).expect("the default model loads");
    Classifier::new(engine, wait)
}

/// The safety classifier's path through a real engine and a real GGUF. No Llama Guard file can
/// be downloaded here, so the default model stands in: its prompt goes through the model's own
/// chat template and a real decode, and whatever the small model answers is judged strictly
/// (a non-verdict is refused, never guessed at). A school's Llama Guard GGUF goes the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_classifier_runs_on_a_real_gguf_and_never_guesses() {
    let classifier = classifier(Duration::from_secs(60));
    for text in ["what if the slide had a ramp?", "you're ugly"] {
        match classifier.classify(text, Turn::User).await {
            // A verdict, if the small model happened to write one, is a well-formed one.
            Ok(v) => assert!(v.safe || !v.hazards.is_empty(), "{v:?}"),
            Err(ClassifierError::Unparsable(out)) => {
                assert!(parse_verdict(&out).is_err(), "{out:?}")
            }
            Err(e) => panic!("the classifier's engine failed: {e}"),
        }
    }
}

/// A wait shorter than any decode: the rules' verdict stands, and the request is cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classifier_slower_than_its_wait_times_out() {
    let quick = classifier(Duration::from_millis(1));
    assert!(matches!(
        quick.classify("hello", Turn::User).await,
        Err(ClassifierError::Timeout(_))
    ));
}
