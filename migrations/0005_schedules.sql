-- 0005_schedules.sql — recurring job schedules, system jobs, per-tenant job quotas and templated e-mail.
--
-- Schedules are global (not tenant data). The jobs they start are *system jobs*: jobs.tenant_id is NULL
-- (no "system tenant" row, so tenant listings and counts are unaffected). Row-level security already hides
-- such rows from every tenant (NULL = app_tenant_id() is never true); the worker pool and staff read them
-- with app.bypass_rls. The scheduler (src/jobs/scheduler.c) upserts its built-in schedules at start, so a
-- schedule is one line in src/jobs/schedules.c (or one row inserted here or in a later migration).

CREATE TABLE schedules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_.-]{1,100}$'),
    cron         text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    job_type     text NOT NULL CHECK (length(job_type) BETWEEN 1 AND 100),
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
    enabled      boolean NOT NULL DEFAULT true,
    next_run_at  timestamptz NOT NULL DEFAULT now(),
    last_run_at  timestamptz,
    last_job_id  bigint REFERENCES jobs(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled;
-- Only the worker pool / staff (app.bypass_rls) read or change schedules.
ALTER TABLE schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY schedules_system ON schedules USING (app_bypass_rls()) WITH CHECK (app_bypass_rls());

-- System jobs have no tenant; their idempotency keys are unique per type.
ALTER TABLE jobs ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE job_events ALTER COLUMN tenant_id DROP NOT NULL;
CREATE UNIQUE INDEX jobs_system_idempotency ON jobs (type, idempotency_key)
    WHERE tenant_id IS NULL AND idempotency_key IS NOT NULL;

-- Jobs a user started (the daily quota counts them) and the tenant's running jobs (concurrency limit).
ALTER TABLE jobs ADD COLUMN user_initiated boolean NOT NULL DEFAULT false;
CREATE INDEX jobs_tenant_user_initiated ON jobs (tenant_id, created_at) WHERE user_initiated;
CREATE INDEX jobs_tenant_active ON jobs (tenant_id) WHERE status IN ('queued', 'running');
-- Finished jobs by age, for the 30-day cleanup.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');

-- Templated e-mail: the template (templates/email/<name>.text|.html.mustache) and its data; NULL template =
-- body_text as is (with a generic HTML part).
ALTER TABLE email_outbox ADD COLUMN template text CHECK (template IS NULL OR template ~ '^[a-z0-9_]{1,64}$');
ALTER TABLE email_outbox ADD COLUMN template_data jsonb;

-- The worker's hot path as single round trips. The functions below turn app.bypass_rls on (the worker pool
-- and system jobs work across tenants) for their own statements only and put the caller's value back before
-- returning (a function SET clause would be cleaner, but PostgreSQL 15 reserves SET of placeholder
-- parameters on functions to superusers).
--
-- Claim job p_id for worker p_worker. outcome: 'claimed' (with the job's fields), 'limited' (its tenant
-- already runs p_limit jobs; p_limit <= 0 = no limit), 'early' (queued but not due: due_ms), 'gone'
-- (not queued any more, or no such row). The per-tenant advisory lock serialises concurrent claims of one
-- tenant, and the running count is read after taking it (a fresh snapshot per statement), so the limit holds.
CREATE FUNCTION ar_job_claim(p_id bigint, p_worker text, p_limit integer)
RETURNS TABLE (outcome text, job_id bigint, tenant_id bigint, user_id bigint, job_type text, payload text,
               attempts integer, max_attempts integer, due_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_bypass text := coalesce(current_setting('app.bypass_rls', true), '');
    v_tenant bigint;
    v_status text;
    v_due timestamptz;
    v_outcome text := 'gone';
    v_due_ms bigint;
BEGIN
    PERFORM set_config('app.bypass_rls', 'on', true);
    SELECT j.tenant_id, j.status, j.next_run_at INTO v_tenant, v_status, v_due FROM jobs j WHERE j.id = p_id;
    IF FOUND AND v_status = 'queued' THEN
        IF v_due > now() THEN
            v_outcome := 'early';
            v_due_ms := (extract(epoch FROM v_due) * 1000)::bigint;
        ELSIF v_tenant IS NOT NULL AND p_limit > 0 THEN
            PERFORM pg_advisory_xact_lock(20251105, (v_tenant % 2147483647)::integer);
            IF (SELECT count(*) FROM jobs r WHERE r.tenant_id = v_tenant AND r.status = 'running') >= p_limit THEN
                v_outcome := 'limited';
            END IF;
        END IF;
        IF v_outcome = 'gone' THEN
            RETURN QUERY
            WITH j AS (
                UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, started_at = now(),
                       worker_id = p_worker, heartbeat_at = now(), progress = 0, progress_message = ''
                WHERE jobs.id = p_id AND jobs.status = 'queued' AND jobs.next_run_at <= now()
                RETURNING jobs.id, jobs.tenant_id, jobs.user_id, jobs.type, jobs.payload, jobs.attempts,
                          jobs.max_attempts),
            e AS (
                INSERT INTO job_events (job_id, tenant_id, message, data)
                SELECT j.id, j.tenant_id, 'started', jsonb_build_object('attempt', j.attempts, 'worker', p_worker)
                FROM j)
            SELECT 'claimed'::text, j.id, j.tenant_id, coalesce(j.user_id, 0), j.type, j.payload::text, j.attempts,
                   j.max_attempts, NULL::bigint FROM j;
            IF FOUND THEN
                PERFORM set_config('app.bypass_rls', v_bypass, true);
                RETURN;
            END IF;
        END IF;
    END IF;
    PERFORM set_config('app.bypass_rls', v_bypass, true);
    RETURN QUERY SELECT v_outcome, p_id, v_tenant, NULL::bigint, NULL::text, NULL::text, NULL::integer,
                        NULL::integer, v_due_ms;
END
$$;

-- Record a successful attempt of p_id by p_worker; returns the job id (no row: the job is not ours any more).
CREATE FUNCTION ar_job_succeed(p_id bigint, p_worker text, p_result text)
RETURNS TABLE (job_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_bypass text := coalesce(current_setting('app.bypass_rls', true), '');
BEGIN
    PERFORM set_config('app.bypass_rls', 'on', true);
    RETURN QUERY
    WITH j AS (
        UPDATE jobs SET status = 'succeeded', result = p_result::jsonb, progress = 100, finished_at = now(),
               heartbeat_at = NULL
        WHERE jobs.id = p_id AND jobs.worker_id = p_worker AND jobs.status = 'running'
        RETURNING jobs.id, jobs.tenant_id, jobs.attempts, extract(epoch FROM now() - jobs.started_at) * 1000 AS ms),
    e AS (
        INSERT INTO job_events (job_id, tenant_id, message, data)
        SELECT j.id, j.tenant_id, 'succeeded', jsonb_build_object('attempt', j.attempts, 'duration_ms', round(j.ms))
        FROM j)
    SELECT j.id FROM j;
    PERFORM set_config('app.bypass_rls', v_bypass, true);
END
$$;

-- Enqueue a system job (no tenant) from any transaction, idempotent per type and key (p_key NULL = always a
-- new job). Returns the job id (the existing one for a known key). Used by the scheduler and by the e-mail
-- outbox, which queues its delivery job inside the caller's transaction.
CREATE FUNCTION ar_enqueue_system_job(p_type text, p_payload jsonb, p_max_attempts integer, p_key text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_bypass text := coalesce(current_setting('app.bypass_rls', true), '');
    v_id bigint;
BEGIN
    PERFORM set_config('app.bypass_rls', 'on', true);
    INSERT INTO jobs (tenant_id, user_id, type, payload, max_attempts, idempotency_key)
    VALUES (NULL, NULL, p_type, p_payload, p_max_attempts, p_key)
    ON CONFLICT (type, idempotency_key) WHERE tenant_id IS NULL AND idempotency_key IS NOT NULL DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT id INTO v_id FROM jobs WHERE jobs.tenant_id IS NULL AND type = p_type AND idempotency_key = p_key;
    ELSE
        INSERT INTO job_events (job_id, tenant_id, message) VALUES (v_id, NULL, 'queued');
    END IF;
    PERFORM set_config('app.bypass_rls', v_bypass, true);
    RETURN v_id;
END
$$;
