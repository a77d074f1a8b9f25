/*
 * proto/oidc_clients.c: Dream Auth's OIDC_CLIENTS contract parses; strict
 * validation refuses what would weaken a client (bad redirect URIs, missing
 * secrets, duplicates, unknown fields); scopes round-trip. Run by CTest.
 */
#include "proto/oidc_clients.h"
#include "tests/unit/check.h"

#include <openssl/sha.h>
#include <stdlib.h>

static int parse(const char *text, struct oidc_client **c, size_t *n, char *err)
{
	return oidc_clients_parse(text, strlen(text), true, c, n, err, 256);
}

#define REFUSE(text, needle) do {							\
	struct oidc_client *_c; size_t _n; char _e[256] = "";				\
	CHECK_EQ_INT(parse(text, &_c, &_n, _e), -1);					\
	CHECK(_c == NULL && _n == 0);							\
	if (!strstr(_e, needle)) { check_failed++; fprintf(stderr, "%s:%d: error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, _e, needle); } \
} while (0)

int main(void)
{
	struct oidc_client *c;
	size_t n;
	char err[256];
	uint8_t h[32];

	CHECK_EQ_INT(parse("[{\"clientId\": \"grafana\", \"clientSecret\": \"your-secret\", \"name\": \"Grafana\","
	                   " \"redirectURLs\": [\"https://grafana.example.com/login/generic_oauth\"], \"skipConsent\": true}]",
	                 &c, &n, err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(c[0].client_id, "grafana");
	CHECK_EQ_STR(c[0].name, "Grafana");
	CHECK(c[0].has_secret && c[0].skip_consent && c[0].require_pkce);
	SHA256((const unsigned char *)"your-secret", 11, h);
	CHECK(memcmp(h, c[0].secret_hash, 32) == 0);
	CHECK_EQ_INT(c[0].grants, OIDC_GRANT_CODE | OIDC_GRANT_REFRESH);
	CHECK_EQ_INT(c[0].scopes, OIDC_SCOPE_ALL);
	CHECK_EQ_STR(c[0].redirect_uris[0], "https://grafana.example.com/login/generic_oauth");
	oidc_clients_free(c, n);

	CHECK_EQ_INT(parse("[{\"clientId\":\"spa\",\"public\":true,\"requirePKCE\":false,\"redirectURLs\":"
	                   "[\"http://localhost:3000/cb\",\"http://127.0.0.1/x?y=1\",\"http://[::1]:8/a\"],"
	                   "\"postLogoutRedirectURLs\":[\"https://spa.example/bye\"],\"idTokenSignedResponseAlg\":\"EdDSA\","
	                   "\"scopes\":[\"openid\",\"email\"]}]", &c, &n, err), 0);
	CHECK(!c[0].has_secret && c[0].require_pkce);	/* public clients always need PKCE */
	CHECK_EQ_INT(c[0].n_redirect_uris, 3);
	CHECK_EQ_STR(c[0].id_token_alg, "EdDSA");
	CHECK_EQ_INT(c[0].scopes, OIDC_SCOPE_OPENID | OIDC_SCOPE_EMAIL);
	oidc_clients_free(c, n);
	CHECK_EQ_INT(parse("[]", &c, &n, err), 0);
	CHECK_EQ_INT(n, 0);
	oidc_clients_free(c, n);

	REFUSE("not json", "not valid JSON");
	REFUSE("{}", "expected a JSON array");
	REFUSE("[{\"clientId\":\"a\",\"redirectURLs\":[\"https://a/cb\"]}]", "clientSecret is required");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"short\",\"redirectURLs\":[\"https://a/cb\"]}]", "clientSecret must be");
	REFUSE("[{\"clientId\":\"a b\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"]}]", "clientId must be");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[]}]", "redirectURLs must be");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\"}]", "redirectURLs is required");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"http://example.com/cb\"]}]", "redirectURLs[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb#x\"]}]", "redirectURLs[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://u@a/cb\"]}]", "redirectURLs[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"javascript:alert(1)\"]}]", "redirectURLs[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"/relative\"]}]", "redirectURLs[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\",\"https://a/cb\"]}]", "twice");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"]},"
	       "{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"]}]", "defined twice");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"],\"redirectUrls\":[]}]",
	    "unknown field");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"],\"idTokenSignedResponseAlg\":\"none\"}]",
	    "idTokenSignedResponseAlg");
	REFUSE("[{\"clientId\":\"a\",\"public\":true,\"redirectURLs\":[\"https://a/cb\"],\"grantTypes\":[\"client_credentials\"]}]",
	    "public client cannot");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"],\"grantTypes\":[\"password\"]}]",
	    "grantTypes[0]");
	REFUSE("[{\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"clientSecret\":\"87654321\",\"redirectURLs\":[\"https://a/cb\"]}]",
	    "not valid JSON");

	unsigned bits;
	char text[128];
	CHECK_EQ_INT(oidc_scope_parse("openid  email groups", 20, &bits), 0);
	CHECK_EQ_INT(bits, OIDC_SCOPE_OPENID | OIDC_SCOPE_EMAIL | OIDC_SCOPE_GROUPS);
	CHECK_EQ_STR(oidc_scope_string(bits, text, sizeof(text)), "openid email groups");
	CHECK_EQ_INT(oidc_scope_parse("openid sudo", 11, &bits), -1);
	CHECK(oidc_redirect_uri_valid("https://a.example:8443/cb?x=1", 29));
	CHECK(!oidc_redirect_uri_valid("https://a.example:99999x/cb", 27));
	CHECK(!oidc_redirect_uri_valid("http://localhost.evil.com/cb", 28));
	/* Native apps (RFC 8252 §7.1): reverse-domain private-use schemes only. */
	static const char *const app_ok[] = { "app.immich:///oauth-callback", "com.example.app:/cb",
		"org.example.my-app+x:/oauth2redirect?x=1", NULL };
	static const char *const app_bad[] = { "javascript:alert(1)", "data:text/html,<x>", "vbscript:x", "file:///etc/passwd",
		"myapp://cb", "app.immich:", ".app.x:/cb", "app..x:/cb", "app.x.:/cb", "1app.x:/cb", "ap_p.x:/cb",
		"https:/a.example/cb", "http:a.example", "HTTPS//a.example", "app.immich:///cb#frag", "app.immich:///c b",
		NULL };
	/* Short inputs without a terminator are read within their length only
	 * (libFuzzer found a read past "h"; ASan checks this buffer exactly). */
	for (size_t len = 1; len <= 5; len++) {
		char *exact = malloc(len);
		memcpy(exact, "https", len);
		CHECK(!oidc_redirect_uri_valid(exact, len));
		free(exact);
	}
	for (int i = 0; app_ok[i]; i++) {
		CHECK(oidc_redirect_uri_valid(app_ok[i], strlen(app_ok[i])));
		if (!oidc_redirect_uri_valid(app_ok[i], strlen(app_ok[i])))
			fprintf(stderr, "refused %s\n", app_ok[i]);
	}
	for (int i = 0; app_bad[i]; i++) {
		CHECK(!oidc_redirect_uri_valid(app_bad[i], strlen(app_bad[i])));
		if (oidc_redirect_uri_valid(app_bad[i], strlen(app_bad[i])))
			fprintf(stderr, "accepted %s\n", app_bad[i]);
	}
	return CHECK_DONE();
}
