-- Access-token revocation reaches every instance at once: a revoked jti is
-- announced on the channel the instances already LISTEN on for sessions
-- (dreamauth_revoke, SESSION_NOTIFY_CHANNEL in workers/session.h), as
-- "jti:<exp>:<jti>" (parsed by proto/revoke_notice.c; older instances ignore
-- the prefix). A trigger, so the notice is sent exactly when the revocation
-- commits, whatever revoked it (token endpoint, /oauth2/revoke, an operator's
-- UPDATE); NOTIFY is delivered only on commit.
CREATE FUNCTION dreamauth_access_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('dreamauth_revoke',
	    'jti:' || extract(epoch FROM NEW.expires_at)::bigint || ':' || NEW.jti);
	RETURN NULL;
END
$$;

CREATE TRIGGER oauth_access_tokens_revoked_on_insert AFTER INSERT ON oauth_access_tokens
	FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL)
	EXECUTE FUNCTION dreamauth_access_token_revoked();
CREATE TRIGGER oauth_access_tokens_revoked_on_update AFTER UPDATE OF revoked_at ON oauth_access_tokens
	FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
	EXECUTE FUNCTION dreamauth_access_token_revoked();

-- Worker 1 of each instance loads the revoked, unexpired jtis when it starts
-- listening (workers/token_revocation.c); this keeps that a small scan.
CREATE INDEX IF NOT EXISTS oauth_access_tokens_revoked_idx ON oauth_access_tokens (expires_at)
	WHERE revoked_at IS NOT NULL;
