/* What the signer agrees to sign (signer/token_policy.c). */
#include "signer/token_policy.h"
#include "proto/ipc.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <string.h>

#define ISS "https://auth.example.com"
#define NOW 1800000000LL

static int check(int kind, const char *json, const char **why)
{
	return token_policy_check(kind, json, strlen(json), ISS, NOW, why);
}

int main(void)
{
	const char *why = NULL;
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u1\",\"aud\":\"grafana\",\"iat\":%lld,\"exp\":%lld}", ISS,
	    NOW, NOW + 3600);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), 0);
	/* access tokens need a jti */
	CHECK_EQ_INT(check(TOKEN_ACCESS, buf, &why), -1);
	CHECK_EQ_STR(why, "access token needs a jti");
	snprintf(buf, sizeof(buf),
	    "{\"iss\":\"%s\",\"sub\":\"u1\",\"aud\":[\"a\",\"b\"],\"iat\":%lld,\"exp\":%lld,\"jti\":\"j\"}", ISS, NOW,
	    NOW + 3600);
	CHECK_EQ_INT(check(TOKEN_ACCESS, buf, &why), 0);

	/* wrong issuer, also a prefix of ours */
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s.evil\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS, NOW,
	    NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	CHECK_EQ_STR(why, "wrong issuer");
	/* lifetime longer than a day */
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS, NOW,
	    NOW + 2 * 86400);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	CHECK_EQ_STR(why, "lifetime out of bounds");
	/* exp before iat */
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS, NOW, NOW);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	/* iat in the past or future beyond the skew */
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS,
	    NOW - 3600, NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	CHECK_EQ_STR(why, "iat is not now");
	/* missing subject, empty audience, non-integer times */
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS, NOW, NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":[],\"iat\":%lld,\"exp\":%lld}", ISS, NOW, NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":\"%lld\",\"exp\":%lld}", ISS, NOW,
	    NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	/* logout tokens: short and with events */
	snprintf(buf, sizeof(buf),
	    "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld,\"events\":{\"http://schemas.openid.net/event/backchannel-logout\":{}}}",
	    ISS, NOW, NOW + 120);
	CHECK_EQ_INT(check(TOKEN_LOGOUT, buf, &why), 0);
	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld,\"events\":{}}",
	    ISS, NOW, NOW + 3600);
	CHECK_EQ_INT(check(TOKEN_LOGOUT, buf, &why), -1);
	/* not JSON, not an object, duplicate keys, unknown kind */
	CHECK_EQ_INT(check(TOKEN_ID, "nope", &why), -1);
	CHECK_EQ_INT(check(TOKEN_ID, "[1]", &why), -1);
	snprintf(buf, sizeof(buf), "{\"iss\":\"x\",\"iss\":\"%s\",\"sub\":\"u\",\"aud\":\"a\",\"iat\":%lld,\"exp\":%lld}", ISS,
	    NOW, NOW + 60);
	CHECK_EQ_INT(check(TOKEN_ID, buf, &why), -1);
	CHECK_EQ_INT(check(99, "{}", &why), -1);
	CHECK_EQ_STR(why, "unknown token kind");
	CHECK_EQ_STR(token_policy_typ(TOKEN_ACCESS), "at+jwt");
	CHECK(token_policy_typ(42) == NULL);
	return CHECK_DONE();
}
