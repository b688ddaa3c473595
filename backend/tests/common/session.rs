//! Sessions made straight in the store, for the tests about what happens once one exists
//! (the dashboard's own form is in [`super::facilitator`]).

use peerlearn::store::{
    now_ms, AgentRole, Group, NewGroup, NewSession, Session, SessionStatus, Store,
};

/// A playground session in English with the agent "Blue", one group per role ("Group 1",
/// "Group 2", ...), created now at the standard safety level. A test changes what it is about
/// with struct update syntax: `NewSession { created_at: 1_000, ..new_session(&[role]) }`.
pub fn new_session(roles: &[AgentRole]) -> NewSession {
    NewSession {
        facilitator_id: None,
        activity_id: "playground".into(),
        language: "en".into(),
        agent_name: "Blue".into(),
        groups: NewGroup::numbered(roles.iter().copied()),
        created_at: now_ms(),
        phase_minutes: None,
        safety_level: "standard".into(),
    }
}

/// Creates [`new_session`] with these roles and sets it running, as a teacher's Start does;
/// the running session and its groups.
pub async fn running_session(store: &Store, roles: &[AgentRole]) -> (Session, Vec<Group>) {
    let (session, groups) = store
        .create_session(&new_session(roles))
        .await
        .expect("create a session");
    let session = store
        .set_session_status(session.id, SessionStatus::Running, now_ms())
        .await
        .expect("start the session");
    (session, groups)
}
