-- A child's "I need help" request (issue 17) is a notice of kind `help_request`. Keep in step
-- with the other flavour's 0009_help_requests.sql.

-- Who asked: a help request is about a child, not about a message (the group never sees it).
ALTER TABLE flags ADD COLUMN participant_id BIGINT;
-- NEW -> SEEN -> DEALT WITH: the facilitator can say "I have seen it" before dealing with it
-- (resolved_at); who saw it is kept like who resolved it.
ALTER TABLE flags ADD COLUMN seen_at BIGINT;
ALTER TABLE flags ADD COLUMN seen_by BIGINT;
-- The child's optional note as the screen let it through (personal data hidden), and as written
-- when that differs (for the facilitator only, like messages.original_text).
ALTER TABLE flags ADD COLUMN note TEXT;
ALTER TABLE flags ADD COLUMN original_note TEXT;
