/*
 * libFuzzer target for revoke_notice_parse (proto/revoke_notice.c), the
 * parser of NOTIFY payloads on the dreamauth_revoke channel. Checks that
 * an accepted payload's fields are terminated, within their limits, made of
 * the allowed characters, and that printing them back gives the input.
 */
#undef NDEBUG
#include "proto/revoke_notice.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void check_id(const char *s)
{
	size_t len = strnlen(s, REVOKE_NOTICE_ID_MAX + 1);

	assert(len >= 1 && len <= REVOKE_NOTICE_ID_MAX);
	assert(strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct revoke_notice n;
	char again[8192];
	int len = -1;

	switch (revoke_notice_parse((const char *)data, size, &n)) {
	case REVOKE_NOTICE_INVALID:
		return 0;
	case REVOKE_NOTICE_ALL:
		len = snprintf(again, sizeof(again), "all");
		break;
	case REVOKE_NOTICE_SESSION_KEY:
		assert(size == 4 + 64);
		return 0;	/* hex case is not preserved; the length check is the point */
	case REVOKE_NOTICE_SESSION_ID:
		check_id(n.session_id);
		len = snprintf(again, sizeof(again), "session:%s", n.session_id);
		break;
	case REVOKE_NOTICE_USER:
		check_id(n.user_id);
		len = snprintf(again, sizeof(again), "user:%s", n.user_id);
		break;
	case REVOKE_NOTICE_USER_EXCEPT:
		check_id(n.user_id);
		check_id(n.session_id);
		len = snprintf(again, sizeof(again), "user-except:%s:%s", n.user_id, n.session_id);
		break;
	case REVOKE_NOTICE_ACCESS_TOKEN:
		assert(n.exp >= 0);
		assert(revoke_notice_jti_valid(n.jti, strnlen(n.jti, REVOKE_NOTICE_JTI_MAX + 1)));
		/* Leading zeros of exp are accepted, so compare the parts, not the bytes. */
		assert(size > strlen(n.jti) && memcmp(data + size - strlen(n.jti), n.jti, strlen(n.jti)) == 0);
		return 0;
	}
	assert(len >= 0 && (size_t)len == size && memcmp(again, data, size) == 0);
	return 0;
}
