DROP TRIGGER authorizations_no_truncate ON authorizations;
DROP TRIGGER mandates_no_truncate ON mandates;
DROP FUNCTION mandate_tables_refuse_truncate();
