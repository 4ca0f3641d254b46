-- The comprehension check before consent (crates/mandates/src/comprehension.rs): its
-- state waits with the pending consent, server-side, so the form cannot claim a check the person
-- did not go through. `comprehension_question`: questions answered right (0 to 3);
-- `comprehension_tries`: 1, plus one per wrong answer (each shows the explanation again), counted
-- up to 99; `comprehension`: how it ended, NULL while it goes on. The mandate's journal entry
-- copies the outcome and the tries when the consent is used up; the answers are never stored.
ALTER TABLE mandate_consents ADD COLUMN comprehension_question INTEGER NOT NULL DEFAULT 0
    CHECK (comprehension_question BETWEEN 0 AND 3);
ALTER TABLE mandate_consents ADD COLUMN comprehension_tries INTEGER NOT NULL DEFAULT 1
    CHECK (comprehension_tries BETWEEN 1 AND 99);
ALTER TABLE mandate_consents ADD COLUMN comprehension TEXT
    CHECK (comprehension IN ('passed', 'skipped'));
