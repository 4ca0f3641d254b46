DROP TABLE oidc_answered_requests;
