-- Key rotation (dreamauth keys rotate|revoke). Additive: the states stay
-- 'current' (signs, published), 'standby' (published, no longer signs) and
-- 'retired' (neither); these columns say why and for how long.
--   rotated_at     when the key stopped signing (a rotation)
--   publish_until  a 'standby' key leaves the JWKS at this time: when every
--                  token it signed has expired (token TTL plus a margin);
--                  NULL on a standby key means published until retired
--   revoked_at     set when an operator revoked the key ('retired' at once);
--                  a retired key without it simply outlived its tokens
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS rotated_at timestamptz;
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS publish_until timestamptz;
ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
