ALTER TABLE mandate_consents DROP COLUMN comprehension;
ALTER TABLE mandate_consents DROP COLUMN comprehension_tries;
ALTER TABLE mandate_consents DROP COLUMN comprehension_question;
