/* Revocation notices on the dreamauth_revoke channel (see revoke_notice.h). */
#include "proto/revoke_notice.h"
#include "proto/hex.h"

#include <stdbool.h>
#include <string.h>

static bool has_prefix(const char *s, size_t len, const char *prefix, size_t *rest)
{
	size_t n = strlen(prefix);

	if (len < n || memcmp(s, prefix, n) != 0)
		return false;
	*rest = n;
	return true;
}

static bool id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static bool base64url_char(char c)
{
	return id_char(c) || c == '_';
}

/* Copies s (len bytes) into out when it is a valid id. */
static bool take_id(const char *s, size_t len, char out[REVOKE_NOTICE_ID_MAX + 1])
{
	if (len == 0 || len > REVOKE_NOTICE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!id_char(s[i]))
			return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

int revoke_notice_jti_valid(const char *s, size_t len)
{
	if (len == 0 || len > REVOKE_NOTICE_JTI_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!base64url_char(s[i]))
			return 0;
	return 1;
}

/* Decimal, 1..19 digits, no sign, fits int64_t. */
static bool take_seconds(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');	/* 19 digits cannot wrap a uint64_t */
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

static enum revoke_notice_kind parse(const char *p, size_t len, struct revoke_notice *out)
{
	size_t at;
	const char *sep;

	if (len == 3 && memcmp(p, "all", 3) == 0)
		return REVOKE_NOTICE_ALL;
	if (has_prefix(p, len, "key:", &at)) {
		if (len - at != 64)
			return REVOKE_NOTICE_INVALID;
		for (int i = 0; i < 32; i++) {
			int hi = hex_value(p[at + 2 * i]), lo = hex_value(p[at + 2 * i + 1]);
			if (hi < 0 || lo < 0)
				return REVOKE_NOTICE_INVALID;
			out->key[i] = (uint8_t)(hi << 4 | lo);
		}
		return REVOKE_NOTICE_SESSION_KEY;
	}
	if (has_prefix(p, len, "session:", &at))
		return take_id(p + at, len - at, out->session_id) ? REVOKE_NOTICE_SESSION_ID : REVOKE_NOTICE_INVALID;
	if (has_prefix(p, len, "user:", &at))
		return take_id(p + at, len - at, out->user_id) ? REVOKE_NOTICE_USER : REVOKE_NOTICE_INVALID;
	if (has_prefix(p, len, "user-except:", &at)) {
		if (!(sep = memchr(p + at, ':', len - at)))
			return REVOKE_NOTICE_INVALID;
		size_t user_len = (size_t)(sep - (p + at)), rest = len - at - user_len - 1;
		if (!take_id(p + at, user_len, out->user_id) || !take_id(sep + 1, rest, out->session_id))
			return REVOKE_NOTICE_INVALID;
		return REVOKE_NOTICE_USER_EXCEPT;
	}
	if (has_prefix(p, len, "jti:", &at)) {
		if (!(sep = memchr(p + at, ':', len - at)))
			return REVOKE_NOTICE_INVALID;
		size_t exp_len = (size_t)(sep - (p + at)), jti_len = len - at - exp_len - 1;
		if (!take_seconds(p + at, exp_len, &out->exp) || !revoke_notice_jti_valid(sep + 1, jti_len))
			return REVOKE_NOTICE_INVALID;
		memcpy(out->jti, sep + 1, jti_len);
		out->jti[jti_len] = '\0';
		return REVOKE_NOTICE_ACCESS_TOKEN;
	}
	return REVOKE_NOTICE_INVALID;
}

enum revoke_notice_kind revoke_notice_parse(const char *payload, size_t len, struct revoke_notice *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = payload ? parse(payload, len, out) : REVOKE_NOTICE_INVALID;
	if (out->kind == REVOKE_NOTICE_INVALID)
		memset(out, 0, sizeof(*out));	/* nothing half-filled */
	return out->kind;
}

enum revoke_notice_kind revoke_notice_parse_logged(const char *payload, size_t len, int64_t *seq,
    struct revoke_notice *out)
{
	size_t i = 0;
	int64_t n = 0;

	*seq = 0;
	while (i < len && i < 19 && payload[i] >= '0' && payload[i] <= '9')
		n = n * 10 + (payload[i++] - '0');
	if (i == 0 || i >= len || payload[i] != ' ' || (payload[0] == '0' && i > 1)) {
		memset(out, 0, sizeof(*out));
		return REVOKE_NOTICE_INVALID;
	}
	*seq = n;
	return revoke_notice_parse(payload + i + 1, len - i - 1, out);
}
