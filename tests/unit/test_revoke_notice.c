/* NOTIFY payloads on dreamauth_revoke: every kind, and hostile variations. */
#include "proto/revoke_notice.h"
#include "tests/unit/check.h"

#include <stdint.h>

static struct revoke_notice n;

static enum revoke_notice_kind parse(const char *s)
{
	return revoke_notice_parse(s, strlen(s), &n);
}

static void test_sessions(void)
{
	const char *hex = "00ff10AB0123456789abcdef0123456789abcdef0123456789abcdef012345fe";

	char payload[100];
	snprintf(payload, sizeof(payload), "key:%s", hex);
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_SESSION_KEY);
	CHECK_EQ_INT(n.key[0], 0x00);
	CHECK_EQ_INT(n.key[1], 0xff);
	CHECK_EQ_INT(n.key[3], 0xab);
	CHECK_EQ_INT(n.key[31], 0xfe);
	payload[strlen(payload) - 1] = '\0';
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_INVALID);	/* 63 digits */
	snprintf(payload, sizeof(payload), "key:%s0", hex);
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_INVALID);	/* 65 */
	snprintf(payload, sizeof(payload), "key: %.63s", hex);
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_INVALID);	/* sscanf would have skipped the space */
	snprintf(payload, sizeof(payload), "key:%.62sxg", hex);
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_INVALID);

	CHECK_EQ_INT(parse("session:6f1c2a8e-3b1d-4c59-9a2e-0c5d7e8f9a10"), REVOKE_NOTICE_SESSION_ID);
	CHECK_EQ_STR(n.session_id, "6f1c2a8e-3b1d-4c59-9a2e-0c5d7e8f9a10");
	CHECK_EQ_INT(parse("session:"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("session:a b"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("session:0123456789012345678901234567890123456789"), REVOKE_NOTICE_INVALID);	/* 40 */
	CHECK_EQ_INT(parse("session:012345678901234567890123456789012345678"), REVOKE_NOTICE_SESSION_ID);	/* 39 */

	CHECK_EQ_INT(parse("user:u-1"), REVOKE_NOTICE_USER);
	CHECK_EQ_STR(n.user_id, "u-1");
	CHECK_EQ_STR(n.session_id, "");
	CHECK_EQ_INT(parse("user:u:1"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("user-except:u-1:s-2"), REVOKE_NOTICE_USER_EXCEPT);
	CHECK_EQ_STR(n.user_id, "u-1");
	CHECK_EQ_STR(n.session_id, "s-2");
	CHECK_EQ_INT(parse("user-except:u-1"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("user-except::s"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("user-except:u:"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("user-except:u:s:t"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("all"), REVOKE_NOTICE_ALL);
	CHECK_EQ_INT(parse("all "), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("ALL"), REVOKE_NOTICE_INVALID);
}

static void test_access_tokens(void)
{
	CHECK_EQ_INT(parse("jti:1712345678:q3Yb9lX0n1k2V_3-aB4cD5eF6gH7iJ8kL9mN0oP1qR2"), REVOKE_NOTICE_ACCESS_TOKEN);
	CHECK_EQ_INT(n.exp, 1712345678);
	CHECK_EQ_STR(n.jti, "q3Yb9lX0n1k2V_3-aB4cD5eF6gH7iJ8kL9mN0oP1qR2");
	CHECK_EQ_INT(parse("jti:0:a"), REVOKE_NOTICE_ACCESS_TOKEN);
	CHECK_EQ_INT(n.exp, 0);
	CHECK_EQ_INT(parse("jti:9223372036854775807:a"), REVOKE_NOTICE_ACCESS_TOKEN);
	CHECK_EQ_INT(n.exp, INT64_MAX);
	CHECK_EQ_INT(parse("jti:9223372036854775808:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:99999999999999999999:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:-1:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:+1:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti: 1:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti::a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1:"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1:a:b"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1:a.b"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1:a="), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jti:1:a\n"), REVOKE_NOTICE_INVALID);
	char payload[120];
	snprintf(payload, sizeof(payload), "jti:1:%.64s", "0123456789012345678901234567890123456789012345678901234567890123456789");
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_ACCESS_TOKEN);	/* 64 */
	snprintf(payload, sizeof(payload), "jti:1:%.65s", "0123456789012345678901234567890123456789012345678901234567890123456789");
	CHECK_EQ_INT(parse(payload), REVOKE_NOTICE_INVALID);	/* 65 */
	/* A failed parse leaves nothing behind. */
	CHECK_EQ_STR(n.jti, "");
	CHECK_EQ_INT(n.exp, 0);
}

static void test_hostile(void)
{
	/* Unknown kinds are ignored (how older instances treat newer kinds). */
	CHECK_EQ_INT(parse(""), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("jtis:1:a"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("client:app"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(parse("Session:abc"), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(revoke_notice_parse(NULL, 5, &n), REVOKE_NOTICE_INVALID);
	/* Length is what counts, not a NUL: an embedded NUL is refused, and
	 * bytes past len are never read. */
	CHECK_EQ_INT(revoke_notice_parse("user:a\0b", 8, &n), REVOKE_NOTICE_INVALID);
	CHECK_EQ_INT(revoke_notice_parse("user:abXYZ", 7, &n), REVOKE_NOTICE_USER);
	CHECK_EQ_STR(n.user_id, "ab");
	CHECK_EQ_INT(revoke_notice_parse("jti:12:abc", 4, &n), REVOKE_NOTICE_INVALID);
	CHECK(revoke_notice_jti_valid("abc_-XYZ09", 10));
	CHECK(!revoke_notice_jti_valid("", 0));
	CHECK(!revoke_notice_jti_valid("a/b", 3));
}

int main(void)
{
	test_sessions();
	test_access_tokens();
	test_hostile();
	return CHECK_DONE();
}
