DROP INDEX authorizations_lookup;
