-- `dreamauth user passwd` revokes a user's live access tokens by user_id
-- (master/cli_user.c); without this it scans the whole table. Partial: only
-- rows that can still be revoked.
CREATE INDEX IF NOT EXISTS oauth_access_tokens_user_live_idx ON oauth_access_tokens (user_id)
	WHERE revoked_at IS NULL;
