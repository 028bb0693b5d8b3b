-- 0007_attachments.sql — evidence files attached to worklog entries (SPEC §3 "Evidence") and the per-tenant
-- storage usage the quota is checked against.
-- An attachment row points at an object in object storage (storage = the backend that holds it, object_key =
-- "t/<tenant>/att/<random>", never the user's filename). It belongs to an entry through a composite
-- (tenant_id, entry_id) foreign key, so it can never hang off another tenant's entry. Row-level security:
-- visible when the entry is visible to the caller (the EXISTS below runs under worklog_entries' own policy,
-- so a member who cannot see a private entry cannot see its attachments either).
-- Bookkeeping by triggers, in the same transaction as the row change: tenant_storage.used_bytes (the quota's
-- sum of sizes) and worklog_entries.attachment_count. The service locks the tenant's tenant_storage row
-- (SELECT ... FOR UPDATE) before inserting, so two concurrent uploads cannot both squeeze under the quota.

CREATE TABLE attachments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entry_id    bigint NOT NULL,
    uploaded_by bigint REFERENCES users(id) ON DELETE SET NULL,
    kind        text NOT NULL CHECK (kind IN ('image', 'document')),
    storage     text NOT NULL CHECK (storage IN ('local', 's3')),
    object_key  text NOT NULL CHECK (length(object_key) BETWEEN 1 AND 512),
    filename    text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    mime_type   text NOT NULL CHECK (length(mime_type) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (storage, object_key),
    FOREIGN KEY (tenant_id, entry_id) REFERENCES worklog_entries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_entry ON attachments (tenant_id, entry_id, id);

-- One row per tenant that ever stored a file; quota_bytes NULL = the configured default
-- (AR_STORAGE_QUOTA_BYTES, 1 GiB).
CREATE TABLE tenant_storage (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    used_bytes  bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    quota_bytes bigint CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION attachments_bookkeeping() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tenant_storage (tenant_id, used_bytes) VALUES (NEW.tenant_id, NEW.size_bytes)
            ON CONFLICT (tenant_id) DO UPDATE
            SET used_bytes = tenant_storage.used_bytes + EXCLUDED.used_bytes, updated_at = now();
        UPDATE worklog_entries SET attachment_count = attachment_count + 1
            WHERE tenant_id = NEW.tenant_id AND id = NEW.entry_id;
        RETURN NEW;
    END IF;
    UPDATE tenant_storage SET used_bytes = greatest(used_bytes - OLD.size_bytes, 0), updated_at = now()
        WHERE tenant_id = OLD.tenant_id;
    UPDATE worklog_entries SET attachment_count = greatest(attachment_count - 1, 0)
        WHERE tenant_id = OLD.tenant_id AND id = OLD.entry_id;
    RETURN OLD;
END $$;
CREATE TRIGGER attachments_bookkeeping AFTER INSERT OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachments_bookkeeping();

ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY attachments_isolation ON attachments
    USING (app_bypass_rls() OR
           (tenant_id = app_tenant_id() AND EXISTS (
                SELECT 1 FROM worklog_entries e WHERE e.tenant_id = attachments.tenant_id AND e.id = attachments.entry_id)))
    WITH CHECK (app_bypass_rls() OR
           (tenant_id = app_tenant_id() AND EXISTS (
                SELECT 1 FROM worklog_entries e WHERE e.tenant_id = attachments.tenant_id AND e.id = attachments.entry_id)));

ALTER TABLE tenant_storage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_storage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_storage_isolation ON tenant_storage
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());
