-- Retention (docs/operations.md "Retention", docs/security/audit-log.md "Redaction"): the one
-- narrow path by which mandate records are deleted and old journal entries redacted.
--
-- The runtime role has no DELETE on mandates and authorizations and no UPDATE on audit_log
-- (crates/storage/src/migrations.rs): it reaches them only through the two SECURITY DEFINER
-- functions below. Each refuses to work without a retention permit, a row that the retention
-- job inserts at the start of its transaction and deletes before it commits; a deferred check
-- refuses any commit that would leave one. The row triggers, as before, refuse every other
-- DELETE or UPDATE, whoever sends it.

CREATE TABLE retention_permits (
    holder TEXT PRIMARY KEY NOT NULL CHECK (length(holder) BETWEEN 1 AND 100),
    granted_at TIMESTAMP NOT NULL
);

CREATE FUNCTION retention_permit_ends_with_its_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM retention_permits WHERE holder = NEW.holder) THEN
        RAISE EXCEPTION 'a retention permit never outlives its transaction';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER retention_permits_end_with_their_transaction
    AFTER INSERT ON retention_permits DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION retention_permit_ends_with_its_transaction();

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

CREATE OR REPLACE FUNCTION mandates_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM retention_permits) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'mandates are immutable, and deleted only by the retention job';
END;
$$;

CREATE OR REPLACE FUNCTION authorizations_only_revoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM retention_permits) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'authorizations are deleted only by the retention job';
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

-- audit_log: still no DELETE; an UPDATE only as a redaction, under a permit.
DROP TRIGGER audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE FUNCTION audit_log_only_redaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM retention_permits)
       OR OLD.redacted_at IS NOT NULL OR NEW.redacted_at IS NULL
       OR OLD.action = 'checkpoint.signed'
       OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.pending_id IS DISTINCT FROM OLD.pending_id
       OR NEW.leaf_hash IS DISTINCT FROM OLD.leaf_hash OR NEW.at IS DISTINCT FROM OLD.at
       OR NEW.action IS DISTINCT FROM OLD.action OR NEW.actor_kind IS DISTINCT FROM OLD.actor_kind
       OR NEW.entry <> '' OR NEW.actor_id IS NOT NULL OR NEW.organisation_id IS NOT NULL
       OR NEW.usager IS NOT NULL OR NEW.demarche IS NOT NULL OR NEW.client_id IS NOT NULL
       OR NEW.target IS NOT NULL THEN
        RAISE EXCEPTION 'audit entries are append-only; only the retention job redacts an old entry';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_only_redaction BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_only_redaction();

-- Deletes every mandate and authorization of one person in one structure, if none of them was
-- still in force at p_ended_before (a mandate ends at its expiry, or when its last démarche was
-- revoked). Returns the number of mandates deleted.
CREATE FUNCTION retention_delete_mandates(p_organisation TEXT, p_usager TEXT, p_ended_before TIMESTAMP)
RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    deleted BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM retention_permits) THEN
        RAISE EXCEPTION 'only the retention job deletes mandate records';
    END IF;
    IF EXISTS (
        SELECT 1 FROM mandates m
        WHERE m.organisation_id = p_organisation AND m.usager_id = p_usager
          AND m.expires_at > p_ended_before
          AND EXISTS (SELECT 1 FROM authorizations a
                      WHERE a.mandate_id = m.id
                        AND (a.revoked_at IS NULL OR a.revoked_at > p_ended_before))
    ) THEN
        RAISE EXCEPTION 'a mandate of this person in this structure was in force after the retention cutoff';
    END IF;
    DELETE FROM authorizations WHERE organisation_id = p_organisation AND usager_id = p_usager;
    DELETE FROM mandates WHERE organisation_id = p_organisation AND usager_id = p_usager;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;

-- Redacts up to p_limit entries from p_from on, below the size of the newest signed checkpoint
-- journaled at or before p_older_than (so each redacted entry provably existed then), sparing
-- the checkpoint entries themselves. Returns the number redacted.
CREATE FUNCTION retention_redact_journal(p_from BIGINT, p_older_than TIMESTAMP, p_limit INTEGER, p_now TIMESTAMP)
RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    horizon BIGINT;
    redacted BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM retention_permits) THEN
        RAISE EXCEPTION 'only the retention job redacts the journal';
    END IF;
    SELECT max(CAST(target AS BIGINT)) INTO horizon FROM audit_log
    WHERE action = 'checkpoint.signed' AND redacted_at IS NULL AND at <= p_older_than;
    IF horizon IS NULL THEN
        RETURN 0;
    END IF;
    UPDATE audit_log SET entry = '', actor_id = NULL, organisation_id = NULL, usager = NULL,
        demarche = NULL, client_id = NULL, target = NULL, redacted_at = p_now
    WHERE seq IN (SELECT seq FROM audit_log
                  WHERE seq >= p_from AND seq < horizon AND redacted_at IS NULL
                    AND action <> 'checkpoint.signed'
                  ORDER BY seq LIMIT p_limit);
    GET DIAGNOSTICS redacted = ROW_COUNT;
    RETURN redacted;
END;
$$;

REVOKE ALL ON FUNCTION retention_delete_mandates(TEXT, TEXT, TIMESTAMP) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention_redact_journal(BIGINT, TIMESTAMP, INTEGER, TIMESTAMP) FROM PUBLIC;
