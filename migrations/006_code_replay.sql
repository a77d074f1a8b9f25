-- A replayed authorization code is marked, and the tokens it issues are
-- written only while it is not (workers/oidc_token.c): a replay that lands
-- between the first exchange's "mark used" and its token rows can no longer
-- find nothing to revoke and leave the first exchange's tokens alive.
ALTER TABLE oauth_codes ADD COLUMN IF NOT EXISTS replayed_at timestamptz;
