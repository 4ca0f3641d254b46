-- The identity provider for partner websites: registered clients, signing keys, and
-- the single-use authorization codes and short-lived access tokens of delegated uses. Codes and
-- tokens are stored by the SHA-256 of their value only; client secrets by their SHA-256, and
-- sealed (AES-256-GCM, key outside the database) only for a client that needs HS256.

CREATE TABLE oidc_clients (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    secret_hash TEXT NOT NULL CHECK (length(secret_hash) = 64),
    sealed_secret TEXT CHECK (sealed_secret IS NULL OR length(sealed_secret) BETWEEN 10 AND 400),
    -- Space-separated, each compared byte for byte with the request's.
    redirect_uris TEXT NOT NULL CHECK (length(redirect_uris) BETWEEN 1 AND 4096),
    post_logout_redirect_uris TEXT NOT NULL CHECK (length(post_logout_redirect_uris) <= 4096),
    auth_method TEXT NOT NULL
        CHECK (auth_method IN ('client_secret_post', 'client_secret_basic')),
    id_token_alg TEXT NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256', 'HS256')),
    -- NULL: JSON userinfo; otherwise a JWT signed with this algorithm.
    userinfo_alg TEXT CHECK (userinfo_alg IS NULL OR userinfo_alg IN ('ES256', 'RS256', 'HS256')),
    -- Space-separated scope names the client may be granted.
    allowed_scopes TEXT NOT NULL CHECK (length(allowed_scopes) BETWEEN 6 AND 1024),
    -- RFC 8693 `act` claim naming the acting aidant and structure.
    act_claim BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- The secret is kept (sealed) exactly when HS256 needs it as a key.
    CHECK ((sealed_secret IS NOT NULL)
        = (id_token_alg = 'HS256' OR COALESCE(userinfo_alg, '') = 'HS256'))
);

-- Keys are published as `next` before they sign (`current`), and stay published for a while as
-- `retired` so tokens they signed still verify.
CREATE TABLE oidc_signing_keys (
    -- RFC 7638 thumbprint of the public key.
    kid TEXT PRIMARY KEY NOT NULL CHECK (length(kid) = 43),
    alg TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
    state TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    public_jwk TEXT NOT NULL CHECK (length(public_jwk) BETWEEN 10 AND 4096),
    -- PKCS#8, sealed with provider.key_ring_file, the kid as associated data.
    sealed_private_key TEXT NOT NULL CHECK (length(sealed_private_key) BETWEEN 10 AND 8192),
    created_at TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    retired_at TIMESTAMP,
    CHECK ((state = 'next') = (activated_at IS NULL)),
    CHECK ((state = 'retired') = (retired_at IS NOT NULL))
);
CREATE UNIQUE INDEX oidc_signing_keys_one_current ON oidc_signing_keys (alg) WHERE state = 'current';
CREATE UNIQUE INDEX oidc_signing_keys_one_next ON oidc_signing_keys (alg) WHERE state = 'next';

-- One delegated use granted by an aidant: bound to the client, its redirect URI, PKCE and nonce,
-- and to the aidant, usager, authorization (hence structure) and démarche it was issued for.
CREATE TABLE oidc_authorization_codes (
    code_hash TEXT PRIMARY KEY NOT NULL CHECK (length(code_hash) = 64),
    client_id TEXT NOT NULL REFERENCES oidc_clients (id),
    redirect_uri TEXT NOT NULL CHECK (length(redirect_uri) BETWEEN 1 AND 512),
    code_challenge TEXT CHECK (code_challenge IS NULL OR length(code_challenge) = 43),
    nonce TEXT CHECK (nonce IS NULL OR length(nonce) BETWEEN 1 AND 512),
    scopes TEXT NOT NULL CHECK (length(scopes) BETWEEN 6 AND 1024),
    aidant_id TEXT NOT NULL REFERENCES aidants (id),
    usager_id TEXT NOT NULL REFERENCES usagers (id),
    -- The structure acted for is the authorization's (`can_act` checked they are the same).
    authorization_id TEXT NOT NULL REFERENCES authorizations (id),
    demarche TEXT NOT NULL CHECK (demarche IN ('papiers', 'famille', 'social', 'travail',
        'logement', 'transports', 'argent', 'justice', 'etranger', 'loisirs')),
    -- The client asked for the rep_scope claim.
    rep_scope_claim BOOLEAN NOT NULL,
    -- When the aidant last proved their identity with their second factor.
    auth_time TIMESTAMP NOT NULL,
    acr TEXT NOT NULL CHECK (acr IN ('eidas1', 'eidas2', 'eidas3')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Set once, by the conditional update of the first token request (single use).
    used_at TIMESTAMP,
    -- Lifetimes are capped in the database too (30 s, 60 s); julianday() reads diesel's text
    -- timestamps with their fractions, hence the millisecond of slack.
    CHECK (expires_at > created_at AND (julianday(expires_at) - julianday(created_at)) * 86400.0 <= 30.001)
);
CREATE INDEX oidc_authorization_codes_expires ON oidc_authorization_codes (expires_at);

CREATE TABLE oidc_access_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    -- At most one token per code; a replayed code revokes it.
    code_hash TEXT NOT NULL UNIQUE REFERENCES oidc_authorization_codes (code_hash),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CHECK (expires_at > created_at AND (julianday(expires_at) - julianday(created_at)) * 86400.0 <= 60.001)
);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);
