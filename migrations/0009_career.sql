-- 0009_career.sql — career material (SPEC §4): AI suggestions for entries, skills with evidence linking to the
-- exact entries, reports whose bullets cite entries, and public share links for reports.
-- Suggestions follow their entry's visibility (the policy looks the entry up, under the entry's own policy);
-- skills and reports are personal (their owner within the tenant); share links belong to the report's owner and
-- are looked up by token hash with app.bypass_rls by the public page only.

-- Remote AI providers see a tenant's entries only when an admin opted in (default: local provider only).
ALTER TABLE tenants ADD COLUMN ai_remote_allowed boolean NOT NULL DEFAULT false;

-- Accepted suggestions land in the entry: a one-line summary and résumé bullets next to the author's own text.
ALTER TABLE worklog_entries ADD COLUMN summary text NOT NULL DEFAULT '' CHECK (length(summary) <= 500);
ALTER TABLE worklog_entries ADD COLUMN bullets text[] NOT NULL DEFAULT '{}' CHECK (cardinality(bullets) <= 10);

CREATE TABLE entry_suggestions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entry_id    bigint NOT NULL,
    job_id      bigint REFERENCES jobs(id) ON DELETE SET NULL,
    field       text NOT NULL CHECK (field IN ('title', 'summary', 'bullet', 'impact_score', 'skill')),
    value       jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'suggested' CHECK (status IN ('suggested', 'accepted', 'rejected')),
    provider    text NOT NULL DEFAULT '',
    model       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    decided_at  timestamptz,
    decided_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id, entry_id) REFERENCES worklog_entries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX entry_suggestions_entry ON entry_suggestions (entry_id, id);

CREATE TABLE skills (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    kind          text NOT NULL DEFAULT 'skill' CHECK (kind IN ('skill', 'technology', 'tool', 'method', 'domain')),
    level         text NOT NULL DEFAULT 'emerging' CHECK (level IN ('emerging', 'practiced', 'strong')),
    confidence    real NOT NULL DEFAULT 0.5 CHECK (confidence BETWEEN 0 AND 1),
    first_seen    date,
    last_seen     date,
    hidden        boolean NOT NULL DEFAULT false,
    confirmed     boolean NOT NULL DEFAULT false,
    merged_into   bigint,  -- merged skills stay as a redirect: later evidence for this name goes to the target
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, user_id, name),
    UNIQUE (tenant_id, id),
    CHECK (merged_into IS NULL OR merged_into <> id),
    FOREIGN KEY (tenant_id, merged_into) REFERENCES skills (tenant_id, id) ON DELETE SET NULL (merged_into)
);

-- One evidence row per skill and entry: re-running extraction updates, never duplicates.
CREATE TABLE skill_evidence (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    skill_id    bigint NOT NULL,
    entry_id    bigint NOT NULL,
    excerpt     text NOT NULL DEFAULT '' CHECK (length(excerpt) <= 500),
    source      text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ai', 'enhancement', 'manual')),
    confidence  real NOT NULL DEFAULT 0.5 CHECK (confidence BETWEEN 0 AND 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (skill_id, entry_id),
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, entry_id) REFERENCES worklog_entries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX skill_evidence_entry ON skill_evidence (entry_id);

CREATE TABLE reports (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id           bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('weekly', 'monthly', 'quarterly', 'review', 'resume', 'custom')),
    title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    period_start      date NOT NULL,
    period_end        date NOT NULL,
    filters           jsonb NOT NULL DEFAULT '{}'::jsonb,
    custom_prompt     text NOT NULL DEFAULT '' CHECK (length(custom_prompt) <= 2000),
    status            text NOT NULL DEFAULT 'generating' CHECK (status IN ('generating', 'ready', 'failed')),
    job_id            bigint REFERENCES jobs(id) ON DELETE SET NULL,
    sections          jsonb NOT NULL DEFAULT '[]'::jsonb,
    markdown          text CHECK (markdown IS NULL OR length(markdown) <= 200000),
    source_entry_ids  bigint[] NOT NULL DEFAULT '{}',
    provider          text NOT NULL DEFAULT '',
    model             text NOT NULL DEFAULT '',
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start),
    UNIQUE (tenant_id, id)
);
CREATE INDEX reports_owner ON reports (tenant_id, user_id, id DESC);

CREATE TABLE share_links (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    report_id       bigint NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    created_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    view_count      bigint NOT NULL DEFAULT 0,
    last_viewed_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, report_id) REFERENCES reports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX share_links_report ON share_links (report_id);

ALTER TABLE entry_suggestions ENABLE ROW LEVEL SECURITY;
ALTER TABLE entry_suggestions FORCE ROW LEVEL SECURITY;
CREATE POLICY entry_suggestions_isolation ON entry_suggestions
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id()
           AND EXISTS (SELECT 1 FROM worklog_entries e WHERE e.id = entry_id)))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id()
           AND EXISTS (SELECT 1 FROM worklog_entries e WHERE e.id = entry_id)));

ALTER TABLE skills ENABLE ROW LEVEL SECURITY;
ALTER TABLE skills FORCE ROW LEVEL SECURITY;
CREATE POLICY skills_isolation ON skills
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()));

ALTER TABLE skill_evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE skill_evidence FORCE ROW LEVEL SECURITY;
CREATE POLICY skill_evidence_isolation ON skill_evidence
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id() AND EXISTS (SELECT 1 FROM skills s WHERE s.id = skill_id)))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND EXISTS (SELECT 1 FROM skills s WHERE s.id = skill_id)));

ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE reports FORCE ROW LEVEL SECURITY;
CREATE POLICY reports_isolation ON reports
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()));

ALTER TABLE share_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE share_links FORCE ROW LEVEL SECURITY;
CREATE POLICY share_links_isolation ON share_links
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id() AND EXISTS (SELECT 1 FROM reports r WHERE r.id = report_id)))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND EXISTS (SELECT 1 FROM reports r WHERE r.id = report_id)));
