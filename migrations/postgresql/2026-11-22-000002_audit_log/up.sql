-- The tamper-evident audit log (RFC 6962 Merkle tree, see crates/audit).
--
-- An action's transaction writes its entry to audit_pending; the integrator moves pending entries
-- into audit_log in batches, giving each its sequence number (its leaf index) and leaf hash, and
-- appends the new tree head. No table here accepts UPDATE; only integrated pending rows may be
-- deleted. docs/security/audit-log.md says what a superuser can still do and how verification
-- catches it.

CREATE TABLE audit_pending (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry TEXT NOT NULL CHECK (length(entry) BETWEEN 2 AND 65536),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 0),
    pending_id BIGINT NOT NULL UNIQUE,
    -- The canonical JSON (RFC 8785) exactly as hashed.
    entry TEXT NOT NULL,
    leaf_hash BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    -- Copies of entry fields for the journal explorer; verification checks they match the entry.
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    usager TEXT,
    demarche TEXT,
    client_id TEXT,
    target TEXT
);
CREATE INDEX audit_log_organisation ON audit_log (organisation_id, seq);
CREATE INDEX audit_log_usager ON audit_log (usager, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- One row per integration batch: the tree after it.
CREATE TABLE audit_heads (
    tree_size BIGINT PRIMARY KEY NOT NULL CHECK (tree_size >= 0),
    root_hash BYTEA NOT NULL CHECK (length(root_hash) = 32),
    frontier BYTEA NOT NULL,
    integrated_at TIMESTAMP NOT NULL
);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note).
CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY NOT NULL CHECK (tree_size >= 0),
    root_hash BYTEA NOT NULL CHECK (length(root_hash) = 32),
    signed_note TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only (%)', TG_TABLE_NAME;
END;
$$;

CREATE FUNCTION audit_pending_delete_only_integrated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_log WHERE pending_id = OLD.id) THEN
        RAISE EXCEPTION 'a pending audit entry is deleted only once integrated';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_pending_delete_only_integrated BEFORE DELETE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_pending_delete_only_integrated();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
-- TRUNCATE bypasses row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
