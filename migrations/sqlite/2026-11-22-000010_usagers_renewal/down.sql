-- SQLite cannot drop a column that has a foreign key: pending consents are short-lived, so the
-- table is rebuilt as it was (those waiting are lost, as after their 15 minutes).
DROP TABLE mandate_consents;
CREATE TABLE mandate_consents (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    usager_id TEXT NOT NULL REFERENCES usagers (id),
    draft TEXT NOT NULL CHECK (length(draft) BETWEEN 2 AND 2048),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX mandate_consents_expires ON mandate_consents (expires_at);
ALTER TABLE organisations DROP COLUMN renewal_requires_identification;
