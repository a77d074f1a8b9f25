-- 009: Sign-In With Ethereum (EIP-4361). Ethereum accounts linked to users
-- (several per user, each address to one user at most), and the nonces the
-- server hands out for SIWE messages (store/wallets.c).
--
-- An address is the same account on every chain, so it alone is the key;
-- chain_id records the chain of the last sign-in, for display. Addresses are
-- stored as lower-case hex and shown with their EIP-55 checksum.
CREATE TABLE IF NOT EXISTS wallets (
	address text PRIMARY KEY CHECK (address ~ '^0x[0-9a-f]{40}$'),
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	chain_id bigint NOT NULL CHECK (chain_id > 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz
);
CREATE INDEX IF NOT EXISTS wallets_user_id_idx ON wallets (user_id);

-- Single use, short-lived, shared by every worker and instance: a nonce is
-- deleted by the sign-in that presents it (in the transaction that signs in),
-- so a replay finds nothing. Only its SHA-256 is kept. A nonce asked for with
-- a wallet address and chain (BetterAuth 1.6's shape) is bound to them.
-- Expired rows are swept by later nonce requests (expires_at index).
CREATE TABLE IF NOT EXISTS siwe_nonces (
	nonce_hash bytea PRIMARY KEY,
	address text CHECK (address ~ '^0x[0-9a-f]{40}$'),
	chain_id bigint,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS siwe_nonces_expires_at_idx ON siwe_nonces (expires_at);
