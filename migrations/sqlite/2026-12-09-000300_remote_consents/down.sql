DROP TABLE remote_consents;
