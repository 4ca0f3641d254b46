-- can_act looks up every authorization of a (structure, usager, démarche) triple, revoked ones
-- included (to answer "revoked" rather than "not covered"). The partial unique index cannot serve
-- that query, whose WHERE clause does not imply `revoked_at IS NULL`: without this index both
-- engines read the whole table (measured in docs/performance.md).
CREATE INDEX authorizations_lookup ON authorizations (organisation_id, usager_id, demarche);
