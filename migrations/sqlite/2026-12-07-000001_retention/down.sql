DROP TRIGGER audit_log_only_redaction;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
DROP TRIGGER authorizations_are_not_deleted;
CREATE TRIGGER authorizations_are_not_deleted
BEFORE DELETE ON authorizations
BEGIN
    SELECT RAISE(ABORT, 'authorizations are never deleted');
END;
DROP TRIGGER mandates_are_not_deleted;
CREATE TRIGGER mandates_are_not_deleted
BEFORE DELETE ON mandates
BEGIN
    SELECT RAISE(ABORT, 'mandates are never deleted');
END;
DROP INDEX audit_log_redacted;
ALTER TABLE audit_log DROP COLUMN redacted_at;
DROP TABLE job_leases;
DROP TABLE retired_verification_codes;
DROP TABLE retention_permits;
