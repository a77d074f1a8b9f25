-- 012: second factors (TOTP, recovery codes) and one pending state for every
-- second factor (store/two_factor.c, workers/two_factor*.c).
--
-- totp_credentials: one authenticator app per user. The RFC 6238 secret (20
-- random bytes, made in the store) is sealed with AES-256-GCM under a key the
-- master derives from AUTH_SECRET for this purpose only (the AAD names the
-- user, so a sealed secret copied to another row does not open). It leaves
-- the store once, as the otpauth:// URI of its enrollment; codes are checked
-- in the store. verified_at: NULL until a first code proves the app has the
-- secret; only then does sign-in ask for it. last_step: the highest RFC 6238
-- time step accepted, so a code (or an earlier one) is never accepted twice.
-- failures / failures_since: wrong codes (TOTP or recovery) of this user in
-- the current window, whatever the pending sign-in or session they came from.
CREATE TABLE IF NOT EXISTS totp_credentials (
	user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret_sealed bytea NOT NULL CHECK (octet_length(secret_sealed) BETWEEN 16 AND 256),
	verified_at timestamptz,
	last_step bigint,
	last_used_at timestamptz,
	failures integer NOT NULL DEFAULT 0,
	failures_since timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Recovery (BetterAuth: backup) codes: ten per enrollment, random, shown
-- once; kept only as SHA-256 of their normalized text, single use (used_at).
CREATE TABLE IF NOT EXISTS recovery_codes (
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
	used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, code_hash)
);

-- passkey_pending_sign_ins (010) becomes the pending state of every second
-- factor: a first factor held (first_amr: "pwd" after a password, or what
-- another first factor records), the browser holds the token, and a TOTP
-- code, a recovery code or a passkey finishes it, once. attempts: wrong
-- codes presented against this pending sign-in.
ALTER TABLE passkey_pending_sign_ins ADD COLUMN IF NOT EXISTS first_amr text NOT NULL DEFAULT 'pwd';
ALTER TABLE passkey_pending_sign_ins ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
