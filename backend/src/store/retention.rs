//! Children's data over time: how long a session is kept, deleting it (by hand or when its
//! retention period is over), and the consent records it was collected under.
//!
//! A session is kept `retention_days` (1 to [`MAX_RETENTION_DAYS`], [`DEFAULT_RETENTION_DAYS`]
//! unless its creator chose otherwise) counted from its end. A session that was never ended
//! counts from its last message, or from its creation when nobody wrote, so a session left
//! running is not deleted while a class still uses it.
//!
//! Deleting a session removes, in one transaction, everything it holds: messages,
//! participants (nicknames, avatars and credential hashes), the agent's decisions,
//! directives, notices (flags), the codebook and every coding, consent records, the groups
//! and the session row. Facilitator accounts and sign-ins are not children's data and stay.
//! The audit log gets one entry in the same transaction (who or `purge`, when, how many rows
//! of each kind), so a deletion is either complete and recorded or did not happen.
//!
//! Tables added later that hold rows of a group, a participant or a message must be added to
//! [`Store::delete_session`], or the deletion fails on their foreign key (which is the safe
//! way round: nothing is left behind silently).

use serde::Serialize;
use sqlx::AnyConnection;

use super::log::commit_audited;
use super::{ConsentKind, NewAudit, Result, Store, StoreError};

pub const DEFAULT_RETENTION_DAYS: u32 = 180;
pub const MAX_RETENTION_DAYS: u32 = 3650;
const DAY_MS: i64 = 86_400_000;
/// Longest consent note accepted.
pub const MAX_CONSENT_NOTE_CHARS: usize = 2000;

/// Checks a retention period in days; the message says what is expected.
pub fn check_retention_days(days: i64) -> Result<u32, String> {
    if (1..=i64::from(MAX_RETENTION_DAYS)).contains(&days) {
        Ok(days as u32)
    } else {
        Err(format!(
            "the retention period is {days} days; expected a whole number of days from 1 to {MAX_RETENTION_DAYS}"
        ))
    }
}

/// How many rows of each kind a deletion removed (or, before it, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionRows {
    pub messages: u64,
    pub participants: u64,
    pub agent_events: u64,
    pub directives: u64,
    pub flags: u64,
    pub codings: u64,
    pub codes: u64,
    pub consents: u64,
    pub groups: u64,
    pub sessions: u64,
}

impl SessionRows {
    /// `messages=12 participants=3 ...`, as the audit log and the command line show it.
    pub fn detail(&self) -> String {
        format!(
            "messages={} participants={} agent_events={} directives={} flags={} codings={} \
             codes={} consents={} groups={} sessions={}",
            self.messages,
            self.participants,
            self.agent_events,
            self.directives,
            self.flags,
            self.codings,
            self.codes,
            self.consents,
            self.groups,
            self.sessions
        )
    }
}

/// A session whose retention period is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredSession {
    pub session_id: i64,
    pub retention_days: i64,
    /// What the period counts from: the end, else the last message, else the creation.
    pub counted_from: i64,
    /// When the period ended.
    pub expired_at: i64,
}

/// Who deletes a session, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleter<'a> {
    /// The retention period is over (`peerlearn purge` or the server's timer).
    Purge,
    /// `peerlearn session delete`.
    CommandLine,
    /// A facilitator on the dashboard.
    Facilitator { id: i64, name: &'a str },
}

/// A consent record of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ConsentRecord {
    pub id: i64,
    pub session_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ConsentKind,
    /// The day consent was given, `YYYY-MM-DD`.
    pub given_on: String,
    pub note: String,
    pub recorded_by: Option<i64>,
    /// The recording facilitator's name; None when recorded from the command line.
    pub recorded_by_name: Option<String>,
    pub created_at: i64,
}

/// A consent record to add, already checked with [`check_consent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub kind: ConsentKind,
    pub given_on: String,
    pub note: String,
}

/// Reads a consent record as typed by a person: a kind (`school`, `parents`, `child-assent`
/// or `child_assent`, `other`), a date `YYYY-MM-DD` (a real day, from 2000 and not after
/// `today_ms`'s day plus one, for time zones), and a note (may be empty, except for `other`,
/// where it must say what was consented to; at most [`MAX_CONSENT_NOTE_CHARS`]).
pub fn check_consent(
    kind: &str,
    date: &str,
    note: &str,
    today_ms: i64,
) -> Result<NewConsent, String> {
    let kind: ConsentKind = kind
        .trim()
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .parse()
        .map_err(|_| {
            format!(
                "unknown consent kind {kind:?}; expected school, parents, child-assent or other"
            )
        })?;
    let date = date.trim();
    let day = parse_day(date).ok_or_else(|| {
        format!("the consent date {date:?} is not a day; expected YYYY-MM-DD, e.g. 2026-11-20")
    })?;
    if day < days_from_civil(2000, 1, 1) || day > today_ms.div_euclid(DAY_MS) + 1 {
        return Err(format!(
            "the consent date {date} is not plausible; expected a day from 2000-01-01 to today"
        ));
    }
    let note = note.trim();
    if note.chars().count() > MAX_CONSENT_NOTE_CHARS {
        return Err(format!(
            "the consent note is longer than {MAX_CONSENT_NOTE_CHARS} characters"
        ));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("the consent note holds control characters".into());
    }
    if kind == ConsentKind::Other && note.is_empty() {
        return Err("a consent of kind other needs a note saying what was consented to".into());
    }
    Ok(NewConsent {
        kind,
        given_on: date.to_string(),
        note: note.to_string(),
    })
}

