-- Aidant sign-in: e-mail links, TOTP devices, server-side sessions and rate-limit
-- counters. Everything is in the database so that any app node can serve any request.
-- Secrets are never stored in clear: links and sessions by the SHA-256 of their token, TOTP seeds
-- sealed with AES-256-GCM (the key is outside the database).

CREATE TABLE auth_sign_in_links (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Set once, when the link is opened (single use).
    used_at TIMESTAMP,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_sign_in_links_aidant ON auth_sign_in_links (aidant_id);
CREATE INDEX auth_sign_in_links_expires ON auth_sign_in_links (expires_at);

CREATE TABLE totp_devices (
    id TEXT PRIMARY KEY NOT NULL,
    -- NULL for a hardware card imported but not yet handed to an aidant.
    aidant_id TEXT REFERENCES aidants (id),
    kind TEXT NOT NULL CHECK (kind IN ('app', 'card')),
    serial TEXT UNIQUE CHECK (serial IS NULL OR length(serial) BETWEEN 1 AND 64),
    -- "v1.KEYID.BASE64URL(nonce | ciphertext | tag)", the device id as associated data.
    sealed_seed TEXT NOT NULL CHECK (length(sealed_seed) BETWEEN 10 AND 400),
    step_secs INTEGER NOT NULL,
    -- The last accepted RFC 6238 counter: a code for it or an earlier one is a replay.
    last_counter BIGINT,
    -- Consecutive wrong codes; the device locks at auth.lockout_failures.
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'app' AND step_secs = 30 AND serial IS NULL)
        OR (kind = 'card' AND step_secs = 60 AND serial IS NOT NULL))
);
CREATE INDEX totp_devices_aidant ON totp_devices (aidant_id);

CREATE TABLE auth_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL CHECK (length(id_hash) = 64),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    -- 'totp': the link was opened, the code is awaited; 'active': signed in.
    stage TEXT NOT NULL CHECK (stage IN ('totp', 'active')),
    created_at TIMESTAMP NOT NULL,
    -- Hard end: the TOTP stage's deadline, or the absolute lifetime of a signed-in session.
    expires_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- Sign-in, last step-up or last audited action: drives the 15-minute step-up.
    last_activity_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_sessions_aidant ON auth_sessions (aidant_id);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

-- Fixed-window counters for link requests and TOTP attempts, per address, aidant or client IP.
-- The key is a SHA-256, so no address or IP is stored.
CREATE TABLE auth_rate_limits (
    key_hash TEXT PRIMARY KEY NOT NULL CHECK (length(key_hash) = 64),
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL CHECK (hits >= 1)
);
