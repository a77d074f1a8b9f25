/*
 * GET /sdk/dreamauth.js (ES module) and /sdk/dreamauth.iife.js (classic
 * script, window.DreamAuth): the browser SDK, both built from the one
 * source web/dreamauth.js, which defines `const DreamAuth = (() => {...})()`.
 * The module appends its exports; the classic script wraps the source in a
 * function and publishes the object. Assembled once per worker, on first
 * use; the buffers live as long as the process (this file owns them).
 *
 * Public and credential-free: Access-Control-Allow-Origin: * (a cross-origin
 * <script type="module"> is fetched in CORS mode and needs it), an ETag for
 * revalidation, an hour of caching (the URL carries no version).
 */
#include "workers/handlers.h"
#include "common/embedded.h"
#include "common/secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sdk_build {
	char *text;
	size_t len;
	char etag[40];		/* "\"" + 32 hex + "\"" */
};

static const char esm_tail[] =
    "\nexport const { createAuthClient, createOAuthClient, version } = DreamAuth;\nexport default DreamAuth;\n";
static const char iife_head[] = "(() => {\n";
static const char iife_tail[] = "\nglobalThis.DreamAuth = DreamAuth;\n})();\n";

static bool build(struct sdk_build *b, const char *head, const char *tail)
{
	const struct embedded_file *src = embedded_find(web_files, "dreamauth.js");
	uint8_t digest[SHA256_LEN];
	size_t hl = strlen(head), tl = strlen(tail);

	if (!src || !(b->text = malloc(hl + src->len + tl + 1)))
		return false;
	memcpy(b->text, head, hl);
	memcpy(b->text + hl, src->data, src->len);
	memcpy(b->text + hl + src->len, tail, tl + 1);
	b->len = hl + src->len + tl;
	secure_sha256(b->text, b->len, digest);
	b->etag[0] = '"';
	for (int i = 0; i < 16; i++)
		snprintf(b->etag + 1 + 2 * i, 3, "%02x", digest[i]);
	memcpy(b->etag + 33, "\"", 2);
	return true;
}

static void reply(struct http_exchange *ex, struct sdk_build *b, const char *head, const char *tail)
{
	const struct http_str *inm;

	if (!b->text && !build(b, head, tail)) {
		http_reply_error(ex, 500, "server_error", "the SDK is not available");
		return;
	}
	http_reply_header(ex, "Cache-Control", "public, max-age=3600");
	http_reply_header(ex, "ETag", b->etag);
	http_reply_header(ex, "Access-Control-Allow-Origin", "*");
	http_reply_header(ex, "Cross-Origin-Resource-Policy", "cross-origin");
	http_reply_header(ex, "X-Content-Type-Options", "nosniff");
	inm = http_request_header(&ex->req, "if-none-match");
	if (inm && http_str_eq(*inm, b->etag)) {
		/* Like a HEAD: the 200's headers and length, no body. */
		ex->head_only = true;
		http_reply(ex, 304, "text/javascript; charset=utf-8", b->text, b->len);
		return;
	}
	http_reply(ex, 200, "text/javascript; charset=utf-8", b->text, b->len);
}

void handle_sdk_module(struct http_exchange *ex)
{
	static struct sdk_build esm;
	reply(ex, &esm, "", esm_tail);
}

void handle_sdk_script(struct http_exchange *ex)
{
	static struct sdk_build iife;
	reply(ex, &iife, iife_head, iife_tail);
}
