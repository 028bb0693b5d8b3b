-- 0004_outbox_delivery.sql — what the SMTP delivery of the e-mail outbox needs (additive): when a pending
-- message may be tried next (retry backoff, and the lease of a batch being sent) and the Message-ID it was
-- sent with.

ALTER TABLE email_outbox ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE email_outbox ADD COLUMN message_id text;
CREATE INDEX email_outbox_pending ON email_outbox (next_attempt_at, id) WHERE status = 'pending';
