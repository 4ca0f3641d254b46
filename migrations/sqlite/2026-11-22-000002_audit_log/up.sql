-- The tamper-evident audit log (RFC 6962 Merkle tree, see crates/audit).
--
-- An action's transaction writes its entry to audit_pending; the integrator moves pending entries
-- into audit_log in batches, giving each its sequence number (its leaf index) and leaf hash, and
-- appends the new tree head. No table here accepts UPDATE; only integrated pending rows may be
-- deleted. docs/security/audit-log.md says what a superuser can still do and how verification
-- catches it.

CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry TEXT NOT NULL CHECK (length(entry) BETWEEN 2 AND 65536),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 0),
    pending_id BIGINT NOT NULL UNIQUE,
    -- The canonical JSON (RFC 8785) exactly as hashed.
    entry TEXT NOT NULL,
    leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
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
    root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
    frontier BLOB NOT NULL,
    integrated_at TIMESTAMP NOT NULL
);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note).
CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY NOT NULL CHECK (tree_size >= 0),
    root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
    signed_note TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL
);

CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_pending_delete_only_integrated BEFORE DELETE ON audit_pending
WHEN NOT EXISTS (SELECT 1 FROM audit_log WHERE pending_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'a pending audit entry is deleted only once integrated'); END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit heads are append-only'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit heads are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
