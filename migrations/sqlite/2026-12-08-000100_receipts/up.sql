-- Receipts to the aidé (docs/security/aide-space.md, "Receipts"): their notification choice,
-- each receipt with its public verification code and the journal entry it reports, the
-- single-use « Ce n'était pas moi » tokens, and the reports they open. An open report suspends
-- what it names: ac_storage::mandates::can_act refuses while it is open.
-- Rows go with the person (usagers) and their mandates (retention) by ON DELETE CASCADE.

-- How the person wants to be told, and where: the address is sealed (AES-256-GCM under
-- auth.totp_key_file, the usager id as associated data); aidants only ever see `email_masked`.
CREATE TABLE aide_notification_preferences (
    usager_id TEXT PRIMARY KEY NOT NULL REFERENCES usagers (id) ON DELETE CASCADE,
    choice TEXT NOT NULL CHECK (choice IN ('each_use', 'weekly', 'never')),
    email_sealed TEXT CHECK (length(email_sealed) <= 1024),
    email_masked TEXT CHECK (length(email_masked) <= 320),
    updated_at TIMESTAMP NOT NULL,
    CHECK ((email_sealed IS NULL) = (email_masked IS NULL)),
    CHECK (choice = 'never' OR email_sealed IS NOT NULL)
);

-- One receipt per event reported to the person, written in the event's own transaction.
-- `pending_id` is the journal entry's pending id (audit_log.pending_id once integrated).
-- `dispatched_at` is set when a channel took it (a message in the outbox), in one transaction.
CREATE TABLE receipts (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 32),
    kind TEXT NOT NULL CHECK (kind IN ('mandate_created', 'demarche_revoked', 'mandate_revoked',
        'delegated_use', 'expiry_reminder')),
    usager_id TEXT NOT NULL REFERENCES usagers (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    mandate_id TEXT NOT NULL REFERENCES mandates (id) ON DELETE CASCADE,
    authorization_id TEXT REFERENCES authorizations (id) ON DELETE CASCADE,
    demarches TEXT NOT NULL CHECK (length(demarches) <= 256),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('aidant', 'usager', 'client', 'system')),
    aidant_id TEXT,
    client_id TEXT,
    pending_id BIGINT NOT NULL,
    delivery TEXT NOT NULL CHECK (delivery IN ('each_use', 'weekly')),
    created_at TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP
);
CREATE INDEX receipts_to_dispatch ON receipts (delivery, created_at) WHERE dispatched_at IS NULL;
CREATE INDEX receipts_usager ON receipts (usager_id, created_at);
CREATE INDEX receipts_mandate ON receipts (mandate_id);
CREATE INDEX receipts_authorization ON receipts (authorization_id);
-- A mandate's end is reminded once.
CREATE UNIQUE INDEX receipts_one_reminder ON receipts (mandate_id) WHERE kind = 'expiry_reminder';

-- « Ce n'était pas moi » links, by the SHA-256 of their random token: single use, expiring.
CREATE TABLE receipt_report_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    receipt_id TEXT NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    CHECK (expires_at > created_at)
);
CREATE INDEX receipt_report_tokens_receipt ON receipt_report_tokens (receipt_id);

-- A report: open until the structure's référent closes it, by revoking or by restoring with
-- the person present. While open it suspends its authorization, or every authorization of its
-- mandate when `authorization_id` is NULL.
CREATE TABLE receipt_reports (
    id TEXT PRIMARY KEY NOT NULL,
    receipt_id TEXT NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    mandate_id TEXT NOT NULL REFERENCES mandates (id) ON DELETE CASCADE,
    authorization_id TEXT REFERENCES authorizations (id) ON DELETE CASCADE,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    outcome TEXT CHECK (outcome IN ('revoked', 'restored')),
    closed_by TEXT REFERENCES aidants (id),
    CHECK ((closed_at IS NULL) = (outcome IS NULL)),
    CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);
CREATE UNIQUE INDEX receipt_reports_one_per_receipt ON receipt_reports (receipt_id);
-- can_act asks, per authorization, whether an open report names it or its mandate.
CREATE INDEX receipt_reports_mandate ON receipt_reports (mandate_id, closed_at);
CREATE INDEX receipt_reports_authorization ON receipt_reports (authorization_id);
CREATE INDEX receipt_reports_open_structure ON receipt_reports (organisation_id) WHERE closed_at IS NULL;
