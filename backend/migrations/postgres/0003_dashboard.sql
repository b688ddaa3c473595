-- The facilitator dashboard (issue 6). Keep in step with ../sqlite/0003_dashboard.sql.

-- A facilitator's signed-in browser. Only the hash of the cookie's token is kept, so a copy of
-- the database does not let anyone in; the CSRF token is per sign-in.
CREATE TABLE facilitator_logins (
    token_hash     TEXT    PRIMARY KEY,
    facilitator_id BIGINT  NOT NULL REFERENCES facilitators(id),
    csrf_token     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX facilitator_logins_facilitator ON facilitator_logins (facilitator_id);

-- Phase durations chosen for this session (minutes, comma-separated, one per phase); NULL
-- keeps the activity's own.
ALTER TABLE sessions ADD COLUMN phase_minutes TEXT;

-- Kept in the database so that a pause outlives the room's actor (which stops when nobody is
-- connected) and a restart of the server: 0 = the agent acts, 1 = paused by the facilitator.
ALTER TABLE groups ADD COLUMN agent_paused BIGINT NOT NULL DEFAULT 0;
