DROP TABLE authorizations;
DROP TABLE mandates;
DROP TABLE usagers;
DROP TABLE coordinator_scopes;
DROP TABLE aidant_organisations;
DROP TABLE aidants;
DROP TABLE organisation_demarches;
DROP TABLE organisations;
