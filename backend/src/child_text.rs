//! Every sentence a child reads when joining or the chat goes wrong, written once here so that
//! they keep one voice (short, friendly, saying what to do next) and whoever reviews or
//! translates them finds them all in one file. The HTTP edge ([`crate::http`]) refers to them:
//! a refused join is a [`crate::http::JoinFailure`] whose text is one of these.
//!
//! Not here: the safety screen's nickname refusals and private notes (translated per language,
//! prompts/safety/), and everything a facilitator reads.

use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Joining

pub const UNKNOWN_CODE: &str =
    "We couldn't find a group with that code. Check the code on your card and try again.";
pub const NICKNAME_TAKEN: &str =
    "Someone in your group already uses that nickname. Please pick another one.";
pub const BAD_AVATAR: &str = "Please pick one of the animals.";
pub const GROUP_LOCKED: &str = "This group is closed to new members. Please ask your teacher.";
pub const GROUP_FULL: &str = "This group is full. Please ask your teacher which group to join.";
/// A join (page or JSON) posted from another site.
pub const CROSS_SITE: &str = "Please open this page from your teacher's link and try again.";
/// The join page's form arrived without its fields.
pub const INCOMPLETE_FORM: &str = "Please fill in the code, a nickname and pick an animal.";
/// `POST /api/join` without `Content-Type: application/json`.
pub const NOT_JSON: &str = "The request must be JSON (Content-Type: application/json).";
/// Our fault (the detail goes to the log only).
pub const SOMETHING_WRONG: &str = "Something went wrong on our side. Please try again in a moment.";

pub fn too_many_tries(wait: Duration) -> String {
    format!(
        "Too many tries. Please wait {} and try again.",
        crate::limits::minutes_text(wait)
    )
}

/// `POST /api/join` with a body that is not a join request.
pub fn request_not_valid(why: impl std::fmt::Display) -> String {
    format!("The request is not valid: {why}")
}

// ---------------------------------------------------------------------------------------------
// Nicknames (before the safety screen's own checks)

pub const NICKNAME_EMPTY: &str = "Please type a nickname.";
pub const NICKNAME_NO_LETTERS: &str = "Please use letters or numbers in your nickname.";
pub const NICKNAME_FORBIDDEN_CHARACTERS: &str =
    "Please use only letters, numbers and spaces in your nickname.";

pub fn nickname_too_long(max_chars: usize) -> String {
    format!("That nickname is a bit long. Please use at most {max_chars} letters.")
}

pub fn nickname_is_the_agents(agent_name: &str) -> String {
    format!("{agent_name} is the AI helper's name. Please pick another nickname.")
}

// ---------------------------------------------------------------------------------------------
// The chat

/// The chat page for a credential whose chat is over.
pub const CHAT_ENDED_PAGE: &str = "This chat has ended. Thank you for taking part! To join a new one, type the code your teacher gives you.";
/// The chat socket for a credential whose chat is over.
pub const CHAT_ENDED: &str = "This chat has ended. Thank you for taking part!";
/// The chat socket without a credential for its group.
pub const JOIN_AGAIN: &str = "Please join your group again from the start page.";
pub const TOO_MANY_TABS: &str = "This chat is open in too many tabs. Please close the others.";
pub const SLOW_DOWN: &str = "Slow down a little, please.";
pub const FRAMES_ARE_JSON: &str = "Frames are JSON text.";
pub const SAY_HELLO_FIRST: &str = "Say hello first.";
/// A message the room could not take; the page sends it again by itself.
pub const WILL_SEND_AGAIN: &str =
    "Something went wrong on our side; your message will be sent again.";

/// A hello for another group's room.
pub const NOT_YOUR_GROUP: &str = "This is not your group.";
pub const MESSAGE_EMPTY: &str = "Your message is empty.";
pub const MUTED: &str = "Your teacher has paused your messages for a little while.";
pub const NO_SUCH_REPLY: &str = "reply_to names no message of this group.";

pub fn message_too_long(max_chars: usize) -> String {
    format!("Your message is too long: please keep it under {max_chars} letters.")
}

pub fn bad_client_msg_id(max_chars: usize) -> String {
    format!("client_msg_id must be 1 to {max_chars} characters.")
}

/// The session is paused or over (`paused`: which).
pub fn session_closed(paused: bool) -> String {
    let why = if paused { "paused" } else { "over" };
    format!("The session is {why}, so messages can't be sent right now.")
}

pub fn send_again_in(seconds: u64) -> String {
    format!("Slow down a little: you can send again in {seconds} seconds.")
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
pub fn help_again_in(seconds: u64) -> String {
    format!("Your teacher already knows you need help. You can ask again in {seconds} seconds.")
}

pub fn help_note_too_long(max_chars: usize) -> String {
    format!("Your note is a bit long: please keep it under {max_chars} letters.")
}

/// The session is over: nobody is watching any more.
pub const HELP_SESSION_OVER: &str =
    "The session is over, so your teacher can't get this here. Please ask them in person.";
/// Our fault: the request was not stored.
pub const HELP_NOT_SENT: &str =
    "Something went wrong on our side and your teacher was not told. Please try again.";
