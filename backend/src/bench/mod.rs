//! Benchmark commands: each prints one JSON object, so results can be compared across runs.

pub mod chat;
pub mod engine;
pub mod export;
pub mod safety;
pub mod storm;
