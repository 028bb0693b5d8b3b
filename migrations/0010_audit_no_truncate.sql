-- 0010_audit_no_truncate.sql — the audit log refuses TRUNCATE too (UPDATE and DELETE already raise, 0002): the
-- application role owns its tables, and an owner may TRUNCATE unless a statement trigger says no.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
