-- The aidé's own space (/mon-espace, docs/security/aide-space.md): their FranceConnect sign-in
-- in progress, and their sessions. Neither holds a name: a session carries the person's keyed
-- pseudonym (usagers.subject), and every query of the space is keyed by it on the server.

-- A sign-in (or its FranceConnect logout) in progress, by the hash of its `state`; the payload is
-- the relying party's pending login, bound to a random cookie of the browser that began it.
CREATE TABLE aide_logins (
    state_hash TEXT PRIMARY KEY NOT NULL CHECK (length(state_hash) = 64),
    kind TEXT NOT NULL CHECK (kind IN ('login', 'logout')),
    payload TEXT NOT NULL CHECK (length(payload) BETWEEN 2 AND 8192),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX aide_logins_expires ON aide_logins (expires_at);

-- A signed-in person, by the hash of their session cookie. Never an aidant session: another
-- table, another cookie. Ends after `idle_until` without a request or at `expires_at`.
CREATE TABLE aide_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    subject TEXT NOT NULL CHECK (length(subject) = 64),
    -- The id_token FranceConnect gave at sign-in, for its logout (id_token_hint) at sign-out.
    id_token_hint TEXT NOT NULL CHECK (length(id_token_hint) BETWEEN 1 AND 8192),
    created_at TIMESTAMP NOT NULL,
    idle_until TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX aide_sessions_expires ON aide_sessions (expires_at);
