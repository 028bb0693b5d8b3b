-- 0008_billing.sql — the reserve balance (SPEC §5): one reserve account per tenant, an append-only ledger in
-- integer cents, holds taken before paid work, usage rows priced by versioned rate cards, Stripe top-ups and
-- the received Stripe events.
--
-- Money is bigint cents everywhere; prices are bigint micro-cents (1 cent = 1,000,000 micro-cents). No floats.
--
-- Invariants, enforced here and not only in the services:
--   * ledger_entries is append-only (UPDATE / DELETE / TRUNCATE raise); corrections are reversing entries.
--   * Every ledger insert moves the account: the BEFORE INSERT trigger adds amount_cents to
--     reserve_accounts.balance_cents and hold_cents to reserve_accounts.held_cents, and stores the results in
--     balance_after_cents / held_after_cents. So balance = Σ amount_cents and held = Σ hold_cents by
--     construction (`afterresumed billing verify` re-sums both and re-walks every balance-after chain).
--   * available = balance − held must stay ≥ 0 after every entry except a `refund` (Stripe already returned the
--     money; the ledger must record it even when it was spent). held never goes below zero.
--   * Each Stripe event id, each top-up (checkout session) credit and each job's hold / release / usage posts
--     at most once (unique indexes below).
-- Writers lock the account row first (SELECT ... FOR UPDATE on reserve_accounts), then holds / top-ups, then
-- insert ledger rows: one lock order, so concurrent holds, posts, voids and adjustments serialise per tenant.
--
-- Hold / release entries do not change the balance (amount_cents = 0); they move hold_cents: a `hold` reserves
-- +N, a `release` frees −N (a post releases the whole hold and then debits the actual cost as `usage`).
--
-- Row-level security: tenant tables like 0006; rate cards are readable by everyone and written with
-- app.bypass_rls (staff); stripe_events are system-only (the webhook and staff pages run with bypass).

CREATE TABLE reserve_accounts (
    tenant_id                   bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE RESTRICT,
    currency                    char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    balance_cents               bigint NOT NULL DEFAULT 0,
    held_cents                  bigint NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
    low_balance_threshold_cents bigint NOT NULL DEFAULT 500 CHECK (low_balance_threshold_cents BETWEEN 0 AND 100000000000),
    low_balance_notified        boolean NOT NULL DEFAULT false,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reserve_accounts_balance ON reserve_accounts (balance_cents);

-- Stripe Checkout top-ups (created pending by the top-up API, settled by the webhook).
CREATE TABLE topups (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id                  bigint NOT NULL REFERENCES tenants(id) ON DELETE RESTRICT,
    amount_cents               bigint NOT NULL CHECK (amount_cents BETWEEN 100 AND 1000000),
    currency                   char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    status                     text NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'refunded')),
    stripe_checkout_session_id text UNIQUE CHECK (stripe_checkout_session_id IS NULL
                                                  OR length(stripe_checkout_session_id) BETWEEN 1 AND 255),
    stripe_payment_intent_id   text CHECK (stripe_payment_intent_id IS NULL OR length(stripe_payment_intent_id) <= 255),
    checkout_url               text CHECK (checkout_url IS NULL OR length(checkout_url) <= 2048),
    amount_refunded_cents      bigint NOT NULL DEFAULT 0 CHECK (amount_refunded_cents >= 0),
    created_by                 bigint REFERENCES users(id) ON DELETE SET NULL,
    failure_reason             text NOT NULL DEFAULT '' CHECK (length(failure_reason) <= 1000),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    paid_at                    timestamptz,
    CHECK (amount_refunded_cents <= amount_cents),
    UNIQUE (tenant_id, id)
);
CREATE INDEX topups_tenant ON topups (tenant_id, id DESC);
CREATE INDEX topups_payment_intent ON topups (stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;

-- Every Stripe webhook event received (idempotency key = event_id), with what processing did with it.
CREATE TABLE stripe_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       text NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type     text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 255),
    tenant_id      bigint REFERENCES tenants(id) ON DELETE SET NULL,
    topup_id       bigint REFERENCES topups(id) ON DELETE SET NULL,
    payload        jsonb NOT NULL,
    payload_sha256 text NOT NULL DEFAULT '' CHECK (length(payload_sha256) <= 64),
    result         text NOT NULL DEFAULT 'processing'
                   CHECK (result IN ('processing', 'processed', 'ignored', 'skipped', 'failed')),
    result_detail  text NOT NULL DEFAULT '' CHECK (length(result_detail) <= 2000),
    received_at    timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz
);
CREATE INDEX stripe_events_received ON stripe_events (received_at DESC, id DESC);

