//! `peerlearn bench engine`: a fixed multi-room group-chat workload against an engine.

/// Arguments of `peerlearn bench engine`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineBenchArgs {}
