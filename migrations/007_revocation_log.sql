-- 007: revocations get a sequence number. Every revocation (sessions, users,
-- access tokens) is a row here, and a trigger NOTIFYs "<seq> <payload>" on
-- the channel every instance LISTENs on (the store actor's listener). A
-- listener that lost its connection catches up from the last number it saw
-- instead of distrusting its whole session cache (store/listener.c).
-- Payloads are those of proto/revoke_notice.h. The store trims rows older
-- than a day.
CREATE TABLE IF NOT EXISTS revocation_log (
	seq bigserial PRIMARY KEY,
	payload text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS revocation_log_created_at_idx ON revocation_log (created_at);

CREATE FUNCTION dreamauth_revocation_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('dreamauth_revoke', NEW.seq || ' ' || NEW.payload);
	RETURN NULL;
END
$$;
CREATE TRIGGER revocation_log_notify AFTER INSERT ON revocation_log
	FOR EACH ROW EXECUTE FUNCTION dreamauth_revocation_logged();

-- Access-token revocations (migration 004's triggers) now go through the log.
CREATE OR REPLACE FUNCTION dreamauth_access_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO revocation_log (payload)
	    VALUES ('jti:' || extract(epoch FROM NEW.expires_at)::bigint || ':' || NEW.jti);
	RETURN NULL;
END
$$;
