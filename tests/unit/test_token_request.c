/*
 * proto/token_request.c: well-formed token, introspection and revocation
 * requests parse into the struct; malformed ones get the RFC 6749 error the
 * endpoint must answer. Run by CTest.
 */
#include "proto/token_request.h"
#include "tests/unit/check.h"

static const char *error, *description;

static int parse(enum token_endpoint ep, const char *body, const char *auth, struct token_request *r)
{
	return token_request_parse(ep, body, strlen(body), auth, auth ? strlen(auth) : 0, r, &error, &description);
}

#define FAILS(ep, body, auth, code) do {					\
	struct token_request _r;						\
	CHECK_EQ_INT(parse(ep, body, auth, &_r), -1);				\
	CHECK_EQ_STR(error, code);						\
} while (0)

int main(void)
{
	struct token_request r;
	/* "app:s3cret x" with a form-encoded space, base64 */
	CHECK_EQ_INT(parse(TOKEN_EP_TOKEN, "grant_type=client_credentials&scope=profile", "Basic YXBwOnMzY3JldCt4", &r), 0);
	CHECK_EQ_INT(r.grant, GRANT_CLIENT_CREDENTIALS);
	CHECK_EQ_INT(r.auth, CLIENT_AUTH_BASIC);
	CHECK_EQ_STR(r.client_id, "app");
	CHECK_EQ_STR(r.client_secret, "s3cret x");
	CHECK_EQ_STR(r.scope, "profile");
	token_request_free(&r);

	CHECK_EQ_INT(parse(TOKEN_EP_TOKEN,
	                 "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fa%2Fcb&client_id=spa"
	                 "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", NULL, &r), 0);
	CHECK_EQ_INT(r.auth, CLIENT_AUTH_NONE);
	CHECK_EQ_STR(r.redirect_uri, "https://a/cb");
	CHECK(r.client_secret == NULL);
	token_request_free(&r);

	CHECK_EQ_INT(parse(TOKEN_EP_TOKEN, "grant_type=refresh_token&refresh_token=x&client_id=a&client_secret=b", NULL, &r), 0);
	CHECK_EQ_INT(r.auth, CLIENT_AUTH_POST);
	token_request_free(&r);
	CHECK_EQ_INT(parse(TOKEN_EP_REVOKE, "token=abc&token_type_hint=refresh_token&client_id=spa", NULL, &r), 0);
	CHECK_EQ_STR(r.token, "abc");
	token_request_free(&r);
	CHECK(pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", 43));
	CHECK(!pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", 42));

	FAILS(TOKEN_EP_TOKEN, "", "Basic YXBwOnMzY3JldCt4", "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=password&client_id=a", NULL, "unsupported_grant_type");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&grant_type=client_credentials&client_id=a", NULL, "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client%ZZ&client_id=a", NULL, "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials", NULL, "invalid_client");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&client_id=a", NULL, "invalid_client");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials", "Basic !!!", "invalid_client");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials", "Bearer abc", "invalid_client");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials", "Basic YXBw", "invalid_client");	/* no colon */
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&client_secret=x", "Basic YXBwOnMzY3JldCt4", "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&client_id=other", "Basic YXBwOnMzY3JldCt4", "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=authorization_code&client_id=a&redirect_uri=x", NULL, "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=authorization_code&client_id=a&code=x", NULL, "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=authorization_code&client_id=a&code=x&redirect_uri=y&code_verifier=short", NULL,
	    "invalid_request");
	FAILS(TOKEN_EP_TOKEN, "grant_type=refresh_token&client_id=a", NULL, "invalid_request");
	FAILS(TOKEN_EP_INTROSPECT, "client_id=a&client_secret=b", NULL, "invalid_request");

	/* RFC 8707 resource: one absolute URI without a fragment */
	CHECK_EQ_INT(parse(TOKEN_EP_TOKEN, "grant_type=client_credentials&resource=https%3A%2F%2Fapps.example.com%2Fx",
	                 "Basic YXBwOnMzY3JldCt4", &r), 0);
	CHECK_EQ_STR(r.resource, "https://apps.example.com/x");
	token_request_free(&r);
	CHECK_EQ_INT(parse(TOKEN_EP_TOKEN, "grant_type=client_credentials", "Basic YXBwOnMzY3JldCt4", &r), 0);
	CHECK(r.resource == NULL);
	token_request_free(&r);
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&resource=apps", "Basic YXBwOnMzY3JldCt4", "invalid_target");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&resource=https%3A%2F%2Fa%2F%23frag", "Basic YXBwOnMzY3JldCt4",
	    "invalid_target");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&resource=", "Basic YXBwOnMzY3JldCt4", "invalid_target");
	FAILS(TOKEN_EP_TOKEN, "grant_type=client_credentials&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb",
	    "Basic YXBwOnMzY3JldCt4", "invalid_request");	/* one resource at a time */
	CHECK(resource_indicator_valid("https://apps.example.com"));
	CHECK(resource_indicator_valid("urn:example:forward-auth"));
	CHECK(resource_indicator_valid("http://localhost:3000/api/verify?x=1"));
	CHECK(!resource_indicator_valid(""));
	CHECK(!resource_indicator_valid("no-scheme"));
	CHECK(!resource_indicator_valid("https:"));
	CHECK(!resource_indicator_valid("1https://a"));
	CHECK(!resource_indicator_valid("ht_tps://a"));
	CHECK(!resource_indicator_valid("https://a/b#c"));
	CHECK(!resource_indicator_valid("https://a/b c"));
	CHECK(!resource_indicator_valid("https://a/\x1b[2J"));
	CHECK(!resource_indicator_valid("https://a/\xc3\xa9"));
	CHECK(!resource_indicator_valid("https://a/\"x\""));
	return CHECK_DONE();
}
