-- 013: administration (issue 12): admin clients, per-application roles and
-- permissions (circle-rd auth-service's model), and the one check of "is the
-- caller of this admin operation an admin" that the store and the signer
-- both run inside their own transactions (store/admin_actor.c,
-- signer/signer_admin.c).

-- A client flagged admin may get an access token with scope "admin" by
-- client_credentials, and that token opens /api/admin/ (`dreamauth client
-- add --admin`, the admin API).
ALTER TABLE oauth_clients ADD COLUMN IF NOT EXISTS admin boolean NOT NULL DEFAULT false;
-- Clients added from now on (`dreamauth client add`) may ask for the scope
-- "roles" (roles and permissions in the ID token); existing rows keep theirs
-- (the admin API's PATCH scopes changes them).
ALTER TABLE oauth_clients ALTER COLUMN scopes SET DEFAULT '{openid,profile,email,offline_access,groups,roles}';

-- Each OIDC client is an application that defines roles; a role is a set of
-- permission strings. client_id is plain text, without a foreign key, like
-- the token tables: clients from OIDC_CLIENTS are applications too. Names
-- follow proto/app_role.h (checked by the worker, bounded here again).
CREATE TABLE IF NOT EXISTS app_roles (
	client_id text NOT NULL CHECK (char_length(client_id) BETWEEN 1 AND 128),
	name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._:-]{0,63}$'),
	description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 200),
	permissions text[] NOT NULL DEFAULT '{}' CHECK (cardinality(permissions) <= 64),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (client_id, name)
);

-- Users are given roles per application. Deleting a role or a user takes
-- its assignments with it.
CREATE TABLE IF NOT EXISTS app_user_roles (
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id text NOT NULL,
	role text NOT NULL,
	granted_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, client_id, role),
	FOREIGN KEY (client_id, role) REFERENCES app_roles (client_id, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS app_user_roles_role_idx ON app_user_roles (client_id, role);

-- Who is acting, from the proof a worker passes with every admin operation:
--   'session:<64 hex>'  SHA-256 of an admin's session cookie: a live session
--                       of a user who is admin and not disabled
--   'token:<jti>'       a live, unrevoked client_credentials access token with
--                       scope admin, of a client flagged admin
-- Returns 'user:<uuid>' or 'client:<client_id>', or NULL (not an admin, or
-- not any more). The store runs it at the start of each admin operation's
-- transaction and the signer before a key change, so a demotion, a disable
-- or a revocation takes effect for the very next operation, whatever a
-- worker's cache still says.
CREATE OR REPLACE FUNCTION dreamauth_admin_actor(proof text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE
	WHEN proof ~ '^session:[0-9a-f]{64}$' THEN (
		SELECT 'user:' || u.id::text FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = decode(substr(proof, 9), 'hex') AND s.revoked_at IS NULL
		  AND s.expires_at > now() AND u.is_admin AND NOT u.disabled)
	WHEN proof ~ '^token:[A-Za-z0-9_-]{16,64}$' THEN (
		SELECT 'client:' || c.client_id FROM oauth_access_tokens a
		JOIN oauth_clients c ON c.client_id = a.client_id
		WHERE a.jti = substr(proof, 7) AND a.revoked_at IS NULL AND a.expires_at > now()
		  AND a.user_id IS NULL AND c.admin AND (' ' || coalesce(a.scope, '') || ' ') LIKE '% admin %')
	END
$$;
