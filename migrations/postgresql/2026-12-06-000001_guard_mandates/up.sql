-- TRUNCATE skips row triggers: without these, `TRUNCATE mandates CASCADE` (or a TRUNCATE of a
-- table that cascades to them) would wipe the signed mandate records that the row triggers of
-- 2026-11-22-000001 keep immutable. Refused like TRUNCATE on the audit tables; `audit verify`
-- also replays the journal's mandate events against these tables (docs/security/audit-log.md).

CREATE FUNCTION mandate_tables_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mandate records are never truncated (%)', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER mandates_no_truncate BEFORE TRUNCATE ON mandates
    FOR EACH STATEMENT EXECUTE FUNCTION mandate_tables_refuse_truncate();
CREATE TRIGGER authorizations_no_truncate BEFORE TRUNCATE ON authorizations
    FOR EACH STATEMENT EXECUTE FUNCTION mandate_tables_refuse_truncate();
