-- Mandate records: structures, aidants, usagers, mandates and their authorizations.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind TEXT NOT NULL CHECK (kind IN ('bibliotheque', 'centre_social', 'secretariat_mairie', 'france_services', 'association', 'autre')),
    address TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 200),
    departement TEXT NOT NULL CHECK (length(departement) BETWEEN 2 AND 3),
    siret TEXT NOT NULL CHECK (length(siret) = 14),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX organisations_departement ON organisations (departement);

-- The démarches a structure's aidants may be mandated for.
CREATE TABLE organisation_demarches (
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    demarche TEXT NOT NULL CHECK (demarche IN ('papiers', 'famille', 'social', 'travail', 'logement', 'transports', 'argent', 'justice', 'etranger', 'loisirs')),
    PRIMARY KEY (organisation_id, demarche)
);

CREATE TABLE aidants (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    first_name TEXT NOT NULL CHECK (length(first_name) BETWEEN 1 AND 200),
    last_name TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 200),
    profession TEXT NOT NULL CHECK (length(profession) BETWEEN 1 AND 200),
    current_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    can_create_mandates BOOLEAN NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    -- The current structure must be one of the aidant's memberships; checked at commit so the
    -- aidant and the membership can be written in either order.
    FOREIGN KEY (id, current_organisation_id)
        REFERENCES aidant_organisations (aidant_id, organisation_id) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE aidant_organisations (
    aidant_id TEXT NOT NULL REFERENCES aidants (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    is_referent BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (aidant_id, organisation_id)
);
CREATE INDEX aidant_organisations_organisation ON aidant_organisations (organisation_id);

CREATE TABLE coordinator_scopes (
    id TEXT PRIMARY KEY NOT NULL,
    aidant_id TEXT NOT NULL REFERENCES aidants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('national', 'departement', 'organisation')),
    departement TEXT CHECK (departement IS NULL OR length(departement) BETWEEN 2 AND 3),
    organisation_id TEXT REFERENCES organisations (id),
    CHECK (
        (kind = 'national' AND departement IS NULL AND organisation_id IS NULL)
        OR (kind = 'departement' AND departement IS NOT NULL AND organisation_id IS NULL)
        OR (kind = 'organisation' AND organisation_id IS NOT NULL AND departement IS NULL)
    )
);
CREATE UNIQUE INDEX coordinator_scopes_unique
    ON coordinator_scopes (aidant_id, kind, COALESCE(departement, ''), COALESCE(organisation_id, ''));

-- Identity from FranceConnect's identité pivot. "subject" is a keyed hash of (issuer, upstream
-- sub): the raw upstream sub is never stored.
CREATE TABLE usagers (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL UNIQUE CHECK (length(subject) = 64),
    given_name TEXT NOT NULL CHECK (length(given_name) BETWEEN 1 AND 200),
    family_name TEXT NOT NULL CHECK (length(family_name) BETWEEN 1 AND 200),
    birthdate DATE NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birthplace TEXT CHECK (birthplace IS NULL OR length(birthplace) = 5),
    birthcountry TEXT NOT NULL CHECK (length(birthcountry) = 5),
    email TEXT CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
    preferred_username TEXT CHECK (preferred_username IS NULL OR length(preferred_username) BETWEEN 1 AND 200),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX usagers_family_name ON usagers (family_name, given_name);

CREATE TABLE mandates (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    usager_id TEXT NOT NULL REFERENCES usagers (id),
    created_by TEXT NOT NULL REFERENCES aidants (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    duration_days INTEGER NOT NULL CHECK (duration_days IN (1, 31, 182, 365)),
    legal_text_version TEXT NOT NULL CHECK (length(legal_text_version) BETWEEN 1 AND 40),
    content_hash TEXT NOT NULL CHECK (length(content_hash) = 64),
    renewal_of TEXT REFERENCES mandates (id),
    CHECK (expires_at > created_at),
    -- Target of the authorizations' composite key, so their copies of these columns cannot drift.
    UNIQUE (id, organisation_id, usager_id, expires_at)
);
CREATE INDEX mandates_organisation_usager ON mandates (organisation_id, usager_id);
CREATE INDEX mandates_usager ON mandates (usager_id);

CREATE TABLE authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    mandate_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    usager_id TEXT NOT NULL,
    demarche TEXT NOT NULL CHECK (demarche IN ('papiers', 'famille', 'social', 'travail', 'logement', 'transports', 'argent', 'justice', 'etranger', 'loisirs')),
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revocation_reason TEXT CHECK (revocation_reason IN ('revoked', 'superseded')),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)),
    UNIQUE (mandate_id, demarche),
    FOREIGN KEY (mandate_id, organisation_id, usager_id, expires_at)
        REFERENCES mandates (id, organisation_id, usager_id, expires_at)
);
-- The invariant "at most one active authorization per (structure, usager, démarche)", held by the
-- database itself so that two aidants creating mandates at the same instant cannot break it.
CREATE UNIQUE INDEX authorizations_one_open_per_demarche
    ON authorizations (organisation_id, usager_id, demarche) WHERE revoked_at IS NULL;
CREATE INDEX authorizations_mandate ON authorizations (mandate_id);

-- A mandate is a signed record: it never changes once written.
CREATE TRIGGER mandates_are_immutable
BEFORE UPDATE ON mandates
BEGIN
    SELECT RAISE(ABORT, 'mandates are immutable');
END;
CREATE TRIGGER mandates_are_not_deleted
BEFORE DELETE ON mandates
BEGIN
    SELECT RAISE(ABORT, 'mandates are never deleted');
END;

-- The only change an authorization accepts is its revocation, once.
CREATE TRIGGER authorizations_only_revoke
BEFORE UPDATE ON authorizations
WHEN OLD.revoked_at IS NOT NULL
  OR NEW.revoked_at IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.mandate_id IS NOT OLD.mandate_id
  OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.usager_id IS NOT OLD.usager_id
  OR NEW.demarche IS NOT OLD.demarche OR NEW.expires_at IS NOT OLD.expires_at
BEGIN
    SELECT RAISE(ABORT, 'an authorization can only be revoked, once');
END;
CREATE TRIGGER authorizations_are_not_deleted
BEFORE DELETE ON authorizations
BEGIN
    SELECT RAISE(ABORT, 'authorizations are never deleted');
END;
