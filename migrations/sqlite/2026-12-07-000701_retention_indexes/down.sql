DROP INDEX audit_log_checkpoints;
DROP INDEX oidc_authorization_codes_usager;
DROP INDEX oidc_authorization_codes_authorization;
DROP INDEX mandate_consents_renewal_of;
DROP INDEX mandate_consents_usager;
DROP INDEX mandates_renewal_of;
