/*
 * BetterAuth's client fields in OIDC_CLIENTS (Dream Auth passes them
 * through): type decides public or confidential, disabled and metadata are
 * kept, bookkeeping fields are accepted and named in one warning line,
 * contradictions and typos are still refused.
 */
#include "proto/oidc_clients.h"
#include "tests/unit/check.h"

#include <stdlib.h>

static char warn[1024];

static int parse(const char *text, struct oidc_client **c, size_t *n, char *err)
{
	return oidc_clients_parse_warn(text, strlen(text), true, c, n, err, 256, warn, sizeof(warn));
}

#define REFUSE(text, needle) do {							\
	struct oidc_client *_c; size_t _n; char _e[256] = "";				\
	CHECK_EQ_INT(parse(text, &_c, &_n, _e), -1);					\
	if (!strstr(_e, needle)) { check_failed++; fprintf(stderr, "%s:%d: error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, _e, needle); } \
} while (0)

int main(void)
{
	struct oidc_client *c;
	size_t n;
	char err[256];

	/* type: web = confidential; the three public kinds = public with PKCE. */
	CHECK_EQ_INT(parse("[{\"clientId\":\"w\",\"clientSecret\":\"12345678\",\"type\":\"web\",\"redirectURLs\":[\"https://a/cb\"]},"
	                   "{\"clientId\":\"n\",\"type\":\"native\",\"redirectURLs\":[\"com.example.app:/cb\"]},"
	                   "{\"clientId\":\"u\",\"type\":\"user-agent-based\",\"redirectURLs\":[\"https://spa/cb\"]},"
	                   "{\"clientId\":\"p\",\"type\":\"public\",\"redirectURLs\":[\"http://localhost:5173/cb\"]}]",
	                 &c, &n, err), 0);
	CHECK_EQ_INT(n, 4);
	CHECK(c[0].has_secret && !c[0].disabled);
	for (int i = 1; i < 4; i++)
		CHECK(!c[i].has_secret && c[i].require_pkce);
	CHECK_EQ_STR(warn, "");
	oidc_clients_free(c, n);

	/* disabled, metadata (any JSON, kept compact), bookkeeping fields warned about once. */
	CHECK_EQ_INT(parse("[{\"id\":\"x1\",\"clientId\":\"a\",\"clientSecret\":\"12345678\",\"type\":\"web\",\"disabled\":true,"
	                   "\"icon\":\"https://a/i.png\",\"metadata\":{\"team\":\"ops\", \"n\": [1, 2]},\"userId\":\"u1\","
	                   "\"createdAt\":\"2025-01-01T00:00:00Z\",\"updatedAt\":\"2025-01-02T00:00:00Z\","
	                   "\"redirectURLs\":[\"https://a/cb\"]},"
	                   "{\"clientId\":\"b\",\"type\":\"public\",\"icon\":null,\"metadata\":null,\"redirectURLs\":[\"https://b/cb\"]}]",
	                 &c, &n, err), 0);
	CHECK(c[0].disabled && !c[1].disabled);
	CHECK_EQ_STR(c[0].metadata, "{\"team\":\"ops\",\"n\":[1,2]}");
	CHECK(c[1].metadata == NULL);
	CHECK(strstr(warn, "\"icon\"") && strstr(warn, "\"userId\"") && strstr(warn, "\"createdAt\"") &&
	    strstr(warn, "\"updatedAt\"") && strstr(warn, "\"id\""));
	CHECK(strstr(strstr(warn, "\"icon\"") + 1, "\"icon\"") == NULL);	/* two clients with icon: named once */
	oidc_clients_free(c, n);
	CHECK_EQ_INT(parse("[{\"clientId\":\"m\",\"type\":\"public\",\"metadata\":\"a string\",\"redirectURLs\":[\"https://b/cb\"]}]",
	                 &c, &n, err), 0);
	CHECK_EQ_STR(c[0].metadata, "\"a string\"");
	oidc_clients_free(c, n);

	/* A public type with a secret (BetterAuth keeps one for any type): a public client, the secret ignored, said so. */
	CHECK_EQ_INT(parse("[{\"clientId\":\"n\",\"clientSecret\":\"12345678\",\"type\":\"native\",\"redirectURLs\":[\"com.example.app:/cb\"]}]",
	                 &c, &n, err), 0);
	CHECK(!c[0].has_secret && c[0].require_pkce);
	CHECK(strstr(warn, "client \"n\" is a public client (type native): its clientSecret is ignored") != NULL);
	oidc_clients_free(c, n);

	/* The same list as before type existed still loads (no warning). */
	CHECK_EQ_INT(parse("[{\"clientId\":\"grafana\",\"clientSecret\":\"your-secret\",\"name\":\"Grafana\","
	                   "\"redirectURLs\":[\"https://grafana.example.com/login/generic_oauth\"],\"skipConsent\":true}]",
	                 &c, &n, err), 0);
	CHECK_EQ_STR(warn, "");
	oidc_clients_free(c, n);

	REFUSE("[{\"clientId\":\"a\",\"type\":\"web\",\"redirectURLs\":[\"https://a/cb\"]}]", "type web is a confidential client");
	REFUSE("[{\"clientId\":\"a\",\"type\":\"spa\",\"redirectURLs\":[\"https://a/cb\"]}]", "type must be web, native");
	REFUSE("[{\"clientId\":\"a\",\"type\":1,\"redirectURLs\":[\"https://a/cb\"]}]", "type must be");
	REFUSE("[{\"clientId\":\"a\",\"type\":\"web\",\"public\":true,\"clientSecret\":\"12345678\",\"redirectURLs\":[\"https://a/cb\"]}]",
	    "contradicts");
	REFUSE("[{\"clientId\":\"a\",\"type\":\"native\",\"public\":false,\"redirectURLs\":[\"https://a/cb\"]}]", "contradicts");
	REFUSE("[{\"clientId\":\"a\",\"type\":\"public\",\"disabled\":\"yes\",\"redirectURLs\":[\"https://a/cb\"]}]",
	    "disabled must be true or false");
	REFUSE("[{\"clientId\":\"a\",\"type\":\"public\",\"skipConsnet\":true,\"redirectURLs\":[\"https://a/cb\"]}]",
	    "unknown field \"skipConsnet\"");
	{
		/* metadata is bounded. */
		size_t big = 20000;
		char *text = malloc(big + 200);
		int o = snprintf(text, 200, "[{\"clientId\":\"a\",\"type\":\"public\",\"redirectURLs\":[\"https://a/cb\"],\"metadata\":\"");
		memset(text + o, 'x', big);
		strcpy(text + o + big, "\"}]");
		REFUSE(text, "metadata is larger");
		free(text);
	}
	return CHECK_DONE();
}
