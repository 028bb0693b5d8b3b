-- 0001_init.sql — extensions used across the schema, and instance-wide settings.
-- citext: case-insensitive text (e-mail addresses, slugs). pgcrypto: gen_random_bytes, digest.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Instance-wide settings editable by staff at run time (the environment holds the start-up ones).
CREATE TABLE app_settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL DEFAULT 'null'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
