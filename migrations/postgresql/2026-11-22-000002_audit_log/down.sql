DROP TABLE audit_checkpoints;
DROP TABLE audit_heads;
DROP TABLE audit_log;
DROP TABLE audit_pending;
DROP FUNCTION audit_pending_delete_only_integrated();
DROP FUNCTION audit_refuse_change();
