-- Directives the moderator agent gave and whether the group followed them (issue 5). Keep in
-- step with ../postgres/0002_directives.sql.
CREATE TABLE directives (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id       INTEGER NOT NULL REFERENCES groups(id),
    kind           TEXT    NOT NULL CHECK (kind IN ('invite', 'vote', 'move_on')),
    target_id      INTEGER,
    message_seq    INTEGER,
    given_at       INTEGER NOT NULL,
    escalated_at   INTEGER,
    outcome        TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (outcome IN ('pending', 'followed', 'followed_after_escalation', 'ignored', 'superseded')),
    resolved_at    INTEGER
);
CREATE INDEX directives_group ON directives (group_id, id);