-- Holds: money reserved for one job before it runs (SPEC §4 "Cost").
CREATE TABLE billing_holds (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE RESTRICT,
    job_id        bigint NOT NULL UNIQUE,      -- jobs(id); no FK: finished jobs are purged, the money trail stays
    amount_cents  bigint NOT NULL CHECK (amount_cents > 0 AND amount_cents <= 100000000),
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'posted', 'voided', 'expired')),
    posted_cents  bigint CHECK (posted_cents IS NULL OR posted_cents >= 0),
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    settled_at    timestamptz,
    UNIQUE (tenant_id, id),
    CHECK ((state = 'active') = (settled_at IS NULL)),
    CHECK ((state = 'posted') = (posted_cents IS NOT NULL))
);
CREATE INDEX billing_holds_active_expiry ON billing_holds (expires_at) WHERE state = 'active';
CREATE INDEX billing_holds_tenant ON billing_holds (tenant_id, id DESC);

-- A hold changes once: from active to posted / voided / expired; nothing else about it ever changes.
CREATE FUNCTION billing_holds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'billing_holds rows cannot be deleted' USING ERRCODE = 'raise_exception';
    END IF;
    IF OLD.state <> 'active' OR NEW.state = 'active' OR NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id
       OR NEW.job_id <> OLD.job_id OR NEW.amount_cents <> OLD.amount_cents OR NEW.expires_at <> OLD.expires_at
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'a hold only moves once, from active to posted, voided or expired'
            USING ERRCODE = 'raise_exception';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER billing_holds_guard BEFORE UPDATE OR DELETE ON billing_holds
    FOR EACH ROW EXECUTE FUNCTION billing_holds_guard();

-- The ledger. amount_cents: + credit / − debit of the balance; hold_cents: + reserved / − released.
CREATE TABLE ledger_entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           bigint NOT NULL REFERENCES tenants(id) ON DELETE RESTRICT,
    entry_type          text NOT NULL CHECK (entry_type IN ('topup', 'usage', 'refund', 'adjustment', 'hold', 'release')),
    amount_cents        bigint NOT NULL CHECK (amount_cents BETWEEN -100000000000 AND 100000000000),
    hold_cents          bigint NOT NULL DEFAULT 0 CHECK (hold_cents BETWEEN -100000000 AND 100000000),
    balance_after_cents bigint NOT NULL,
    held_after_cents    bigint NOT NULL,
    topup_id            bigint REFERENCES topups(id) ON DELETE RESTRICT,
    stripe_event_id     text CHECK (stripe_event_id IS NULL OR length(stripe_event_id) BETWEEN 1 AND 255),
    job_id              bigint,
    hold_id             bigint REFERENCES billing_holds(id) ON DELETE RESTRICT,
    actor_id            bigint REFERENCES users(id) ON DELETE RESTRICT,
    reason              text NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE entry_type
               WHEN 'topup'      THEN amount_cents > 0 AND hold_cents = 0 AND topup_id IS NOT NULL
               WHEN 'refund'     THEN amount_cents < 0 AND hold_cents = 0
               WHEN 'usage'      THEN amount_cents <= 0 AND hold_cents = 0
               WHEN 'adjustment' THEN amount_cents <> 0 AND hold_cents = 0 AND actor_id IS NOT NULL
                                      AND length(btrim(reason)) >= 10
               WHEN 'hold'       THEN amount_cents = 0 AND hold_cents > 0 AND hold_id IS NOT NULL
               WHEN 'release'    THEN amount_cents = 0 AND hold_cents < 0 AND hold_id IS NOT NULL
           END)
);
CREATE INDEX ledger_entries_tenant ON ledger_entries (tenant_id, id DESC);
CREATE INDEX ledger_entries_time ON ledger_entries (created_at, id);
-- Each external event posts at most once.
CREATE UNIQUE INDEX ledger_entries_stripe_event ON ledger_entries (stripe_event_id) WHERE stripe_event_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_entries_topup_credit ON ledger_entries (topup_id) WHERE entry_type = 'topup';
CREATE UNIQUE INDEX ledger_entries_job ON ledger_entries (entry_type, job_id)
    WHERE job_id IS NOT NULL AND entry_type IN ('hold', 'release', 'usage');

