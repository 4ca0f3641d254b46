-- Indexes for retention (crates/storage/src/retention): deleting a mandate record or an identity
-- makes the database look for the rows that refer to it (the foreign keys' checks), and the job
-- itself looks up codes by authorization and by person. Without an index on the referring column
-- each of those lookups reads the whole table: for `mandates.renewal_of`, a million rows for every
-- mandate deleted. Measured in docs/performance.md ("Retention").
CREATE INDEX mandates_renewal_of ON mandates (renewal_of) WHERE renewal_of IS NOT NULL;
CREATE INDEX mandate_consents_usager ON mandate_consents (usager_id);
CREATE INDEX mandate_consents_renewal_of ON mandate_consents (renewal_of) WHERE renewal_of IS NOT NULL;
CREATE INDEX oidc_authorization_codes_authorization ON oidc_authorization_codes (authorization_id);
CREATE INDEX oidc_authorization_codes_usager ON oidc_authorization_codes (usager_id);
-- The redaction horizon is the newest signed checkpoint old enough: found among the checkpoint
-- entries only, instead of walking the whole log back from its newest entry.
CREATE INDEX audit_log_checkpoints ON audit_log (seq) WHERE action = 'checkpoint.signed' AND redacted_at IS NULL;
