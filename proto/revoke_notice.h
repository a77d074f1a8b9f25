/*
 * Payloads of the PostgreSQL NOTIFY channel "dreamauth_revoke", by which
 * instances sharing a database tell each other what was revoked. Pure.
 *
 *   key:<64 hex>                    a session, by SHA-256 of its token
 *   session:<id>                    a session, by id
 *   user:<id>                       every session of a user
 *   user-except:<id>:<session id>   every session of a user but one
 *   all                             every session
 *   jti:<exp>:<jti>                 an access token, by its jti claim, with
 *                                   its exp claim (decimal Unix seconds)
 *
 * Ids are 1..REVOKE_NOTICE_ID_MAX of [0-9A-Za-z-] (UUID text); a jti is
 * 1..REVOKE_NOTICE_JTI_MAX base64url characters. Anything else — another
 * prefix, a malformed field, trailing bytes — is REVOKE_NOTICE_INVALID and
 * ignored. That is what keeps the format backward compatible: an instance
 * ignores kinds it does not know (older binaries ignore "jti:"), so a new
 * kind needs a new prefix, never a change to an existing one.
 *
 * "jti:" payloads are sent by a trigger on oauth_access_tokens
 * (migrations/003_access_token_revocation.sql), in the same transaction as
 * the revocation.
 */
#ifndef DREAMAUTH_REVOKE_NOTICE_H
#define DREAMAUTH_REVOKE_NOTICE_H
#include <stddef.h>
#include <stdint.h>

#define REVOKE_NOTICE_ID_MAX 39
#define REVOKE_NOTICE_JTI_MAX 64

enum revoke_notice_kind {
	REVOKE_NOTICE_INVALID = 0,
	REVOKE_NOTICE_SESSION_KEY,	/* key */
	REVOKE_NOTICE_SESSION_ID,	/* session_id */
	REVOKE_NOTICE_USER,		/* user_id */
	REVOKE_NOTICE_USER_EXCEPT,	/* user_id, session_id */
	REVOKE_NOTICE_ALL,
	REVOKE_NOTICE_ACCESS_TOKEN,	/* jti, exp */
};

struct revoke_notice {
	enum revoke_notice_kind kind;
	uint8_t key[32];
	char user_id[REVOKE_NOTICE_ID_MAX + 1];
	char session_id[REVOKE_NOTICE_ID_MAX + 1];
	char jti[REVOKE_NOTICE_JTI_MAX + 1];
	int64_t exp;
};

/* Parses payload (len bytes, no NUL needed) into *out, which is zeroed
 * first. Returns out->kind; REVOKE_NOTICE_INVALID for anything not above. */
enum revoke_notice_kind revoke_notice_parse(const char *payload, size_t len, struct revoke_notice *out);

/* A notice from revocation_log's trigger (migrations/007): "<seq> <payload>",
 * seq 1..19 decimal digits without a leading zero. Sets *seq (0 when
 * malformed) and parses the rest as above. */
enum revoke_notice_kind revoke_notice_parse_logged(const char *payload, size_t len, int64_t *seq,
    struct revoke_notice *out);

/* 1 if s (len bytes) is an acceptable jti: 1..REVOKE_NOTICE_JTI_MAX
 * base64url characters. */
int revoke_notice_jti_valid(const char *s, size_t len);
#endif
