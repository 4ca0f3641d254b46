-- Usagers and renewal.

-- Whether renewing a mandate asks the aidé to identify again through FranceConnect. A structure
-- setting, changed by its référent (journaled); the safe answer, yes, is the default.
ALTER TABLE organisations ADD COLUMN renewal_requires_identification BOOLEAN NOT NULL DEFAULT TRUE;

-- A pending consent may be for a renewal: the mandate renewed waits here, server-side, with the
-- person, so the recap form cannot point the renewal at another mandate. How the aidé was
-- identified for this consent goes to the mandate's journal entry.
ALTER TABLE mandate_consents ADD COLUMN renewal_of TEXT REFERENCES mandates (id);
ALTER TABLE mandate_consents ADD COLUMN identification TEXT NOT NULL DEFAULT 'franceconnect'
    CHECK (identification IN ('franceconnect', 'not_required'));
