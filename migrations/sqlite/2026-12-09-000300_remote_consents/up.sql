-- Consent at a distance (docs/domain.md, "Journeys" 2b): the aidant prepares a mandate and
-- sends a single-use link to the person's phone or mailbox. The link's token is stored as its
-- SHA-256 only; the phone number or address is never stored (it is used to send, then dropped).
-- `session_hash`: the hash of the cookie binding the person's own browser once FranceConnect
-- identified them there (the link then no longer works anywhere else). `reading`: JSON of what
-- the person's consent carries besides the tick — the text shown, the language, the
-- comprehension check's state (never an answer).
CREATE TABLE remote_consents (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    demarches TEXT NOT NULL CHECK (length(demarches) BETWEEN 1 AND 512),
    duration_days INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    status TEXT NOT NULL CHECK (status IN ('sent', 'opened', 'consented', 'refused', 'confirmed', 'expired')),
    created_at TIMESTAMP NOT NULL,
    link_expires_at TIMESTAMP NOT NULL,
    session_hash TEXT UNIQUE CHECK (session_hash IS NULL OR length(session_hash) = 64),
    usager_id TEXT REFERENCES usagers (id),
    reading TEXT NOT NULL CHECK (length(reading) <= 256),
    consented_at TIMESTAMP,
    confirm_by TIMESTAMP,
    mandate_id TEXT,
    CHECK (link_expires_at > created_at)
);
CREATE INDEX remote_consents_aidant ON remote_consents (aidant_id, created_at);
CREATE INDEX remote_consents_usager ON remote_consents (usager_id);
