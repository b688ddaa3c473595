-- The child-safety screen (issue 12). Keep in step with the other flavour's 0006_safety.sql.

-- What the screen decided about each message, kept with it. `text` is always what the group
-- may see (personal data replaced by a placeholder); `original_text` is what was written when
-- that differs, for the facilitator only: it never reaches another child, the agent's prompt
-- or an export unless a researcher asks for it by name.
ALTER TABLE messages ADD COLUMN original_text TEXT;
ALTER TABLE messages ADD COLUMN screen_action TEXT NOT NULL DEFAULT 'allow';
ALTER TABLE messages ADD COLUMN screen_category TEXT;
ALTER TABLE messages ADD COLUMN screen_reason TEXT;

-- Notices: an urgent one (a safeguarding disclosure) stands apart from ordinary ones and stays
-- until somebody deals with it; how it was dealt with, and by whom, is kept.
ALTER TABLE flags ADD COLUMN severity TEXT NOT NULL DEFAULT 'notice';
ALTER TABLE flags ADD COLUMN resolution TEXT;
ALTER TABLE flags ADD COLUMN resolved_by INTEGER;

-- How strict the screen is with mild words in this session: strict, standard or relaxed.
ALTER TABLE sessions ADD COLUMN safety_level TEXT NOT NULL DEFAULT 'standard';
