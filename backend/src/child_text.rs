//! Every sentence a child reads when joining or the chat goes wrong, named once here so that
//! whoever reviews them finds them all in one place. The words themselves are in the
//! catalogues (`frontend/locales/<lang>.ftl`, keys `err-...`, see [`crate::i18n`]), in the
//! child's language: the session's, or the browser's before a session is known. The HTTP
//! edge ([`crate::http`]) refers to them: a refused join is a [`crate::http::JoinFailure`]
//! whose message is one of these.
//!
//! The constants in English are the protocol's answers to a client that breaks it (the chat
//! page never does): they are for the developer of such a client, not for a child.
//!
//! Not here: the safety screen's nickname refusals and private notes (translated per language,
//! prompts/safety/), and everything a facilitator reads.

use std::time::Duration;

use crate::i18n::Lang;

// ---------------------------------------------------------------------------------------------
// Joining

pub fn unknown_code(lang: Lang) -> String {
    lang.t("err-unknown-code")
}

pub fn nickname_taken(lang: Lang) -> String {
    lang.t("err-nickname-taken")
}

pub fn bad_avatar(lang: Lang) -> String {
    lang.t("err-bad-avatar")
}

pub fn group_locked(lang: Lang) -> String {
    lang.t("err-group-locked")
}

pub fn group_full(lang: Lang) -> String {
    lang.t("err-group-full")
}

/// A join (page or JSON) posted from another site.
pub fn cross_site(lang: Lang) -> String {
    lang.t("err-cross-site")
}

/// The join page's form arrived without its fields.
pub fn incomplete_form(lang: Lang) -> String {
    lang.t("err-incomplete-form")
}

/// Our fault (the detail goes to the log only).
pub fn something_wrong(lang: Lang) -> String {
    lang.t("err-something-wrong")
}

pub fn too_many_tries(lang: Lang, wait: Duration) -> String {
    lang.t1("err-too-many-tries", "minutes", minutes(wait))
}

/// Whole minutes to wait: at least one, rounded up.
pub fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

/// `POST /api/join` without `Content-Type: application/json`.
pub const NOT_JSON: &str = "The request must be JSON (Content-Type: application/json).";

/// `POST /api/join` with a body that is not a join request.
pub fn request_not_valid(why: impl std::fmt::Display) -> String {
    format!("The request is not valid: {why}")
}

// ---------------------------------------------------------------------------------------------
// Nicknames (before the safety screen's own checks)

pub fn nickname_empty(lang: Lang) -> String {
    lang.t("err-nickname-empty")
}

pub fn nickname_no_letters(lang: Lang) -> String {
    lang.t("err-nickname-no-letters")
}

pub fn nickname_forbidden_characters(lang: Lang) -> String {
    lang.t("err-nickname-forbidden-characters")
}

pub fn nickname_too_long(lang: Lang, max_chars: usize) -> String {
    lang.t1("err-nickname-too-long", "max", max_chars)
}

pub fn nickname_is_the_agents(lang: Lang, agent_name: &str) -> String {
    lang.t1("err-nickname-is-the-agents", "name", agent_name)
}

// ---------------------------------------------------------------------------------------------
// The chat

/// The chat page for a credential whose chat is over.
pub fn chat_ended_page(lang: Lang) -> String {
    lang.t("err-chat-ended-page")
}

/// The chat socket for a credential whose chat is over.
pub fn chat_ended(lang: Lang) -> String {
    lang.t("err-chat-ended")
}

/// The chat socket without a credential for its group.
pub fn join_again(lang: Lang) -> String {
    lang.t("err-join-again")
}

pub fn too_many_tabs(lang: Lang) -> String {
    lang.t("err-too-many-tabs")
}

pub fn slow_down(lang: Lang) -> String {
    lang.t("err-slow-down")
}

/// A message the room could not take; the page sends it again by itself.
pub fn will_send_again(lang: Lang) -> String {
    lang.t("err-will-send-again")
}

/// A hello for another group's room.
pub fn not_your_group(lang: Lang) -> String {
    lang.t("err-not-your-group")
}

pub fn message_empty(lang: Lang) -> String {
    lang.t("err-message-empty")
}

pub fn muted(lang: Lang) -> String {
    lang.t("err-muted")
}

pub fn message_too_long(lang: Lang, max_chars: usize) -> String {
    lang.t1("err-message-too-long", "max", max_chars)
}

/// The session is paused or over (`paused`: which).
pub fn session_closed(lang: Lang, paused: bool) -> String {
    if paused {
        lang.t("err-session-paused")
    } else {
        lang.t("err-session-over")
    }
}

pub fn send_again_in(lang: Lang, seconds: u64) -> String {
    lang.t1("err-send-again-in", "seconds", seconds)
}

pub const FRAMES_ARE_JSON: &str = "Frames are JSON text.";
pub const SAY_HELLO_FIRST: &str = "Say hello first.";
pub const NO_SUCH_REPLY: &str = "reply_to names no message of this group.";

pub fn bad_client_msg_id(max_chars: usize) -> String {
    format!("client_msg_id must be 1 to {max_chars} characters.")
}

pub fn frame_not_understood(why: impl std::fmt::Display) -> String {
    format!("This frame could not be understood: {why}")
}

pub fn protocol_version(version: u32) -> String {
    format!("This server speaks protocol version {version}.")
}

// ---------------------------------------------------------------------------------------------
// "I need help"

/// A second help request soon after the first: the teacher already knows.
pub fn help_again_in(lang: Lang, seconds: u64) -> String {
    lang.t1("err-help-again-in", "seconds", seconds)
}

pub fn help_note_too_long(lang: Lang, max_chars: usize) -> String {
    lang.t1("err-help-note-too-long", "max", max_chars)
}

/// The session is over: nobody is watching any more.
pub fn help_session_over(lang: Lang) -> String {
    lang.t("err-help-session-over")
}

/// Our fault: the request was not stored.
pub fn help_not_sent(lang: Lang) -> String {
    lang.t("err-help-not-sent")
}
