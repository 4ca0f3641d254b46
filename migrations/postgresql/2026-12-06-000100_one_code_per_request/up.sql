-- One authorization request yields at most one code (RFC 6749 §4.1.2: a code answers one
-- request). The request travels sealed in the aidant's pages with a random id; issuing its code
-- inserts that id here, in the statement (PostgreSQL) or write transaction (SQLite) that stores
-- the code, so the primary key lets only the first choice of a request through: across nodes,
-- under parallel submissions, whichever démarche the second one names. The row outlives the
-- request (`expires_at`, the request's own expiry) and is purged a day after, with the codes.
CREATE TABLE oidc_answered_requests (
    interaction_id TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oidc_answered_requests_expires_at ON oidc_answered_requests (expires_at);