/// `YYYY-MM-DD` as days since the epoch, if it is a real day.
fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&d)
        .then(|| days_from_civil(y, m, d))
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const CONSENT_SELECT: &str =
    "SELECT c.id, c.session_id, c.kind, c.given_on, c.note, c.recorded_by, \
                              f.name AS recorded_by_name, c.created_at \
                              FROM consents c LEFT JOIN facilitators f ON f.id = c.recorded_by";

/// Statements that delete a session's rows, in an order its foreign keys allow; `$1` is the
/// session id. The name is the counter it adds to.
const DELETES: &[(&str, &str)] = &[
    (
        "codings",
        "DELETE FROM codings WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1) \
         OR code_id IN (SELECT id FROM codes WHERE session_id = $1)",
    ),
    ("codes", "DELETE FROM codes WHERE session_id = $1"),
    (
        "directives",
        "DELETE FROM directives WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1)",
    ),
    (
        "flags",
        "DELETE FROM flags WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1)",
    ),
    (
        "agent_events",
        "DELETE FROM agent_events WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1)",
    ),
    (
        "messages",
        "DELETE FROM messages WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1)",
    ),
    (
        "participants",
        "DELETE FROM participants WHERE group_id IN (SELECT id FROM groups WHERE session_id = $1)",
    ),
    ("consents", "DELETE FROM consents WHERE session_id = $1"),
    ("groups", "DELETE FROM groups WHERE session_id = $1"),
    ("sessions", "DELETE FROM sessions WHERE id = $1"),
];

fn counter<'a>(rows: &'a mut SessionRows, name: &str) -> &'a mut u64 {
    match name {
        "messages" => &mut rows.messages,
        "participants" => &mut rows.participants,
        "agent_events" => &mut rows.agent_events,
        "directives" => &mut rows.directives,
        "flags" => &mut rows.flags,
        "codings" => &mut rows.codings,
        "codes" => &mut rows.codes,
        "consents" => &mut rows.consents,
        "groups" => &mut rows.groups,
        _ => &mut rows.sessions,
    }
}

impl Store {
    /// Sessions whose retention period ended at or before `now`, oldest first.
    pub async fn expired_sessions(&self, now: i64) -> Result<Vec<ExpiredSession>> {
        // The creation is the earliest the period can count from, so only these can be due.
        let candidates: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, retention_days, created_at, ended_at FROM sessions \
             WHERE created_at + retention_days * 86400000 <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut expired = Vec::new();
        for (id, days, created_at, ended_at) in candidates {
            let counted_from = match ended_at {
                Some(end) => end,
                None => {
                    let last: Option<i64> = sqlx::query_scalar(
                        "SELECT MAX(m.created_at) FROM messages m \
                         JOIN groups g ON g.id = m.group_id WHERE g.session_id = $1",
                    )
                    .bind(id)
                    .fetch_one(self.pool())
                    .await?;
                    last.map_or(created_at, |l| l.max(created_at))
                }
            };
            let expired_at = counted_from.saturating_add(days.saturating_mul(DAY_MS));
            if expired_at <= now {
                expired.push(ExpiredSession {
                    session_id: id,
                    retention_days: days,
                    counted_from,
                    expired_at,
                });
            }
        }
        Ok(expired)
    }

    /// How many rows deleting the session would remove (for `--dry-run` and confirmations).
    pub async fn session_rows(&self, session_id: i64) -> Result<SessionRows> {
        let mut conn = self.pool().acquire().await?;
        let mut rows = SessionRows::default();
        for (name, delete) in DELETES {
            let count_sql = delete.replacen("DELETE FROM", "SELECT COUNT(*) FROM", 1);
            let n: i64 = sqlx::query_scalar(&count_sql)
                .bind(session_id)
                .fetch_one(&mut *conn)
                .await?;
            *counter(&mut rows, name) = n as u64;
        }
        if rows.sessions == 0 {
            return Err(StoreError::NotFound("session"));
        }
        Ok(rows)
    }

