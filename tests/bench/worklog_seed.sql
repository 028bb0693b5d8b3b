-- worklog_seed.sql — benchmark data for tests/bench/worklog.sh: 1,000,000 worklog entries over 1,000 tenants
-- (1,000 each), with generate_series in a few set-based statements. One of the tenants is the benchmark
-- user's own (psql variables :bench_tenant and :bench_user, made through the API so that its token is real);
-- the other 999 get a synthetic owner each. Entries spread over about 3 years, a quarter of them `team`,
-- with titles, contents and tags drawn from a small vocabulary so that full-text search has realistic hit
-- counts (a rare word, `zeppelin`, is in 0.1% of the entries).
--
--   psql "$DATABASE_URL" -v bench_tenant=ID -v bench_user=ID -f tests/bench/worklog_seed.sql
--
-- The GIN indexes are dropped during the load and built again afterwards (same definitions as
-- migrations/0006_worklog.sql): much faster than maintaining them row by row.
\set ON_ERROR_STOP on
SELECT set_config('app.bypass_rls', 'on', false);
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

BEGIN;
CREATE TEMP TABLE bench_tenants (n int PRIMARY KEY, tenant_id bigint, user_id bigint) ON COMMIT DROP;
INSERT INTO bench_tenants VALUES (0, :bench_tenant, :bench_user);

-- 999 synthetic tenants, each with one owner
WITH t AS (
    INSERT INTO tenants (name, personal) SELECT 'bench tenant ' || g, true FROM generate_series(1, 999) g RETURNING id
), numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM t)
INSERT INTO bench_tenants (n, tenant_id) SELECT n, id FROM numbered;
WITH u AS (
    INSERT INTO users (username, email, password_hash, personal_tenant_id)
    SELECT 'bench' || b.n || '_' || b.tenant_id, 'bench' || b.n || '_' || b.tenant_id || '@bench.invalid', 'x', b.tenant_id
    FROM bench_tenants b WHERE b.n > 0 RETURNING id, personal_tenant_id
)
UPDATE bench_tenants b SET user_id = u.id FROM u WHERE u.personal_tenant_id = b.tenant_id;
INSERT INTO memberships (tenant_id, user_id, role) SELECT tenant_id, user_id, 'owner' FROM bench_tenants WHERE n > 0;

DROP INDEX worklog_entries_search;
DROP INDEX worklog_entries_tags;

-- 1,000 entries per tenant; words are picked by arithmetic on the series so the load needs no random().
INSERT INTO worklog_entries (tenant_id, author_id, occurred_on, title, content, outcome, work_type, status, tags,
                             visibility, effort_minutes, source)
SELECT b.tenant_id, b.user_id,
       date '2026-11-01' - ((g * 7 + b.n) % 1100),
       initcap(w.words[1 + (g * 3 + b.n) % 40]) || ' ' || w.words[1 + (g * 11) % 40] || ' ' || w.words[1 + (g * 17 + 5) % 40],
       'Worked on the ' || w.words[1 + (g * 13) % 40] || ' ' || w.words[1 + (g * 19 + b.n) % 40] || ' with the team. '
         || 'We reviewed ' || w.words[1 + (g * 23) % 40] || ' and ' || w.words[1 + (g * 29 + 3) % 40]
         || ', then shipped the ' || w.words[1 + (g * 31 + b.n) % 40] || ' changes after testing '
         || w.words[1 + (g * 37) % 40] || ' carefully.'
         || CASE WHEN g % 1000 = 7 THEN ' The zeppelin project finally landed.' ELSE '' END
         || ' Notes: ' || repeat('Details about ' || w.words[1 + (g * 41) % 40] || ' and follow-ups. ', 1 + g % 5),
       'Outcome ' || w.words[1 + (g * 43) % 40],
       (ARRAY['delivery', 'planning', 'incident', 'support', 'learning', 'other'])[1 + g % 6],
       (ARRAY['draft', 'final', 'final', 'archived'])[1 + g % 4],
       ARRAY[w.words[1 + g % 40], w.words[1 + (g * 7) % 40]],
       CASE WHEN g % 4 = 0 THEN 'team' ELSE 'private' END,
       15 * (1 + g % 16),
       'manual'
FROM bench_tenants b
CROSS JOIN generate_series(1, 1000) g
CROSS JOIN (SELECT ARRAY['api', 'database', 'deploy', 'kubernetes', 'migration', 'frontend', 'backend', 'billing',
                         'search', 'cache', 'queue', 'latency', 'outage', 'review', 'design', 'roadmap', 'hiring',
                         'mentoring', 'onboarding', 'security', 'audit', 'metrics', 'dashboard', 'invoice', 'customer',
                         'support', 'release', 'testing', 'refactor', 'pipeline', 'docker', 'postgres', 'index',
                         'storage', 'backup', 'network', 'firewall', 'compliance', 'budget', 'planning'] AS words) w;

CREATE INDEX worklog_entries_tags ON worklog_entries USING gin (tags);
CREATE INDEX worklog_entries_search ON worklog_entries USING gin (search);
COMMIT;
ANALYZE worklog_entries;
ANALYZE tenants;
ANALYZE users;
ANALYZE memberships;
SELECT count(*) AS entries, count(DISTINCT tenant_id) AS tenants FROM worklog_entries;
