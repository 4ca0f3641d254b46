DROP TABLE oidc_access_tokens;
DROP TABLE oidc_authorization_codes;
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_clients;
