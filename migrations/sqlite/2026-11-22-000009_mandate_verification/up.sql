-- The verification code printed on a mandate (and in its QR code): anyone holding the paper can
-- check on the public page whether the mandate is valid, expired or revoked. 160 random bits in
-- Crockford base32 (32 characters). Kept as is, not hashed: the aidé's copy must print again with
-- the same code, and what the code opens holds no personal data. Created with the mandate; a
-- mandate from before this table gets one when it is first printed.
CREATE TABLE mandate_verifications (
    mandate_id TEXT PRIMARY KEY NOT NULL REFERENCES mandates (id),
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 32),
    created_at TIMESTAMP NOT NULL
);
