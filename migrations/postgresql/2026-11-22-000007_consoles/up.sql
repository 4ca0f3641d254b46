-- Référent and coordinator consoles.

-- Full verifications of the audit log, started from the coordinators' integrity panel or by
-- `aidants-connect audit verify`. A row is written when a run starts and completed when it ends,
-- so a run that died half-way shows as never finished rather than vanishing. This table is a
-- convenience for the panel, not evidence: anyone can re-run the verification.
CREATE TABLE audit_verifications (
    id TEXT PRIMARY KEY NOT NULL,
    -- The coordinator who asked for it; NULL for the command line.
    requested_by TEXT REFERENCES aidants (id),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    outcome TEXT CHECK (outcome IN ('intact', 'tampered', 'failed')),
    entries BIGINT CHECK (entries >= 0),
    checkpoints BIGINT CHECK (checkpoints >= 0),
    root_hash TEXT CHECK (root_hash IS NULL OR length(root_hash) = 64),
    problem_seq BIGINT,
    problem TEXT CHECK (problem IS NULL OR length(problem) <= 2000),
    CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX audit_verifications_started ON audit_verifications (started_at);

-- The journal explorer pages newest first by seq within one structure; an action filter (e.g.
-- every revocation of a structure) would otherwise walk the whole structure's history.
CREATE INDEX audit_log_organisation_action ON audit_log (organisation_id, action, seq);
-- Dashboards and anomaly rules read one action (delegated uses) of a set of structures over a
-- period: a range scan per structure.
CREATE INDEX audit_log_action_organisation_at ON audit_log (action, organisation_id, at);
