//! The one way a message reaches a group, whoever wrote it (a child, the agent, the
//! facilitator): screen -> store -> (acknowledge) -> deliver. (The schema's `system` sender
//! has no author yet; a system line would be posted here too, screened like the agent's.)
//!
//! Every kind of message goes through [`RoomActor::post`] and then [`RoomActor::deliver`], so
//! none can skip the safety screen: what the screen decided is stored with the message in the
//! same transaction (a held message is inserted hidden, never visible for a moment, and its
//! notice for the facilitator is committed with it), and only then does anything leave the
//! room. The two steps are apart because a child's message is acknowledged to its sender
//! between them (the sender's socket writes the ack before it reads the broadcast).

use super::actor::RoomActor;
use super::watch::{WatchEvent, WatchedMessage};
use crate::protocol::ServerFrame;
use crate::safety::classifier::Turn;
use crate::safety::{Action, Category, Level, ScreenInput, Verdict};
use crate::store::{
    Message, NewAudit, NewMessage, NewNotice, Screening, SenderKind, Severity, StoreError,
};

/// Who is posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Author {
    Child(i64),
    Agent,
    Facilitator(i64),
}

impl Author {
    fn kind(self) -> SenderKind {
        match self {
            Author::Child(_) => SenderKind::Child,
            Author::Agent => SenderKind::Agent,
            Author::Facilitator(_) => SenderKind::Facilitator,
        }
    }

    fn id(self) -> Option<i64> {
        match self {
            Author::Child(id) | Author::Facilitator(id) => Some(id),
            Author::Agent => None,
        }
    }
}

/// A message about to be posted.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub author: Author,
    pub client_msg_id: String,
    pub text: String,
    pub reply_to: Option<i64>,
    pub created_at: i64,
    /// A facilitator's post's audit entry, stored with it (`NewMessage::audit`).
    pub audit: Option<NewAudit>,
}

/// A stored message and what the screen decided about it.
#[derive(Debug, Clone)]
pub(super) struct Posted {
    pub message: Message,
    /// Stored before under the same client id: nothing new was written or is delivered.
    pub duplicate: bool,
    pub verdict: Verdict,
    pub notice: Option<crate::store::Flag>,
}

impl Posted {
    /// Whether the group sees it.
    pub fn shown(&self) -> bool {
        self.message.moderation != crate::store::Moderation::Hidden
    }
}

/// Why a post was not stored.
#[derive(Debug, thiserror::Error)]
pub(super) enum PostError {
    /// The facilitator's own message would have been held: it is not posted, and they are
    /// told why (an adult's words are not kept back silently).
    #[error("This message was not posted because it looks like {0}. Please write it another way.")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RoomActor {
    /// Screens and stores a message (hidden when held). Nothing is shown yet: see `deliver`.
    pub(super) async fn post(&mut self, draft: Draft) -> Result<Posted, PostError> {
        let mut verdict = self.screen(draft.author, &draft.text);
        if let Author::Child(_) = draft.author {
            verdict = self.classified(&draft.text, verdict).await;
        }
        if matches!(draft.author, Author::Facilitator(_)) && verdict.action >= Action::Hold {
            return Err(PostError::Refused(verdict.reason()));
        }
        if draft.author == Author::Agent && verdict.action > Action::Allow {
            // The agent's own words (no child's): worth a line in the log, to tune prompts.
            tracing::warn!(group = self.group.id, reason = %verdict.reason(), text = %draft.text, "the agent's reply was held by the safety screen");
        }
        let screening = self.screening(draft.author, &draft.text, &verdict);
        let new = NewMessage {
            group_id: self.group.id,
            client_msg_id: draft.client_msg_id,
            sender_kind: draft.author.kind(),
            sender_id: draft.author.id(),
            text: verdict.shown.clone(),
            phase: self.phases.current().map(|p| p.name.clone()),
            created_at: draft.created_at,
            reply_to: draft.reply_to,
            screening,
            audit: draft.audit,
        };
        let appended = self.deps.store.append_message(&new).await?;
        self.remember(&appended.message);
        if !appended.duplicate {
            self.last_seq = self.last_seq.max(appended.message.seq);
        }
        Ok(Posted {
            message: appended.message,
            duplicate: appended.duplicate,
            verdict,
            notice: appended.notice,
        })
    }

