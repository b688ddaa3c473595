-- Children's data: how long a session is kept, and the consent given for it. Keep in step
-- with ../postgres/0008_retention.sql.
--
-- A session is deleted (by `peerlearn purge`, or the timer inside `serve`) `retention_days`
-- after it ended; one never ended counts from its last message, or its creation.
ALTER TABLE sessions ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 180
    CHECK (retention_days BETWEEN 1 AND 3650);

-- Who gave consent for what and when. `recorded_by` is the facilitator who wrote it down
-- (NULL from the command line). Deleted with the session.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     INTEGER NOT NULL REFERENCES sessions(id),
    kind           TEXT    NOT NULL CHECK (kind IN ('school', 'parents', 'child_assent', 'other')),
    given_on       TEXT    NOT NULL,
    note           TEXT    NOT NULL,
    recorded_by    INTEGER REFERENCES facilitators(id),
    created_at     INTEGER NOT NULL
);
CREATE INDEX consents_session ON consents (session_id, id);
