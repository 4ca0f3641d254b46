-- Identifications in progress at FranceConnect (and the logouts that follow them): kept between
-- the redirect and the provider's return, looked up by the hash of `state`, used once, bound to
-- the aidant's session. Shared by every app node, like sessions.
CREATE TABLE franceconnect_logins (
    state_hash TEXT PRIMARY KEY NOT NULL CHECK (length(state_hash) = 64),
    kind TEXT NOT NULL CHECK (kind IN ('login', 'logout')),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    -- The relying party's pending login or logout, and the mandate choices to come back to.
    payload TEXT NOT NULL CHECK (length(payload) BETWEEN 2 AND 8192),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX franceconnect_logins_expires ON franceconnect_logins (expires_at);
