-- 0003_jobs.sql — background jobs. `jobs` is the source of truth for every job (Valkey only carries wake-ups);
-- a retry reschedules the same row. `job_events` is each job's timeline (one row per transition).
-- Both tables are tenant-isolated by row-level security like api_tokens / audit_events; the worker pool and
-- staff services run with app.bypass_rls.

CREATE TABLE jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id           bigint REFERENCES users(id) ON DELETE SET NULL,
    type              text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
    payload           jsonb NOT NULL DEFAULT '{}'::jsonb,
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    next_run_at       timestamptz NOT NULL DEFAULT now(),
    progress          integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_message  text NOT NULL DEFAULT '',
    result            jsonb,
    last_error        text,
    idempotency_key   text CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200),
    parent_id         bigint REFERENCES jobs(id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    worker_id         text,
    heartbeat_at      timestamptz,
    cancel_requested  boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, type, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Claiming / reconciling due queued jobs, and finding running jobs with stale heartbeats.
CREATE INDEX jobs_queued_due ON jobs (next_run_at) WHERE status = 'queued';
CREATE INDEX jobs_running_heartbeat ON jobs (heartbeat_at) WHERE status = 'running';
-- Listing a tenant's jobs (newest first, optionally by status) and a user's own jobs.
CREATE INDEX jobs_tenant_list ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, id DESC);
CREATE INDEX jobs_user_list ON jobs (user_id, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX jobs_parent ON jobs (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE job_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    level       text NOT NULL DEFAULT 'info' CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message     text NOT NULL,
    data        jsonb
);
CREATE INDEX job_events_job ON job_events (job_id, id);

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_isolation ON jobs
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE job_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_events FORCE ROW LEVEL SECURITY;
CREATE POLICY job_events_isolation ON job_events
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());
