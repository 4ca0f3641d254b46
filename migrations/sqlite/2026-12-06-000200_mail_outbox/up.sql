-- Mail that must not be lost: written in the same transaction as the event it reports, then
-- sent by a worker on any node (docs/operations.md, "Mail"). A row is claimed by one node at a
-- time (`claimed_by` until `claimed_until`, a conditional UPDATE), sent, then marked `sent_at`;
-- a failed attempt is retried at `next_attempt_at` with a growing delay. `dedupe_key`, when
-- set, makes a second message for the same fact impossible. The rendered message is kept as
-- it was at the event, and the row is purged some days after it was sent.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (length(kind) <= 64),
    dedupe_key TEXT UNIQUE CHECK (length(dedupe_key) <= 256),
    recipient TEXT NOT NULL CHECK (length(recipient) <= 320),
    subject TEXT NOT NULL CHECK (length(subject) <= 256),
    body_text TEXT NOT NULL CHECK (length(body_text) <= 65536),
    body_html TEXT NOT NULL CHECK (length(body_html) <= 131072),
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT CHECK (length(claimed_by) <= 64),
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT CHECK (length(last_error) <= 1024)
);
-- The worker's question: what is due and not sent.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Expiry reminders: one row per authorization and threshold (in days) once its reminder is
-- queued, in the same transaction as the messages, so each threshold is reminded once.
CREATE TABLE expiry_reminders (
    authorization_id TEXT NOT NULL REFERENCES authorizations (id),
    threshold_days INTEGER NOT NULL CHECK (threshold_days BETWEEN 1 AND 365),
    reminded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (authorization_id, threshold_days)
);
