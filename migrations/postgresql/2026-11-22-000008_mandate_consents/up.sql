-- Between identification and consent: the person FranceConnect identified and the mandate
-- choices, waiting for the aidé's "Je donne mon accord" and the aidant's TOTP. Looked up by the
-- hash of a token carried in the recap form, used once (so a double submission creates one
-- mandate), bound to the aidant. The usager id never travels through the browser.
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
