DROP TABLE mandate_consents;
