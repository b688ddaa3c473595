//! peerlearn: small groups of children solve a design problem together in a chat, with a
//! locally run language model taking part as the group's moderator or as a peer.
//!
//! The crate follows the domain: [`store`] keeps everything durable, [`engine`] runs the
//! model for all rooms at once, [`http`] serves the pages, the API and the sockets.

#[macro_use]
mod text_enum;

pub mod activity;
pub mod agent;
pub mod analyze;
pub mod auth;
pub mod bench;
pub mod child_text;
pub mod cli_error;
pub mod config;
pub mod data_files;
pub mod engine;
pub mod export;
pub mod http;
pub mod i18n;
pub mod join_code;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod protocol;
pub mod purge;
pub mod room;
pub mod safety;
pub mod server;
pub mod simulate;
pub mod store;