-- Apply the entry to its account (which the writer has locked) and stamp the running totals on the row.
CREATE FUNCTION ledger_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_held bigint;
BEGIN
    UPDATE reserve_accounts
       SET balance_cents = balance_cents + NEW.amount_cents,
           held_cents = held_cents + NEW.hold_cents,
           updated_at = now()
     WHERE tenant_id = NEW.tenant_id
    RETURNING balance_cents, held_cents INTO v_balance, v_held;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no reserve account for tenant %', NEW.tenant_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF v_held < 0 THEN
        RAISE EXCEPTION 'release larger than the held amount' USING ERRCODE = 'check_violation';
    END IF;
    -- Entries that lower what is available may not take it below zero (a refund is recorded regardless).
    IF v_balance - v_held < 0 AND NEW.entry_type <> 'refund' AND NEW.amount_cents - NEW.hold_cents < 0 THEN
        RAISE EXCEPTION 'insufficient_balance: available would be % cents', v_balance - v_held
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.balance_after_cents := v_balance;
    NEW.held_after_cents := v_held;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_apply();

CREATE FUNCTION billing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'raise_exception';
END $$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION billing_append_only();

-- Rate cards: versioned price tables. A version is never edited once created; the only change allowed is
-- closing an open version (effective_to from NULL to a time), which adding the next version does.
CREATE TABLE rate_cards (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version        integer NOT NULL UNIQUE CHECK (version >= 1),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    effective_from timestamptz NOT NULL,
    effective_to   timestamptz,
    created_by     bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (effective_to IS NULL OR effective_to > effective_from)
);
CREATE INDEX rate_cards_effective ON rate_cards (effective_from, effective_to);

CREATE FUNCTION rate_cards_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.effective_to IS NULL AND NEW.effective_to IS NOT NULL
       AND NEW.id = OLD.id AND NEW.version = OLD.version AND NEW.name = OLD.name AND NEW.notes = OLD.notes
       AND NEW.effective_from = OLD.effective_from AND NEW.created_by IS NOT DISTINCT FROM OLD.created_by
       AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'rate card versions are never edited; add a new version' USING ERRCODE = 'raise_exception';
END $$;
CREATE TRIGGER rate_cards_guard BEFORE UPDATE OR DELETE ON rate_cards
    FOR EACH ROW EXECUTE FUNCTION rate_cards_guard();

-- One price per (version, usage type, provider, model). provider / model '' = any (the fallback row).
-- price_microcents: micro-cents per unit (per token, per job, per MB stored).
CREATE TABLE rate_card_prices (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rate_card_id     bigint NOT NULL REFERENCES rate_cards(id) ON DELETE RESTRICT,
    usage_type       text NOT NULL CHECK (usage_type IN ('prompt_tokens', 'completion_tokens', 'per_job', 'per_mb_stored')),
    provider         text NOT NULL DEFAULT '' CHECK (length(provider) <= 100),
    model            text NOT NULL DEFAULT '' CHECK (length(model) <= 200),
    price_microcents bigint NOT NULL CHECK (price_microcents BETWEEN 0 AND 1000000000),
    UNIQUE (rate_card_id, usage_type, provider, model)
);
CREATE TRIGGER rate_card_prices_no_update BEFORE UPDATE OR DELETE ON rate_card_prices
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();

-- The seeded default card (version 1): $1.00 per million prompt tokens, $3.00 per million completion tokens,
-- nothing per job, 0.01 cent per MB stored; the built-in local provider is free.
INSERT INTO rate_cards (version, name, notes, effective_from)
VALUES (1, 'Default', 'Seeded by migration 0008.', '2020-01-01T00:00:00Z');
INSERT INTO rate_card_prices (rate_card_id, usage_type, provider, model, price_microcents)
SELECT id, t.usage_type, t.provider, '', t.price FROM rate_cards,
       (VALUES ('prompt_tokens', '', 100), ('completion_tokens', '', 300), ('per_job', '', 0),
               ('per_mb_stored', '', 10000), ('prompt_tokens', 'local', 0), ('completion_tokens', 'local', 0))
       AS t(usage_type, provider, price)
