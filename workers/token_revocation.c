/* Access-token revocation on the Bearer paths (see token_revocation.h). */
#include "workers/token_revocation.h"
#include "common/config.h"
#include "proto/revoke_notice.h"
#include "shm/revoked_tokens.h"
#include "shm/shm.h"
#include "workers/worker_ctx.h"

#include <string.h>

enum access_token_state access_token_revocation_cached(const char *jti)
{
	size_t len = strlen(jti);

	if (!revoke_notice_jti_valid(jti, len))
		return ACCESS_TOKEN_REVOKED;	/* not one of ours: we never issue such a jti */
	switch (revoked_tokens_check(worker->shm->revoked, jti, len, now_seconds())) {
	case REVOKED_YES:
		return ACCESS_TOKEN_REVOKED;	/* a revocation is final, whoever reported it */
	case REVOKED_NO:
		/* A miss is an answer only while the table hears every
		 * revocation: the rule of the session cache (listener up, or
		 * down for less than REVOCATION_LISTENER_GRACE). */
		if (shm_revocations_trusted(worker->shm->status, now_seconds(), cfg.revocation_listener_grace))
			return ACCESS_TOKEN_LIVE;
		break;
	case REVOKED_UNKNOWN:
		/* Not loaded yet (the listener starting), or this jti's set had
		 * to drop a live entry or was wiped after a crash. Answering
		 * "not revoked" could let a revoked token through, and refusing
		 * would lock out every valid token hashing there until the
		 * dropped ones expire: asking the store is right in both
		 * respects, and costs a call only for those tokens, only while
		 * that lasts. */
		break;
	}
	return ACCESS_TOKEN_ASK_STORE;
}

void access_token_ask_store(const char *jti, store_done_fn done, void *arg)
{
	STORE_CALL(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKED, done, arg, STORE_V_TEXT(jti));
}

int access_token_revoked_reply(const struct store_reply *r)
{
	if (r->status != STORE_OK)
		return -1;
	return store_int(r, 0, COUNT_N) > 0;
}
