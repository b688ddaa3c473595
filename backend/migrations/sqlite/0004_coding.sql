-- Codebook and codings for thematic analysis (issue 7). Keep in step with
-- ../postgres/0004_coding.sql. (0003 is the facilitator tables of the dashboard.)
--
-- A code belongs to one session. `guid` is its REFI-QDA identity: kept from an imported .qdc
-- so that a project round-trips through NVivo or QualCoder as the same codes. `name_key` is the
-- name in lower case, because two codes differing only in case confuse coders and CSV imports
-- reference parents by name.
CREATE TABLE codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    guid        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT,
    color       TEXT,
    parent_id   INTEGER REFERENCES codes(id),
    codable     INTEGER NOT NULL DEFAULT 1 CHECK (codable IN (0, 1)),
    created_at  INTEGER NOT NULL,
    UNIQUE (session_id, guid),
    UNIQUE (session_id, name_key)
);

-- A coder applying a code to one utterance. The coder is free text (a researcher need not
-- have a facilitator account); `facilitator_id` records the account when there is one.
CREATE TABLE codings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code_id        INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    group_id       INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    coder          TEXT    NOT NULL,
    facilitator_id INTEGER REFERENCES facilitators(id),
    created_at     INTEGER NOT NULL,
    FOREIGN KEY (group_id, seq) REFERENCES messages (group_id, seq),
    UNIQUE (coder, code_id, group_id, seq)
);
CREATE INDEX codings_code ON codings (code_id);
CREATE INDEX codings_unit ON codings (group_id, seq);