WHERE version = 1;

-- Usage rows: what one job consumed and what it cost (priced with rate card `rate_card_version`).
CREATE TABLE billing_usage (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE RESTRICT,
    job_id            bigint,
    job_type          text NOT NULL DEFAULT '' CHECK (length(job_type) <= 100),
    hold_id           bigint REFERENCES billing_holds(id) ON DELETE RESTRICT,
    ledger_entry_id   bigint REFERENCES ledger_entries(id) ON DELETE RESTRICT,
    usage_type        text NOT NULL CHECK (usage_type IN ('tokens', 'per_job', 'per_mb_stored')),
    provider          text NOT NULL DEFAULT '' CHECK (length(provider) <= 100),
    model             text NOT NULL DEFAULT '' CHECK (length(model) <= 200),
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens BETWEEN 0 AND 1000000000),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens BETWEEN 0 AND 1000000000),
    units             bigint NOT NULL DEFAULT 0 CHECK (units BETWEEN 0 AND 1000000000),
    cost_cents        bigint NOT NULL CHECK (cost_cents >= 0),
    rate_card_version integer NOT NULL REFERENCES rate_cards(version) ON DELETE RESTRICT,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_usage_tenant ON billing_usage (tenant_id, created_at DESC);
CREATE INDEX billing_usage_time ON billing_usage (created_at);
CREATE INDEX billing_usage_job ON billing_usage (job_id) WHERE job_id IS NOT NULL;
CREATE TRIGGER billing_usage_no_update BEFORE UPDATE OR DELETE ON billing_usage
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();

-- Row-level security.
ALTER TABLE reserve_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE reserve_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY reserve_accounts_isolation ON reserve_accounts
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE topups ENABLE ROW LEVEL SECURITY;
ALTER TABLE topups FORCE ROW LEVEL SECURITY;
CREATE POLICY topups_isolation ON topups
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE billing_holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_holds FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_holds_isolation ON billing_holds
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE ledger_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY ledger_entries_isolation ON ledger_entries
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE billing_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_usage_isolation ON billing_usage
    USING (app_bypass_rls() OR tenant_id = app_tenant_id())
    WITH CHECK (app_bypass_rls() OR tenant_id = app_tenant_id());

ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
CREATE POLICY stripe_events_system ON stripe_events USING (app_bypass_rls()) WITH CHECK (app_bypass_rls());

ALTER TABLE rate_cards ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_cards FORCE ROW LEVEL SECURITY;
CREATE POLICY rate_cards_read ON rate_cards FOR SELECT USING (true);
CREATE POLICY rate_cards_write ON rate_cards FOR INSERT WITH CHECK (app_bypass_rls());
CREATE POLICY rate_cards_close ON rate_cards FOR UPDATE USING (app_bypass_rls()) WITH CHECK (app_bypass_rls());

ALTER TABLE rate_card_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_card_prices FORCE ROW LEVEL SECURITY;
CREATE POLICY rate_card_prices_read ON rate_card_prices FOR SELECT USING (true);
CREATE POLICY rate_card_prices_write ON rate_card_prices FOR INSERT WITH CHECK (app_bypass_rls());

-- The scheduler's rows (0005 schedules): void expired holds every 5 minutes, verify the ledger nightly.
-- (schedules is system-only under RLS; migrations run in one transaction, so the setting ends with it.)
DO $$
BEGIN
    IF to_regclass('schedules') IS NOT NULL THEN
        PERFORM set_config('app.bypass_rls', 'on', true);
        EXECUTE $sql$INSERT INTO schedules (name, cron, job_type) VALUES
                     ('billing.expire_holds', '*/5 * * * *', 'billing.expire_holds'),
                     ('billing.verify', '17 3 * * *', 'billing.verify')
                     ON CONFLICT (name) DO NOTHING$sql$;
        PERFORM set_config('app.bypass_rls', '', true);
    END IF;
END $$;