    /// Deletes the session and everything it holds in one transaction, with its audit entry
    /// (see the module documentation). `reason` goes into the audit detail.
    pub async fn delete_session(
        &self,
        session_id: i64,
        by: Deleter<'_>,
        reason: &str,
        at: i64,
    ) -> Result<SessionRows> {
        let mut tx = self.writer().begin().await?;
        let rows = delete_in(&mut tx, session_id).await?;
        if rows.sessions == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound("session"));
        }
        let (facilitator_id, action, who) = match by {
            Deleter::Purge => (None, "purge", "purge".to_string()),
            Deleter::CommandLine => (None, "delete_session", "command line".to_string()),
            Deleter::Facilitator { id, name } => (Some(id), "delete_session", name.to_string()),
        };
        let audit = NewAudit {
            facilitator_id,
            action: action.to_string(),
            target: format!("session {session_id}"),
            detail: format!("by={who} {reason} {}", rows.detail()),
            created_at: at,
        };
        commit_audited(tx, Some(&audit)).await?;
        Ok(rows)
    }

    /// Deletes every session whose retention period is over at `now`, each in its own
    /// transaction, audited as `purge`. A session deleted meanwhile by someone else is skipped.
    pub async fn purge_expired(&self, now: i64) -> Result<Vec<(ExpiredSession, SessionRows)>> {
        let mut done = Vec::new();
        for e in self.expired_sessions(now).await? {
            let reason = format!(
                "reason=retention retention_days={} expired_at={}",
                e.retention_days, e.expired_at
            );
            match self
                .delete_session(e.session_id, Deleter::Purge, &reason, now)
                .await
            {
                Ok(rows) => done.push((e, rows)),
                Err(StoreError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(done)
    }

    /// Records a consent of a session; `recorded_by` is the facilitator writing it down.
    pub async fn add_consent(
        &self,
        session_id: i64,
        consent: &NewConsent,
        recorded_by: Option<i64>,
        at: i64,
    ) -> Result<ConsentRecord> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO consents (session_id, kind, given_on, note, recorded_by, created_at) \
             SELECT id, $2, $3, $4, $5, $6 FROM sessions WHERE id = $1 RETURNING id",
        )
        .bind(session_id)
        .bind(consent.kind.as_str())
        .bind(&consent.given_on)
        .bind(&consent.note)
        .bind(recorded_by)
        .bind(at)
        .fetch_optional(self.writer())
        .await?;
        let id = id.ok_or(StoreError::NotFound("session"))?;
        Ok(sqlx::query_as(&format!("{CONSENT_SELECT} WHERE c.id = $1"))
            .bind(id)
            .fetch_one(self.writer())
            .await?)
    }

    /// A session's consent records, in the order they were recorded.
    pub async fn consents(&self, session_id: i64) -> Result<Vec<ConsentRecord>> {
        Ok(sqlx::query_as(&format!(
            "{CONSENT_SELECT} WHERE c.session_id = $1 ORDER BY c.id"
        ))
        .bind(session_id)
        .fetch_all(self.pool())
        .await?)
    }
}

async fn delete_in(conn: &mut AnyConnection, session_id: i64) -> Result<SessionRows> {
    let mut rows = SessionRows::default();
    for (name, sql) in DELETES {
        let done = sqlx::query(sql)
            .bind(session_id)
            .execute(&mut *conn)
            .await?;
        *counter(&mut rows, name) = done.rows_affected();
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 1_795_651_200_000; // 2026-11-26

    #[test]
    fn consent_input_is_checked() {
        let ok = check_consent("Child-Assent", "2026-11-20", "  asked in class ", TODAY).unwrap();
        assert_eq!(ok.kind, ConsentKind::ChildAssent);
        assert_eq!(ok.note, "asked in class");
        assert!(check_consent("parents", "2026-11-20", "", TODAY).is_ok());
        assert!(check_consent("school", "2024-02-29", "head teacher", TODAY).is_ok());
        for (kind, date, note, says) in [
            ("teacher", "2026-11-20", "", "unknown consent kind"),
            ("parents", "2026-13-01", "", "not a day"),
            ("parents", "2025-02-29", "", "not a day"),
            ("parents", "20-11-2026", "", "not a day"),
            ("parents", "2026-1-20", "", "not a day"),
            ("parents", "1999-12-31", "", "not plausible"),
            ("parents", "2027-01-01", "", "not plausible"),
            ("other", "2026-11-20", " ", "needs a note"),
        ] {
            let err = check_consent(kind, date, note, TODAY).unwrap_err();
            assert!(err.contains(says), "{kind} {date}: {err}");
        }
        let long = "x".repeat(MAX_CONSENT_NOTE_CHARS + 1);
        assert!(check_consent("parents", "2026-11-20", &long, TODAY).is_err());
    }

    #[test]
    fn retention_days_are_bounded() {
        assert_eq!(check_retention_days(180), Ok(180));
        for bad in [0, -1, 3651] {
            assert!(check_retention_days(bad).unwrap_err().contains("1 to 3650"));
        }
    }

    #[test]
    fn days_are_counted_like_the_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 26) * DAY_MS, TODAY);
    }
}
