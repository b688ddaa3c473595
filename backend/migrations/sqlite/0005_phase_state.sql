-- Where a group is in its activity, kept so that a room whose actor stopped (everyone's
-- Wi-Fi dropped for a minute) or a restarted server carries on with the same phase and timer
-- instead of starting the activity again. Keep in step with ../postgres/0005_phase_state.sql.
ALTER TABLE groups ADD COLUMN phase_index INTEGER;
ALTER TABLE groups ADD COLUMN phase_ends_at INTEGER;
ALTER TABLE groups ADD COLUMN phases_completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN phases_finished INTEGER NOT NULL DEFAULT 0;
