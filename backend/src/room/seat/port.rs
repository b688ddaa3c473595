//! The narrow interface between the agent's seat and its room. The seat decides; the room
//! carries out what it decides: posting through the one post path, frames to the group, events
//! for the dashboards, the store's log and directive tables. The seat sees the room only
//! through [`RoomView`], read-only, so everything the agent knows of the room is listed here,
//! and a test can drive the seat with a recording room instead of a real one
//! (`seat/tests.rs`).

use crate::activity::{Activity, Phase};
use crate::agent::directives::{Directive, Kind, Outcome};
use crate::protocol::ServerFrame;
use crate::room::post::Posted;
use crate::room::watch::WatchEvent;
use crate::store::{AgentEvent, AgentRole};

/// What the seat may read of its room, at the moment it asks.
#[derive(Debug, Clone)]
pub(in crate::room) struct RoomView<'a> {
    pub group_id: i64,
    /// The session is running: before it starts, and while it is paused or over, the agent
    /// only listens.
    pub session_running: bool,
    pub agent_name: &'a str,
    /// The session's language code ("en", "de"...).
    pub language: &'a str,
    /// The agent's role in this group (the room keeps it, with the store).
    pub role: AgentRole,
    /// Every child the room knows, by participant id, with their nickname.
    pub children: Vec<(i64, &'a str)>,
    /// How many children are connected now.
    pub online: usize,
    pub activity: Option<&'a Activity>,
    /// The activity's title as the room shows it (its id when the activity file is gone).
    pub activity_title: &'a str,
    /// The phase running now, if any.
    pub phase: Option<&'a Phase>,
    /// The first phase is running (the opening line is said then).
    pub opening: bool,
}

impl RoomView<'_> {
    /// A child's nickname; "someone" for one the room does not know (never an id).
    pub fn nickname(&self, participant_id: Option<i64>) -> String {
        participant_id
            .and_then(|id| self.children.iter().find(|(pid, _)| *pid == id))
            .map_or_else(
                || crate::protocol::UNKNOWN_CHILD_NAME.to_string(),
                |(_, name)| name.to_string(),
            )
    }
}

/// What the room does for its seat. Implemented by the room actor (`room/seat_effects.rs`) and
/// by the recording room of the seat's tests.
pub(in crate::room) trait SeatRoom {
    fn view(&self) -> RoomView<'_>;

    /// The agent's name alone: read for every token of a reply, where building the whole
    /// view would cost an allocation per token.
    fn agent_name(&self) -> &str;

    /// A frame for every child of the group (the agent's streaming frames).
    fn broadcast(&self, frame: ServerFrame);

    /// An event for the facilitators watching the session.
    fn publish(&self, event: WatchEvent);

    /// Stores the agent's words through the room's one post path (screened as a whole, stored
    /// hidden if held). None when it could not be stored. Nothing is shown yet: the seat ends
    /// its stream first, then asks for [`SeatRoom::deliver`].
    async fn post(&mut self, text: &str, reply_to: Option<i64>, now_ms: i64) -> Option<Posted>;

    /// Shows a stored message to whoever should see it (the post path's second half).
    async fn deliver(&mut self, posted: &Posted);

    /// Writes an entry of the agent's decision log (and shows it on the dashboard).
    async fn record(&self, event: AgentEvent);

    /// Stores a directive the agent just gave; its id (0 when it could not be stored).
    async fn store_directive(
        &self,
        kind: Kind,
        target: Option<i64>,
        message_seq: i64,
        now_ms: i64,
    ) -> i64;

    /// Stores what became of a directive.
    async fn resolve_directive(&self, directive: &Directive, outcome: Outcome, now_ms: i64);

    /// Raises a notice for the facilitator (a directive the group ignored).
    async fn raise_notice(&self, kind: &str, detail: &str, now_ms: i64);
}
