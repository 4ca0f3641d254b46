DROP FUNCTION retention_redact_journal(BIGINT, TIMESTAMP, INTEGER, TIMESTAMP);
DROP FUNCTION retention_delete_mandates(TEXT, TEXT, TIMESTAMP);
DROP TRIGGER audit_log_only_redaction ON audit_log;
DROP FUNCTION audit_log_only_redaction();
DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE OR REPLACE FUNCTION mandates_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mandates are immutable and never deleted';
END;
$$;
CREATE OR REPLACE FUNCTION authorizations_only_revoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'authorizations are never deleted';
    END IF;
    IF OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
       OR NEW.id IS DISTINCT FROM OLD.id OR NEW.mandate_id IS DISTINCT FROM OLD.mandate_id
       OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id
       OR NEW.usager_id IS DISTINCT FROM OLD.usager_id
       OR NEW.demarche IS DISTINCT FROM OLD.demarche
       OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
        RAISE EXCEPTION 'an authorization can only be revoked, once';
    END IF;
    RETURN NEW;
END;
$$;
DROP INDEX audit_log_redacted;
ALTER TABLE audit_log DROP COLUMN redacted_at;
DROP TABLE job_leases;
DROP TABLE retired_verification_codes;
DROP TABLE retention_permits;
DROP FUNCTION retention_permit_ends_with_its_transaction();
