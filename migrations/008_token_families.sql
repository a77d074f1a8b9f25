-- 008: a row per refresh-token family, the point every writer of the family
-- locks first (store/oauth_tokens.c). A rotation locks it, checks revoked_at
-- and writes the new refresh and access tokens before it lets go; a
-- revocation (reuse of a spent token, a replayed code, /oauth2/revoke, a user
-- gone or disabled) sets revoked_at under the same lock and only then revokes
-- the family's tokens, in a later statement that sees every token a rotation
-- committed meanwhile. So a family revoked on one instance cannot gain a live
-- token from a rotation still running on another: the rotation either
-- finished first (and its tokens are revoked with the rest) or finds the
-- family revoked and writes nothing.
-- Families issued before this migration get their row at their next
-- rotation or revocation.
CREATE TABLE IF NOT EXISTS oauth_token_families (
	family_id uuid PRIMARY KEY,
	revoked_at timestamptz,
	rotated_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
