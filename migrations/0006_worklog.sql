-- 0006_worklog.sql — the worklog: clients, projects and entries (SPEC §3).
-- Every table carries tenant_id and is isolated by row-level security like the identity tables; references
-- between them are composite (tenant_id, id) foreign keys, so an entry can never point at another tenant's
-- client or project even if a query forgets to check. Entries marked `private` are visible to their author
-- only (the policy checks app.user_id); `team` entries to every member of the tenant.
-- `search` is a generated tsvector (title and tags weigh most, then outcome/impact, then content) with a GIN
-- index; deleted_at marks a soft delete (restorable for 30 days, purged later by a cleanup job).

CREATE TABLE clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        citext NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id   bigint,
    name        citext NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    role        text NOT NULL DEFAULT '' CHECK (length(role) <= 200),
    start_date  date,
    end_date    date,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE SET NULL (client_id)
);
CREATE INDEX projects_client ON projects (client_id) WHERE client_id IS NOT NULL;

-- array_to_string is only STABLE; a generated column needs an IMMUTABLE expression over text[].
CREATE FUNCTION worklog_tags_text(tags text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT coalesce(array_to_string(tags, ' '), '') $$;

CREATE TABLE worklog_entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    author_id           bigint REFERENCES users(id) ON DELETE SET NULL,
    occurred_on         date NOT NULL,
    title               text NOT NULL DEFAULT '' CHECK (length(title) <= 240),
    content             text NOT NULL CHECK (length(content) BETWEEN 1 AND 102400),
    outcome             text NOT NULL DEFAULT '' CHECK (length(outcome) <= 20000),
    impact              text NOT NULL DEFAULT '' CHECK (length(impact) <= 20000),
    next_steps          text NOT NULL DEFAULT '' CHECK (length(next_steps) <= 20000),
    effort_minutes      integer CHECK (effort_minutes IS NULL OR effort_minutes BETWEEN 0 AND 100000),
    work_type           text NOT NULL DEFAULT 'delivery'
                        CHECK (work_type IN ('delivery', 'planning', 'incident', 'support', 'learning', 'other')),
    status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final', 'archived')),
    tags                text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    client_id           bigint,
    project_id          bigint,
    visibility          text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'team')),
    impact_score        smallint CHECK (impact_score IS NULL OR impact_score BETWEEN 1 AND 10),
    impact_score_source text CHECK (impact_score_source IS NULL OR impact_score_source IN ('user', 'ai')),
    source              text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'import', 'api', 'email')),
    import_key          text CHECK (import_key IS NULL OR length(import_key) BETWEEN 1 AND 200),
    -- kept by the evidence service in the transaction that adds or removes an attachment row
    attachment_count    integer NOT NULL DEFAULT 0 CHECK (attachment_count >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    search              tsvector GENERATED ALWAYS AS (
                            setweight(to_tsvector('english'::regconfig, title), 'A') ||
                            setweight(to_tsvector('english'::regconfig, worklog_tags_text(tags)), 'A') ||
                            setweight(to_tsvector('english'::regconfig, outcome || ' ' || impact), 'B') ||
                            setweight(to_tsvector('english'::regconfig, content), 'C')) STORED,
    UNIQUE (tenant_id, id),
    CHECK ((impact_score IS NULL) = (impact_score_source IS NULL)),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE SET NULL (client_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE SET NULL (project_id)
);
-- Re-importing the same export never duplicates an entry.
CREATE UNIQUE INDEX worklog_entries_import_key ON worklog_entries (tenant_id, import_key) WHERE import_key IS NOT NULL;
-- The list: newest first with keyset pagination on (occurred_on, id), within a tenant, live rows only. The
-- visibility columns are included so that a page's ids come from an index-only scan (the row-level-security
-- clause makes the planner's row estimates useless; reading the index in order and stopping after one page is
-- what keeps the list at a fraction of a millisecond whatever the tenant's size).
CREATE INDEX worklog_entries_list ON worklog_entries (tenant_id, occurred_on DESC, id DESC)
    INCLUDE (visibility, author_id) WHERE deleted_at IS NULL;
CREATE INDEX worklog_entries_author ON worklog_entries (author_id, occurred_on DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX worklog_entries_project ON worklog_entries (tenant_id, project_id, occurred_on DESC) WHERE project_id IS NOT NULL;
CREATE INDEX worklog_entries_client ON worklog_entries (tenant_id, client_id, occurred_on DESC) WHERE client_id IS NOT NULL;
CREATE INDEX worklog_entries_tags ON worklog_entries USING gin (tags);
CREATE INDEX worklog_entries_search ON worklog_entries USING gin (search);
CREATE INDEX worklog_entries_deleted ON worklog_entries (deleted_at) WHERE deleted_at IS NOT NULL;

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE clients FORCE ROW LEVEL SECURITY;
CREATE POLICY clients_isolation ON clients
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY projects_isolation ON projects
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

-- Private entries belong to their author; team entries to the tenant.
ALTER TABLE worklog_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE worklog_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY worklog_entries_isolation ON worklog_entries
    USING (app_bypass_rls() OR
           (tenant_id = app_tenant_id() AND (visibility = 'team' OR author_id = app_user_id())))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND author_id = app_user_id())
                OR (tenant_id = app_tenant_id() AND visibility = 'team'));
