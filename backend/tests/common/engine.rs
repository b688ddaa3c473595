//! The real model and the embedded engine, for the tests that run them.

use std::path::PathBuf;

use peerlearn::engine::{Completion, EngineConfig, EngineError, StreamEvent, TokenStream};

/// The real model the tests run: `$PEERLEARN_TEST_MODEL`, else the workspace's default model.
/// A missing model fails the test (it is not skipped): fetch it with scripts/fetch-model.sh.
pub fn test_model() -> PathBuf {
    let path = std::env::var_os("PEERLEARN_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/default.gguf")
        });
    assert!(
        path.is_file(),
        "the test model {} is missing: run scripts/fetch-model.sh (or set PEERLEARN_TEST_MODEL)",
        path.display()
    );
    path
}

/// An embedded-engine config for tests: small contexts keep memory and time low.
pub fn config(slots: u32, context_per_slot: u32) -> EngineConfig {
    EngineConfig {
        slots,
        context_per_slot,
        reply_reserve: (context_per_slot / 4).min(256),
        threads: 2,
        ..EngineConfig::embedded(test_model())
    }
}

/// Reads a whole stream: the text chunks as they arrived and the completion.
pub async fn collect(mut stream: TokenStream) -> Result<(Vec<String>, Completion), EngineError> {
    let mut chunks = Vec::new();
    while let Some(event) = stream.next_event().await {
        match event? {
            StreamEvent::Token(t) => chunks.push(t),
            StreamEvent::Done(c) => return Ok((chunks, c)),
        }
    }
    Err(EngineError::Stopped)
}
