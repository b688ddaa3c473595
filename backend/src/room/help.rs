//! "I need help": a child's private request to the teacher (issue 17).
//!
//! The request never reaches the group: it is stored as a notice of kind `help_request` about
//! the child (not about a message), shown at once on the facilitator's grid, and the child's
//! own connections are told that the teacher knows (`help_sent`). Its optional note passes the
//! same safety screen as a message (room/post.rs): personal data is hidden in what is stored as
//! the note (the facilitator may still read the original), and a disclosure makes the notice
//! urgent, exactly as the same words in a message would.

use std::time::Instant;

use super::actor::{clean_text, internal, RoomActor};
use super::post::Author;
use super::rate_limit::SlidingWindow;
use super::steer::HelpState;
use super::watch::WatchEvent;
use super::Outbound;
use crate::child_text;
use crate::protocol::{ErrorCode, ErrorFrame, ServerFrame, MAX_HELP_NOTE_CHARS};
use crate::safety::{Action, Verdict};
use crate::store::{self, Flag, NewHelpRequest, SessionStatus, Severity};

impl RoomActor {
    /// Validates, screens and stores a help request, shows it to the dashboards and tells
    /// the child. A refused one stores nothing and uses up nothing of the child's limit.
    pub(super) async fn help(
        &mut self,
        participant_id: i64,
        note: Option<String>,
    ) -> Result<(), ErrorFrame> {
        let refuse = |code, message: String| Err(ErrorFrame::new(code, message).for_help());
        if !self.connections.values().any(|p| *p == participant_id) {
            return refuse(ErrorCode::NotReady, child_text::SAY_HELLO_FIRST.into());
        }
        let note = note
            .map(|n| clean_text(&n).trim().to_string())
            .filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_HELP_NOTE_CHARS)
        {
            return refuse(
                ErrorCode::MessageTooLong,
                child_text::help_note_too_long(self.lang, MAX_HELP_NOTE_CHARS),
            );
        }
        // A paused session, or a child whose messages are paused, may still ask: that is
        // when help is most needed. Only an ended session has nobody watching.
        if self.session.status == SessionStatus::Ended {
            return refuse(
                ErrorCode::SessionClosed,
                child_text::help_session_over(self.lang),
            );
        }
        let window = self.deps.config.help_window;
        let limit = self
            .help_limits
            .entry(participant_id)
            .or_insert_with(|| SlidingWindow::new(1, window));
        if let Err(wait) = limit.try_send(Instant::now()) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut e = ErrorFrame::new(
                ErrorCode::RateLimited,
                child_text::help_again_in(self.lang, secs),
            )
            .for_help();
            e.retry_after_ms = Some(wait.as_millis().max(1) as u64);
            return Err(e);
        }
        let verdict = match &note {
            Some(n) => {
                let rules = self.screen(Author::Child(participant_id), n);
                Some(self.classified(n, rules).await)
            }
            None => None,
        };
        let request = self.help_request(participant_id, note.as_deref(), verdict.as_ref());
        let flag = match self.deps.store.raise_help_request(&request).await {
            Ok(flag) => flag,
            Err(e) => {
                // Not stored: the child may try again at once.
                self.help_limits.remove(&participant_id);
                let mut f = internal(self.lang, "help request", e).for_help();
                f.message = child_text::help_not_sent(self.lang);
                return Err(f);
            }
        };
        self.publish(WatchEvent::notice(self.group.id, flag.clone(), None));
        self.send_to(participant_id, &help_sent(&flag));
        Ok(())
    }

    /// What is stored of a request: the screened note, the original when the screen changed
    /// it, and the facilitator's sentence (urgent when the note is a disclosure).
    fn help_request(
        &self,
        participant_id: i64,
        note: Option<&str>,
        verdict: Option<&Verdict>,
    ) -> NewHelpRequest {
        let who = self.nickname_of(Some(participant_id));
        let action = verdict.map_or(Action::Allow, |v| v.action);
        let detail = match (action, verdict) {
            (Action::Urgent, Some(v)) => format!(
                "{who} asked for help and may need it urgently ({}). Talk with them privately; the group did not see it.",
                v.reason()
            ),
            (Action::Allow, _) | (_, None) => format!("{who} asked for help."),
            (_, Some(v)) => format!("{who} asked for help (their note has {}).", v.reason()),
        };
        let shown = verdict.map(|v| v.shown.clone());
        NewHelpRequest {
            group_id: self.group.id,
            participant_id,
            detail,
            severity: if action == Action::Urgent {
                Severity::Urgent
            } else {
                Severity::Notice
            },
            original_note: note
                .filter(|n| shown.as_deref() != Some(*n))
                .map(str::to_string),
            note: shown,
            created_at: store::now_ms(),
        }
    }

    /// A child's frame saying where their request stands (`seen`, `dealt_with`).
    pub(super) fn tell_help(&self, participant_id: i64, asked_at_ms: i64, state: HelpState) {
        self.send_to(
            participant_id,
            &ServerFrame::HelpSent {
                asked_at_ms,
                state: state.as_str().into(),
            },
        );
    }

    /// For a child's hello: their open help request, if any, as a frame for that connection
    /// alone (after the replay), so a reloaded page still shows that the teacher was told.
    pub(super) async fn help_reminder(&self, participant_id: i64) -> Option<Outbound> {
        match self
            .deps
            .store
            .open_help_request(self.group.id, participant_id)
            .await
        {
            Ok(flag) => flag.map(|flag| Outbound {
                json: help_sent(&flag).to_json().into(),
                seq: None,
                skip_participant: None,
                only_participant: Some(participant_id),
            }),
            Err(e) => {
                // The chat goes on without the reminder; the request itself is safe.
                tracing::warn!(group = self.group.id, error = %e, "could not read open help requests");
                None
            }
        }
    }
}

fn help_sent(flag: &Flag) -> ServerFrame {
    let state = if flag.seen_at.is_some() {
        HelpState::Seen
    } else {
        HelpState::New
    };
    ServerFrame::HelpSent {
        asked_at_ms: flag.created_at,
        state: state.as_str().into(),
    }
}
