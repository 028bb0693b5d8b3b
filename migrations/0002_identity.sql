-- 0002_identity.sql — tenants, users, memberships, invite passkeys, sessions, API tokens, password resets,
-- the audit log and the e-mail outbox, with row-level security on every tenant-scoped table.
--
-- Row-level security is keyed on per-transaction settings that the application sets with
-- set_config(..., true) at the start of every transaction it runs for a request (see src/db/context.c):
--   app.tenant_id  the caller's current tenant        app.user_id  the caller
--   app.bypass_rls 'on' only inside explicitly named system/staff services (sign-in lookups, admin pages)
-- The application's role owns the tables, so FORCE ROW LEVEL SECURITY applies the policies to it too;
-- it must not be a superuser (superusers bypass RLS).

CREATE FUNCTION app_tenant_id() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.tenant_id', true), '')::bigint $$;
CREATE FUNCTION app_user_id() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.user_id', true), '')::bigint $$;
CREATE FUNCTION app_bypass_rls() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('app.bypass_rls', true), '') = 'on' $$;

CREATE TABLE tenants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    personal    boolean NOT NULL DEFAULT false,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username           citext NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$'),
    email              citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    password_hash      text NOT NULL,
    is_staff           boolean NOT NULL DEFAULT false,
    is_active          boolean NOT NULL DEFAULT true,
    personal_tenant_id bigint REFERENCES tenants(id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_login_at      timestamptz,
    disabled_reason    text
);

CREATE TABLE memberships (
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'read_only')),
    invited_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invite_passkeys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    tenant_id   bigint REFERENCES tenants(id) ON DELETE CASCADE,      -- NULL: platform passkey (staff)
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member', 'read_only')),
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    expires_at  timestamptz,
    max_uses    integer NOT NULL DEFAULT 1 CHECK (max_uses BETWEEN 1 AND 10000),
    uses        integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    revoked_at  timestamptz,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    email       citext,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id     bigint NOT NULL REFERENCES tenants(id),
    csrf_token    text NOT NULL,
    remember      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    idle_seconds  integer NOT NULL,
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix        text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scope         text NOT NULL CHECK (scope IN ('read', 'write')),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE password_resets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    tenant_id    bigint REFERENCES tenants(id) ON DELETE SET NULL,
    action       text NOT NULL,
    target_type  text,
    target_id    text,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    request_id   text NOT NULL DEFAULT '',
    success      boolean NOT NULL DEFAULT true,
    reason       text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    passkey_id   bigint REFERENCES invite_passkeys(id) ON DELETE SET NULL
);
CREATE INDEX audit_events_time ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_id, created_at DESC);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, created_at DESC);
CREATE INDEX audit_events_passkey ON audit_events (passkey_id) WHERE passkey_id IS NOT NULL;
-- The audit log is append-only.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE email_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint REFERENCES tenants(id) ON DELETE SET NULL,
    to_addr     text NOT NULL,
    subject     text NOT NULL,
    body_text   text NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);

-- Row-level security. Users and tenants are looked up across tenants by design (sign-in, memberships);
-- every table below that carries tenant data is isolated.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_isolation ON memberships
    USING (app_bypass_rls() OR tenant_id = app_tenant_id() OR user_id = app_user_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE invite_passkeys ENABLE ROW LEVEL SECURITY;
ALTER TABLE invite_passkeys FORCE ROW LEVEL SECURITY;
CREATE POLICY invite_passkeys_isolation ON invite_passkeys
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_isolation ON api_tokens
    USING (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()))
    WITH CHECK (app_bypass_rls() OR (tenant_id = app_tenant_id() AND user_id = app_user_id()));

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_read ON audit_events FOR SELECT
    USING (app_bypass_rls() OR tenant_id = app_tenant_id());
CREATE POLICY audit_events_insert ON audit_events FOR INSERT
    WITH CHECK (true);  -- anyone may append (sign-in failures have no tenant); reads stay isolated

ALTER TABLE email_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY email_outbox_read ON email_outbox FOR SELECT USING (app_bypass_rls());
CREATE POLICY email_outbox_insert ON email_outbox FOR INSERT WITH CHECK (true);
CREATE POLICY email_outbox_update ON email_outbox FOR UPDATE USING (app_bypass_rls());
