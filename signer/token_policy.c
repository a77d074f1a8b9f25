/* Claim checks before signing (see token_policy.h). */
#include "signer/token_policy.h"
#include "proto/ipc.h"

#include <string.h>
#include <jansson.h>

const char *token_policy_typ(int kind)
{
	switch (kind) {
	case TOKEN_ID: return "JWT";
	case TOKEN_ACCESS: return "at+jwt";
	case TOKEN_LOGOUT: return "logout+jwt";
	default: return NULL;
	}
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

int token_policy_check(int kind, const char *claims_json, size_t len, const char *issuer, int64_t now,
    const char **why)
{
	json_error_t err;
	json_t *claims, *aud;
	int64_t iat, exp, max_life;
	int rc = -1;

	switch (kind) {
	case TOKEN_ID: max_life = TOKEN_MAX_LIFETIME_ID; break;
	case TOKEN_ACCESS: max_life = TOKEN_MAX_LIFETIME_ACCESS; break;
	case TOKEN_LOGOUT: max_life = TOKEN_MAX_LIFETIME_LOGOUT; break;
	default: return fail(why, "unknown token kind");
	}
	claims = json_loadb(claims_json, len, JSON_REJECT_DUPLICATES, &err);
	if (!claims || !json_is_object(claims)) {
		json_decref(claims);
		return fail(why, "claims are not a JSON object");
	}
	if (!json_is_string(json_object_get(claims, "iss")) ||
	    strcmp(json_string_value(json_object_get(claims, "iss")), issuer) != 0) {
		fail(why, "wrong issuer");
		goto out;
	}
	if (!json_is_string(json_object_get(claims, "sub")) || !*json_string_value(json_object_get(claims, "sub"))) {
		fail(why, "missing subject");
		goto out;
	}
	aud = json_object_get(claims, "aud");
	if (!(json_is_string(aud) && *json_string_value(aud)) && !(json_is_array(aud) && json_array_size(aud) > 0)) {
		fail(why, "missing audience");
		goto out;
	}
	if (!json_is_integer(json_object_get(claims, "iat")) || !json_is_integer(json_object_get(claims, "exp"))) {
		fail(why, "iat and exp must be integers");
		goto out;
	}
	iat = json_integer_value(json_object_get(claims, "iat"));
	exp = json_integer_value(json_object_get(claims, "exp"));
	if (iat < now - TOKEN_CLOCK_SKEW || iat > now + TOKEN_CLOCK_SKEW) {
		fail(why, "iat is not now");
		goto out;
	}
	if (exp <= iat || exp - iat > max_life) {
		fail(why, "lifetime out of bounds");
		goto out;
	}
	if (kind == TOKEN_ACCESS && !json_is_string(json_object_get(claims, "jti"))) {
		fail(why, "access token needs a jti");
		goto out;
	}
	if (kind == TOKEN_LOGOUT && !json_is_object(json_object_get(claims, "events"))) {
		fail(why, "logout token needs events");
		goto out;
	}
	rc = 0;
out:
	json_decref(claims);
	return rc;
}
