-- 014: the audit log (store/audit.c). One row per security event: sign-ins
-- and their failures, sign-ups, password and second-factor changes, session
-- revocations, passkey and wallet changes, client, key and user
-- administration. Written by the store inside the transaction of the change
-- it describes (or on its own for what only a worker knows: a refused
-- password), never holding a secret.
--
-- Append-only in the database too: a trigger refuses every UPDATE, every
-- TRUNCATE, and every DELETE but the retention sweep's. The sweep sets the
-- transaction-local setting dreamauth.audit_sweep = 'on' and deletes only
-- rows older than a day (AUDIT_RETENTION_DAYS is at least 1). This guards
-- against mistakes and a compromised application path that runs ordinary
-- statements; a database superuser can still do anything (keep a copy of
-- the AUDIT_LOG=stdout lines elsewhere for that).
CREATE TABLE IF NOT EXISTS audit_log (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	-- sign_in, sign_up, password_change, session_revoke, passkey_add, ...
	event text NOT NULL CHECK (event ~ '^[a-z][a-z0-9_.]{0,63}$'),
	result text NOT NULL DEFAULT 'success' CHECK (result IN ('success', 'failure')),
	-- how: password, passkey, siwe, cli, admin ... ('' none)
	method text NOT NULL DEFAULT '' CHECK (char_length(method) <= 32),
	actor_user_id uuid,
	actor_client_id text CHECK (char_length(actor_client_id) <= 255),
	target_type text CHECK (char_length(target_type) <= 32),
	target_id text CHECK (char_length(target_id) <= 255),
	client_ip text CHECK (char_length(client_ip) <= 64),
	-- printable ASCII, at most 256 bytes (workers escape the rest)
	user_agent text CHECK (octet_length(user_agent) <= 256),
	detail jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (actor_user_id, id) WHERE actor_user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_target_idx ON audit_log (target_id, id) WHERE target_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_event_idx ON audit_log (event, id);

-- NEW is NULL only in a row-level trigger fired by a DELETE.
CREATE FUNCTION dreamauth_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'ROW' AND NEW IS NULL AND current_setting('dreamauth.audit_sweep', true) = 'on'
	    AND OLD.at < now() - interval '1 day' THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION dreamauth_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION dreamauth_audit_log_append_only();
