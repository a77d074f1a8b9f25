-- 001_init: base schema for dreamauth (users, sessions, OAuth/OIDC state).
-- Migrations are additive only: later files add tables, columns and indexes,
-- never drop or truncate. UUIDs come from gen_random_uuid() (core since
-- PostgreSQL 13), so no extension is needed.
-- Secrets (session tokens, codes, refresh tokens, client secrets) are stored
-- only as hashes (bytea) so a database dump cannot be replayed.

CREATE TABLE users (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email text NOT NULL,
	email_normalized text NOT NULL UNIQUE,
	name text NOT NULL DEFAULT '',
	password_hash text,
	is_admin boolean NOT NULL DEFAULT false,
	disabled boolean NOT NULL DEFAULT false,
	groups text[] NOT NULL DEFAULT '{}',
	email_verified boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	token_hash bytea NOT NULL UNIQUE,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	auth_time timestamptz NOT NULL,
	amr text NOT NULL DEFAULT 'pwd',
	ip text,
	user_agent text,
	revoked_at timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
-- The expiry sweeper deletes by expires_at.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Clients may also come from OIDC_CLIENTS configuration, so the token tables
-- below keep client_id as plain text without a foreign key.
CREATE TABLE oauth_clients (
	client_id text PRIMARY KEY,
	secret_hash bytea,
	name text NOT NULL,
	redirect_uris text[] NOT NULL,
	post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
	grant_types text[] NOT NULL DEFAULT '{authorization_code,refresh_token}',
	scopes text[] NOT NULL DEFAULT '{openid,profile,email,offline_access,groups}',
	public boolean NOT NULL DEFAULT false,
	skip_consent boolean NOT NULL DEFAULT false,
	require_pkce boolean NOT NULL DEFAULT true,
	id_token_alg text NOT NULL DEFAULT 'RS256',
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_codes (
	code_hash bytea PRIMARY KEY,
	client_id text NOT NULL,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	session_id uuid,
	redirect_uri text NOT NULL,
	scope text NOT NULL,
	nonce text,
	code_challenge text,
	code_challenge_method text,
	auth_time timestamptz NOT NULL,
	amr text,
	expires_at timestamptz NOT NULL,
	used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);

-- Rotation: every refresh issues a new token in the same family; reuse of a
-- used token revokes the whole family.
CREATE TABLE oauth_refresh_tokens (
	token_hash bytea PRIMARY KEY,
	family_id uuid NOT NULL,
	client_id text NOT NULL,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	scope text NOT NULL,
	auth_time timestamptz,
	amr text,
	session_id uuid,
	expires_at timestamptz NOT NULL,
	used_at timestamptz,
	revoked_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_refresh_tokens_family_id_idx ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_user_id_idx ON oauth_refresh_tokens (user_id);

-- Access tokens are JWTs; rows exist so they can be revoked and introspected.
CREATE TABLE oauth_access_tokens (
	jti text PRIMARY KEY,
	client_id text NOT NULL,
	user_id uuid,
	family_id uuid,
	code_hash bytea,
	scope text,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX oauth_access_tokens_family_id_idx ON oauth_access_tokens (family_id);
CREATE INDEX oauth_access_tokens_code_hash_idx ON oauth_access_tokens (code_hash);

CREATE TABLE oauth_consents (
	user_id uuid REFERENCES users (id) ON DELETE CASCADE,
	client_id text,
	scope text NOT NULL,
	granted_at timestamptz DEFAULT now(),
	PRIMARY KEY (user_id, client_id)
);
