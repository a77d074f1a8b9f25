/* CSRF tokens bound to a browser cookie, single use (see csrf.h). */
#include "workers/csrf.h"
#include "proto/cors_origin.h"
#include "common/config.h"
#include "common/secure.h"
#include "proto/base64url.h"
#include "proto/form.h"
#include "shm/rate_limit.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <string.h>

#define NONCE_LEN 16
#define MAC_LEN 16
#define RAW_LEN (NONCE_LEN + 8 + MAC_LEN)

/* The browser's CSRF cookie value: 43 base64url chars. */
static bool browser_id(struct http_exchange *ex, char out[TOKEN_STR_LEN])
{
	const struct http_str *cookie = http_request_header(&ex->req, "cookie");
	const char *v;
	size_t len;
	if (!cookie || cookie_find(cookie->p, cookie->len, CSRF_COOKIE, &v, &len) != 1 || len != TOKEN_STR_LEN - 1)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

static void mac(const char *browser, const uint8_t *nonce_and_exp, uint8_t out[SHA256_LEN])
{
	uint8_t msg[TOKEN_STR_LEN + NONCE_LEN + 8];
	size_t blen = strlen(browser);
	memcpy(msg, browser, blen);
	memcpy(msg + blen, nonce_and_exp, NONCE_LEN + 8);
	secure_hmac_sha256(worker->csrf_key, sizeof(worker->csrf_key), msg, blen + NONCE_LEN + 8, out);
}

void csrf_issue(struct http_exchange *ex, char out[CSRF_TOKEN_LEN])
{
	char browser[TOKEN_STR_LEN];
	uint8_t raw[RAW_LEN], full[SHA256_LEN];
	uint64_t exp = (uint64_t)(now_seconds() + CSRF_TTL);

	if (!browser_id(ex, browser)) {
		char cookie[256];
		secure_token(browser);
		snprintf(cookie, sizeof(cookie), CSRF_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax%s", browser,
		    cfg.issuer_is_local_http ? "" : "; Secure");
		http_reply_header(ex, "Set-Cookie", cookie);
	}
	secure_random(raw, NONCE_LEN);
	for (int i = 0; i < 8; i++)
		raw[NONCE_LEN + i] = (uint8_t)(exp >> (56 - 8 * i));
	mac(browser, raw, full);
	memcpy(raw + NONCE_LEN + 8, full, MAC_LEN);
	base64url_encode(raw, RAW_LEN, out);
}

bool csrf_check(struct http_exchange *ex, const char *token)
{
	char browser[TOKEN_STR_LEN];
	uint8_t raw[RAW_LEN + 1], full[SHA256_LEN], digest[SHA256_LEN];
	uint64_t exp = 0;

	if (!token || !browser_id(ex, browser) || !csrf_origin_ok(ex))
		return false;
	if (base64url_decode(token, strlen(token), raw, sizeof(raw)) != RAW_LEN)
		return false;
	for (int i = 0; i < 8; i++)
		exp = exp << 8 | raw[NONCE_LEN + i];
	mac(browser, raw, full);
	if (!secure_equal(full, raw + NONCE_LEN + 8, MAC_LEN) || (int64_t)exp < now_seconds())
		return false;
	/* Single use: a replayed form post is refused. */
	secure_sha256(raw, RAW_LEN, digest);
	return nonce_consume(worker->shm->nonces, digest, now_seconds(), (int64_t)exp);
}

bool csrf_origin_ok(struct http_exchange *ex)
{
	const struct http_str *origin = http_request_header(&ex->req, "origin");
	char canonical[CORS_ORIGIN_MAX];

	if (!origin)
		return true;	/* non-browser clients; forms carry the token anyway */
	/* AUTH_URL's origin, or a first-party one the operator listed in
	 * CORS_ORIGINS (workers/cors.c lets those call the account API). */
	return cors_origin_parse(origin->p, origin->len, canonical, sizeof(canonical)) &&
	    config_origin_first_party(canonical);
}