    /// Shows a stored message: to the group when it may see it, to the dashboards always
    /// (with the original and the screen's reason), a private note to the child who wrote a
    /// message the screen changed or held, and the agent hears what the group heard.
    pub(super) async fn deliver(&mut self, posted: &Posted) {
        if posted.duplicate {
            return;
        }
        let m = &posted.message;
        if posted.shown() {
            let _ = self.events.send(self.message_outbound(m));
        }
        let watched = WatchedMessage::new(m, self.sender_name(m));
        self.publish(WatchEvent::Message {
            group_id: self.group.id,
            message: watched.clone(),
        });
        if let Some(flag) = &posted.notice {
            self.publish(WatchEvent::notice(
                self.group.id,
                flag.clone(),
                Some(watched),
            ));
        }
        if let (SenderKind::Child, Some(child), Some(category)) =
            (m.sender_kind, m.sender_id, posted.verdict.category)
        {
            // A mild word masked at the standard level ("d**n") is shown: nothing to tell
            // the child (the note for mild words is for the strict level, where it is held).
            let masked_only = posted.verdict.action == Action::Redact && category == Category::Mild;
            if posted.verdict.action > Action::Allow && !masked_only {
                let note = self.deps.screen.note(&self.session.language, category);
                self.send_to(
                    child,
                    &ServerFrame::SafetyNote {
                        seq: m.seq,
                        client_msg_id: m.client_msg_id.clone(),
                        action: posted.verdict.action.as_str().to_string(),
                        note,
                    },
                );
            }
        }
        if !posted.shown() {
            return;
        }
        match m.sender_kind {
            SenderKind::Child => self.seat_hears_child(m).await,
            SenderKind::Facilitator => {
                if let Some(seat) = self.agent.as_mut() {
                    seat.hear_adult(&m.text);
                }
            }
            SenderKind::Agent | SenderKind::System => {}
        }
    }

    /// The screen's verdict for this author. Children's and the facilitator's words get the
    /// children's screen at the session's level; the agent's the stricter agent screen (no personal data at all, no mild words, nothing of its own prompt).
    pub(super) fn screen(&self, author: Author, text: &str) -> Verdict {
        let screen = &self.deps.screen;
        let language = self.session.language.as_str();
        match author {
            Author::Child(_) | Author::Facilitator(_) => {
                let names = self.screen_names();
                let level = self.session.safety_level.parse().unwrap_or(Level::Standard);
                screen.check(&ScreenInput {
                    text,
                    language,
                    level,
                    names: &names,
                })
            }
            Author::Agent => {
                let instructions =
                    super::seat::instructions(&self.deps.config.agent.templates, &self.seat_view());
                screen.check_agent(text, language, &instructions)
            }
        }
    }

    /// The optional classifier's word on a child's message: it can only make the rules'
    /// verdict stricter. Slow, down or unreadable, it leaves the rules' verdict (logged), so
    /// the chat never waits longer than its `wait`.
    pub(super) async fn classified(&self, text: &str, rules: Verdict) -> Verdict {
        let Some(classifier) = &self.deps.classifier else {
            return rules;
        };
        if rules.action == Action::Urgent {
            return rules;
        }
        match classifier.classify(text, Turn::User).await {
            Ok(guard) => {
                let (action, category) = guard.action();
                if action > rules.action {
                    Verdict {
                        action,
                        category,
                        ..rules
                    }
                } else {
                    rules
                }
            }
            Err(e) => {
                tracing::warn!(group = self.group.id, error = %e, "safety classifier gave no verdict; the rules' stands");
                rules
            }
        }
    }

    /// The names the screen knows as people of this group (insults aimed at someone).
    pub(super) fn screen_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .participants
            .values()
            .map(|p| p.nickname.clone())
            .collect();
        names.push(self.session.agent_name.clone());
        names
    }

    /// What is stored of the verdict with the message, and the facilitator's notice.
    fn screening(&self, author: Author, original: &str, verdict: &Verdict) -> Screening {
        let category = verdict.category.map(|c| c.as_str().to_string());
        let reason = (verdict.action > Action::Allow).then(|| verdict.reason());
        let who = match author {
            Author::Child(id) => self.nickname_of(Some(id)),
            Author::Agent => self.session.agent_name.clone(),
            Author::Facilitator(_) => "the teacher".into(),
        };
        let notice = match verdict.action {
            Action::Allow => None,
            // A masked mild word is no news for the teacher.
            Action::Redact if verdict.category == Some(Category::Mild) => None,
            Action::Redact => Some(NewNotice {
                kind: "redacted".into(),
                detail: format!(
                    "{who} shared {}: the group saw it hidden.",
                    verdict.reason()
                ),
                severity: Severity::Notice,
            }),
            Action::Hold => Some(NewNotice {
                kind: "held".into(),
                detail: format!(
                    "A message from {who} was held back ({}). Release it to the group or keep it hidden.",
                    verdict.reason()
                ),
                severity: Severity::Notice,
            }),
            Action::Urgent => Some(NewNotice {
                kind: "safeguarding".into(),
                detail: format!(
                    "{who} may need help ({}). Talk with them privately; the group did not see it.",
                    verdict.reason()
                ),
                severity: Severity::Urgent,
            }),
        };
        Screening {
            hidden: verdict.action >= Action::Hold,
            original_text: (verdict.shown != original).then(|| original.to_string()),
            action: verdict.action.as_str().to_string(),
            category,
            reason,
            notice,
        }
    }

    /// The name a message is shown under on the dashboard.
    pub(super) fn sender_name(&self, m: &Message) -> String {
        let child = m.sender_id.and_then(|id| self.participants.get(&id));
        crate::protocol::sender_name(
            m.sender_kind,
            child.map(|p| p.nickname.as_str()),
            &self.session.agent_name,
        )
    }
}
