ALTER TABLE mandate_consents DROP COLUMN identification;
ALTER TABLE mandate_consents DROP COLUMN renewal_of;
ALTER TABLE organisations DROP COLUMN renewal_requires_identification;
