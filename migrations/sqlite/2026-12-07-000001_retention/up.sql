-- Retention (docs/operations.md "Retention", docs/security/audit-log.md "Redaction"): the one
-- narrow path by which mandate records are deleted and old journal entries redacted.
--
-- SQLite has no roles: the row triggers are the guard. They let a DELETE of a mandate or an
-- authorization, or a redaction of an audit entry, through only while a retention permit exists:
-- a row that the retention job (crates/storage/src/retention) inserts at the start of its
-- transaction and deletes before it commits. Writers are serialised (BEGIN IMMEDIATE), so no
-- other transaction ever sees a permit.

CREATE TABLE retention_permits (
    holder TEXT PRIMARY KEY NOT NULL CHECK (length(holder) BETWEEN 1 AND 100),
    granted_at TIMESTAMP NOT NULL
);

-- The verification code of a deleted mandate, so the public page can say it existed and was
-- deleted at the end of its retention period rather than « inconnu ». Holds no personal data.
CREATE TABLE retired_verification_codes (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 32),
    retired_at TIMESTAMP NOT NULL
);

-- One node at a time runs a scheduled job: the holder of an unexpired lease.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 100),
    expires_at TIMESTAMP NOT NULL
);

-- A redacted entry keeps its sequence number, leaf hash, time and action; its payload is gone.
ALTER TABLE audit_log ADD COLUMN redacted_at TIMESTAMP;
-- Redaction goes in sequence order: where the last run stopped is the largest redacted seq.
CREATE INDEX audit_log_redacted ON audit_log (seq) WHERE redacted_at IS NOT NULL;

DROP TRIGGER mandates_are_not_deleted;
CREATE TRIGGER mandates_are_not_deleted
BEFORE DELETE ON mandates
WHEN NOT EXISTS (SELECT 1 FROM retention_permits)
BEGIN
    SELECT RAISE(ABORT, 'mandates are deleted only by the retention job');
END;

DROP TRIGGER authorizations_are_not_deleted;
CREATE TRIGGER authorizations_are_not_deleted
BEFORE DELETE ON authorizations
WHEN NOT EXISTS (SELECT 1 FROM retention_permits)
BEGIN
    SELECT RAISE(ABORT, 'authorizations are deleted only by the retention job');
END;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_only_redaction
BEFORE UPDATE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM retention_permits)
  OR OLD.redacted_at IS NOT NULL OR NEW.redacted_at IS NULL
  OR OLD.action = 'checkpoint.signed'
  OR NEW.seq IS NOT OLD.seq OR NEW.pending_id IS NOT OLD.pending_id
  OR NEW.leaf_hash IS NOT OLD.leaf_hash OR NEW.at IS NOT OLD.at
  OR NEW.action IS NOT OLD.action OR NEW.actor_kind IS NOT OLD.actor_kind
  OR NEW.entry <> '' OR NEW.actor_id IS NOT NULL OR NEW.organisation_id IS NOT NULL
  OR NEW.usager IS NOT NULL OR NEW.demarche IS NOT NULL OR NEW.client_id IS NOT NULL
  OR NEW.target IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only; only the retention job redacts an old entry');
END;
