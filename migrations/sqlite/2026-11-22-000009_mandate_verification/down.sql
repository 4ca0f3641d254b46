DROP TABLE mandate_verifications;
