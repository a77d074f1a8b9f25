/*
 * The checks of a parsed SIWE message against this server and the clock
 * (workers/auth_siwe.c, siwe_message_refusal), at their exact boundaries:
 * scheme, domain and URI against AUTH_URL (case of scheme and host aside),
 * the chain allow-list, the nonce's shape, and Issued At / Expiration Time /
 * Not Before with SIWE_CLOCK_SKEW, to the second.
 */
#include "tests/unit/check.h"
#include "common/config.h"
#include "workers/auth_siwe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1700000000	/* 2023-11-14T22:13:20Z */
#define ADDRESS "0x52908400098527886E0F7030069857D2E4169EE7"	/* EIP-55's own example */
#define NONCE "abcdefghijklmnopqrstuvwx"	/* SIWE_NONCE_LEN characters */

static void iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct fields {
	const char *scheme, *domain, *uri, *nonce;
	unsigned long long chain;
	int64_t issued_at;
	bool has_exp, has_nbf;
	int64_t exp, nbf;
};

/* The refusal's code for a message with these fields ("ok" when accepted,
 * "parse" when it does not even parse). */
static const char *refusal(struct fields f)
{
	static char msg[2048];
	char iat[32], exp[32], nbf[32], prefix[128] = "";
	struct siwe_message m;
	const char *why = NULL;
	char why_buf[300];

	iso(f.issued_at ? f.issued_at : NOW, iat);
	iso(f.exp, exp);
	iso(f.nbf, nbf);
	if (f.scheme)
		snprintf(prefix, sizeof(prefix), "%s://", f.scheme);
	snprintf(msg, sizeof(msg),
	    "%s%s wants you to sign in with your Ethereum account:\n" ADDRESS "\n\nSign in.\n\n"
	    "URI: %s\nVersion: 1\nChain ID: %llu\nNonce: %s\nIssued At: %s%s%s%s%s",
	    prefix, f.domain ? f.domain : "localhost:3000", f.uri ? f.uri : "http://localhost:3000", f.chain ? f.chain : 1,
	    f.nonce ? f.nonce : NONCE, iat, f.has_exp ? "\nExpiration Time: " : "", f.has_exp ? exp : "",
	    f.has_nbf ? "\nNot Before: " : "", f.has_nbf ? nbf : "");
	if (siwe_parse(msg, strlen(msg), &m) != SIWE_OK)
		return "parse";
	const char *code = siwe_message_refusal(&m, NOW, &why, why_buf, sizeof(why_buf));
	if (code)
		CHECK(why && *why);
	return code ? code : "ok";
}

static void load(const char *auth_url, const char *chains, const char *skew)
{
	char err[256];
	config_free();
	setenv("AUTH_URL", auth_url, 1);
	if (chains)
		setenv("SIWE_CHAIN_IDS", chains, 1);
	else
		unsetenv("SIWE_CHAIN_IDS");
	if (skew)
		setenv("SIWE_CLOCK_SKEW", skew, 1);
	else
		unsetenv("SIWE_CLOCK_SKEW");
	if (config_load(err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		exit(1);
	}
}

int main(void)
{
	unsetenv("DATABASE_URL");
	unsetenv("AUTH_SECRET");
	unsetenv("LISTEN");
	unsetenv("PORT");
	load("http://localhost:3000", NULL, NULL);

	CHECK_EQ_STR(refusal((struct fields){ 0 }), "ok");
	/* scheme: optional, and then this site's */
	CHECK_EQ_STR(refusal((struct fields){ .scheme = "http" }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .scheme = "HTTP" }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .scheme = "https" }), "invalid_domain");
	/* domain: host and port exactly, host case aside */
	CHECK_EQ_STR(refusal((struct fields){ .domain = "LocalHost:3000" }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "localhost" }), "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "localhost:30000" }), "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "localhost:300" }), "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "127.0.0.1:3000" }), "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "user@localhost:3000" }), "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "evil.example" }), "invalid_domain");
	/* URI: the origin, no path, no trailing slash */
	CHECK_EQ_STR(refusal((struct fields){ .uri = "HTTP://LOCALHOST:3000" }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .uri = "http://localhost:3000/" }), "invalid_uri");
	CHECK_EQ_STR(refusal((struct fields){ .uri = "http://localhost:3000/login" }), "invalid_uri");
	CHECK_EQ_STR(refusal((struct fields){ .uri = "https://localhost:3000" }), "invalid_uri");
	CHECK_EQ_STR(refusal((struct fields){ .uri = "http://localhost" }), "invalid_uri");
	CHECK_EQ_STR(refusal((struct fields){ .uri = "http://localhost:3000?x" }), "invalid_uri");
	/* chains: the default allow-list is mainnet only */
	CHECK_EQ_STR(refusal((struct fields){ .chain = 1 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .chain = 10 }), "unsupported_chain");
	CHECK_EQ_STR(refusal((struct fields){ .chain = 18446744073709551615ull }), "unsupported_chain");
	/* a nonce of another shape was never ours */
	CHECK_EQ_STR(refusal((struct fields){ .nonce = "abcdefgh" }), "invalid_nonce");
	CHECK_EQ_STR(refusal((struct fields){ .nonce = NONCE "y" }), "invalid_nonce");
	/* Issued At: up to the skew (60 s) ahead, and no older than a nonce lives (300 s) plus the skew */
	CHECK_EQ_STR(refusal((struct fields){ .issued_at = NOW + 60 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .issued_at = NOW + 61 }), "invalid_issued_at");
	CHECK_EQ_STR(refusal((struct fields){ .issued_at = NOW - 360 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .issued_at = NOW - 361 }), "invalid_issued_at");
	/* Expiration Time: still good until the skew has passed after it */
	CHECK_EQ_STR(refusal((struct fields){ .has_exp = true, .exp = NOW + 3600 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .has_exp = true, .exp = NOW - 59 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .has_exp = true, .exp = NOW - 60 }), "message_expired");
	/* Not Before: good from the skew before it */
	CHECK_EQ_STR(refusal((struct fields){ .has_nbf = true, .nbf = NOW + 60 }), "ok");
	CHECK_EQ_STR(refusal((struct fields){ .has_nbf = true, .nbf = NOW + 61 }), "message_not_yet_valid");
	CHECK_EQ_STR(refusal((struct fields){ .has_nbf = true, .nbf = NOW - 3600 }), "ok");

	/* no skew at all; an issuer with a path and https; more chains */
	load("https://Auth.Example.com:8443/idp", "1,8453", "0");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com:8443", .uri = "https://auth.example.com:8443",
	                 .chain = 8453, .scheme = "https" }),
	    "ok");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com:8443", .uri = "https://auth.example.com:8443/idp" }),
	    "invalid_uri");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com", .uri = "https://auth.example.com:8443" }),
	    "invalid_domain");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com:8443", .uri = "https://auth.example.com:8443",
	                 .issued_at = NOW + 1 }),
	    "invalid_issued_at");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com:8443", .uri = "https://auth.example.com:8443",
	                 .has_exp = true, .exp = NOW }),
	    "message_expired");
	CHECK_EQ_STR(refusal((struct fields){ .domain = "auth.example.com:8443", .uri = "https://auth.example.com:8443",
	                 .has_exp = true, .exp = NOW + 1 }),
	    "ok");
	config_free();
	return CHECK_DONE();
}
