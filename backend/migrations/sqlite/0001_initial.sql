-- peerlearn schema, SQLite flavour. Keep in step with ../postgres/0001_initial.sql: the two
-- differ only in types and identity columns; the store's queries are shared.
CREATE TABLE facilitators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    facilitator_id INTEGER REFERENCES facilitators(id),
    activity_id    TEXT    NOT NULL,
    language       TEXT    NOT NULL,
    agent_name     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('created', 'running', 'paused', 'ended')),
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    ended_at       INTEGER
);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    name        TEXT    NOT NULL,
    join_code   TEXT    NOT NULL,
    agent_role  TEXT    NOT NULL CHECK (agent_role IN ('moderator', 'participant', 'none')),
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
-- A join code is unique among groups that are still open; ended sessions free their codes.
CREATE UNIQUE INDEX groups_open_join_code ON groups (join_code) WHERE closed_at IS NULL;
CREATE INDEX groups_session ON groups (session_id);

CREATE TABLE participants (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id        INTEGER NOT NULL REFERENCES groups(id),
    nickname        TEXT    NOT NULL,
    nickname_key    TEXT    NOT NULL,
    avatar          TEXT    NOT NULL,
    credential_hash TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    muted_until     INTEGER,
    UNIQUE (group_id, nickname_key)
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id      INTEGER NOT NULL REFERENCES groups(id),
    seq           INTEGER NOT NULL,
    client_msg_id TEXT    NOT NULL,
    sender_kind   TEXT    NOT NULL CHECK (sender_kind IN ('child', 'agent', 'facilitator', 'system')),
    sender_id     INTEGER,
    text          TEXT    NOT NULL,
    phase         TEXT,
    created_at    INTEGER NOT NULL,
    reply_to      INTEGER,
    moderation    TEXT    NOT NULL DEFAULT 'visible' CHECK (moderation IN ('visible', 'hidden', 'flagged')),
    moderated_by  INTEGER,
    moderated_at  INTEGER,
    UNIQUE (group_id, seq),
    UNIQUE (group_id, client_msg_id)
);

CREATE TABLE agent_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id         INTEGER NOT NULL REFERENCES groups(id),
    created_at       INTEGER NOT NULL,
    trigger          TEXT    NOT NULL,
    decision         TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    message_seq      INTEGER,
    prompt_version   TEXT,
    model            TEXT,
    prompt_tokens    INTEGER,
    cached_tokens    INTEGER,
    generated_tokens INTEGER,
    ttft_ms          INTEGER,
    total_ms         INTEGER
);
CREATE INDEX agent_events_group ON agent_events (group_id, id);

CREATE TABLE flags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id    INTEGER NOT NULL REFERENCES groups(id),
    message_seq INTEGER,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX flags_group ON flags (group_id, id);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    facilitator_id INTEGER,
    action         TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
