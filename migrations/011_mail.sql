-- 011: email delivery and the flows that need it (store/mail*.c, mailer/).
--
-- outbox: every message the server sends, written in the transaction of
-- what caused it (a sign-up, a reset request, a code), delivered by the
-- mailer process. The mailer claims due rows with a lease (locked_until),
-- FOR UPDATE SKIP LOCKED so instances share the work; attempts counts the
-- claims; a failure sets next_attempt_at with exponential backoff; after
-- SMTP_MAX_ATTEMPTS the row is given up (failed_at). Delivery is
-- at-least-once: a crash between the server's acceptance and delivered_at
-- re-sends after the lease (with the same Message-ID).
CREATE TABLE IF NOT EXISTS outbox (
	id bigserial PRIMARY KEY,
	recipient text NOT NULL CHECK (char_length(recipient) BETWEEN 3 AND 320),
	subject text NOT NULL CHECK (char_length(subject) <= 998),
	body_text text NOT NULL CHECK (octet_length(body_text) <= 16384),
	body_html text NOT NULL CHECK (octet_length(body_html) <= 16384),
	created_at timestamptz NOT NULL DEFAULT now(),
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	locked_until timestamptz,
	delivered_at timestamptz,
	failed_at timestamptz,
	last_error text
);
CREATE INDEX IF NOT EXISTS outbox_due_idx ON outbox (next_attempt_at)
	WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Every instance's store listens: its mailer wakes at once instead of at
-- its next poll.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('dreamauth_outbox', '');
	RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Single-use links: SHA-256 of the token only. purpose 'verify' (email
-- verification, bound to the address it was sent to) or 'reset' (password).
CREATE TABLE IF NOT EXISTS email_tokens (
	token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
	purpose text NOT NULL CHECK (purpose IN ('verify', 'reset')),
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email_normalized text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);
CREATE INDEX IF NOT EXISTS email_tokens_user_idx ON email_tokens (user_id);
CREATE INDEX IF NOT EXISTS email_tokens_expires_idx ON email_tokens (expires_at);

-- Email one-time codes: HMAC-SHA-256 of (address, code) under a key the
-- store derives from AUTH_SECRET, so a dump alone cannot be brute-forced
-- offline (a million codes). One live code per address and purpose: a new
-- one supersedes (used_at) the last.
CREATE TABLE IF NOT EXISTS email_otps (
	id bigserial PRIMARY KEY,
	email_normalized text NOT NULL,
	purpose text NOT NULL CHECK (purpose IN ('sign-in', 'email-verification', 'forget-password')),
	code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	used_at timestamptz
);
CREATE INDEX IF NOT EXISTS email_otps_email_idx ON email_otps (email_normalized, purpose, created_at DESC);
