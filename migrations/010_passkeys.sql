-- 010: passkeys (WebAuthn Level 3), store/passkeys.c.
--
-- passkeys: one row per credential a user registered. The public key is the
-- COSE_Key exactly as the authenticator sent it, with its algorithm
-- (proto/webauthn.h reloads it with cose_key_load_stored). The credential ID
-- is unique across all users: an authenticator cannot register one ID twice.
-- The WebAuthn user handle of a user is their id (16 bytes of a random uuid),
-- so it names nobody and needs no column of its own.
CREATE TABLE IF NOT EXISTS passkeys (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id bytea NOT NULL UNIQUE CHECK (octet_length(credential_id) BETWEEN 1 AND 1023),
	public_key bytea NOT NULL CHECK (octet_length(public_key) BETWEEN 1 AND 1024),
	alg integer NOT NULL CHECK (alg IN (-7, -8, -257)),
	sign_count bigint NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	-- comma-separated AuthenticatorTransport values the browser reported
	transports text NOT NULL DEFAULT '',
	aaguid uuid NOT NULL,
	attestation_fmt text NOT NULL,
	-- none, self, basic, untrusted, unverified (webauthn_attestation_type_name)
	attestation_type text NOT NULL,
	backup_eligible boolean NOT NULL,
	backup_state boolean NOT NULL,
	-- the authenticator verified the user (UV) when the passkey was created
	user_verified boolean NOT NULL,
	name text NOT NULL DEFAULT '' CHECK (char_length(name) <= 80),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	-- sign-in assertions whose signature counter did not increase (a cloned
	-- authenticator, WebAuthn §6.1.1), and when it last happened
	counter_regressions integer NOT NULL DEFAULT 0,
	counter_regressed_at timestamptz,
	-- when the backup state (BS) last changed after registration
	backup_state_changed_at timestamptz
);
CREATE INDEX IF NOT EXISTS passkeys_user_id_idx ON passkeys (user_id);

-- Challenges: 32 random bytes each, kept only as their SHA-256, single use
-- (the verification that presents one takes its row in the same transaction),
-- short-lived, and shared by every worker and instance. Each is bound to the
-- browser that asked for it (binding_hash: SHA-256 of its dreamauth_webauthn
-- cookie), so a challenge issued to one browser is refused from another.
-- purpose: register (add a passkey to user_id), sign_up (create the account
-- user_id with email, name, is_admin), authenticate (sign in), second_factor
-- (finish the password sign-in pending_hash of user_id).
-- Expired rows are swept by later option requests (expires_at index).
CREATE TABLE IF NOT EXISTS passkey_challenges (
	challenge_hash bytea PRIMARY KEY,
	binding_hash bytea NOT NULL,
	purpose text NOT NULL CHECK (purpose IN ('register', 'sign_up', 'authenticate', 'second_factor')),
	user_id uuid,
	email text,
	email_normalized text,
	name text,
	is_admin boolean NOT NULL DEFAULT false,
	pending_hash bytea,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);

-- Accounts that want a passkey after their password (a second factor).
CREATE TABLE IF NOT EXISTS passkey_second_factor (
	user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	enabled_at timestamptz NOT NULL DEFAULT now()
);

-- Password sign-ins waiting for their passkey: the SHA-256 of the token in
-- the browser's dreamauth_2fa cookie, single use, short-lived.
CREATE TABLE IF NOT EXISTS passkey_pending_sign_ins (
	token_hash bytea PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS passkey_pending_sign_ins_expires_at_idx ON passkey_pending_sign_ins (expires_at);
