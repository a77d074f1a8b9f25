-- Signing keys for tokens. Private keys are sealed with AES-256-GCM under a
-- key derived from AUTH_SECRET; kid is the RFC 7638 thumbprint of public_jwk.
CREATE TABLE IF NOT EXISTS signing_keys (
	kid text PRIMARY KEY,
	alg text NOT NULL,
	state text NOT NULL CHECK (state IN ('current', 'standby', 'retired')),
	sealed_private bytea NOT NULL,
	public_jwk jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	retired_at timestamptz
);
-- At most one current key per algorithm: instances racing to create the
-- first key settle here (INSERT ... ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current_per_alg ON signing_keys (alg) WHERE state = 'current';
