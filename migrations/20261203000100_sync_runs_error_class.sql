-- The class of a failed pass (authentication, configuration, transient, malformed, broker,
-- database, bad_record) next to its text, so that readiness, `ctl status` and alerts can say
-- what kind of failure a job is in without reading the message.
ALTER TABLE sync_runs
    ADD COLUMN error_class VARCHAR(32) NULL AFTER error;
-- (Plain ADD COLUMN: MySQL 8 has no IF NOT EXISTS here, and sqlx runs a migration once.)
