/*
 * Unit tests for workers/forward_auth.c: which verified access-token claims
 * /api/verify lets through (aud must name the forward-auth audience; machine
 * tokens only when allowed), and the aud claim the token endpoint writes.
 */
#include "workers/forward_auth.h"
#include "common/config.h"
#include "tests/unit/check.h"

#define AUD "https://apps.example.com"

static bool acceptable(const char *claims_json, bool allow_machine)
{
	json_t *claims = json_loads(claims_json, 0, NULL);
	bool ok = claims && forward_auth_claims_acceptable(claims, AUD, allow_machine);
	json_decref(claims);
	return ok;
}

static void test_claims(void)
{
	/* a user's token for forward-auth, aud as an array or a string */
	CHECK(acceptable("{\"aud\":[\"app\",\"" AUD "\"],\"auth_time\":1}", false));
	CHECK(acceptable("{\"aud\":\"" AUD "\",\"auth_time\":1}", false));
	/* a relying party's own token: aud is its client_id only */
	CHECK(!acceptable("{\"aud\":\"app\",\"auth_time\":1}", false));
	CHECK(!acceptable("{\"aud\":[\"app\"],\"auth_time\":1}", true));
	CHECK(!acceptable("{\"auth_time\":1}", true));
	CHECK(!acceptable("{\"aud\":[1,null,{}],\"auth_time\":1}", true));
	CHECK(!acceptable("{\"aud\":\"" AUD "/\",\"auth_time\":1}", true));	/* exact match only */
	/* a machine token (client_credentials: no auth_time) only when allowed */
	CHECK(!acceptable("{\"aud\":[\"app\",\"" AUD "\"]}", false));
	CHECK(acceptable("{\"aud\":[\"app\",\"" AUD "\"]}", true));
}

static void test_aud_claim(void)
{
	char buf[512];
	struct json_writer w;

	cfg.forward_auth_audience = AUD;
	json_writer_init(&w, buf, sizeof(buf));
	forward_auth_write_aud(&w, "app", false);
	CHECK_EQ_STR(json_writer_finish(&w), "{\"aud\":\"app\"}");
	json_writer_init(&w, buf, sizeof(buf));
	forward_auth_write_aud(&w, "app", true);
	CHECK_EQ_STR(json_writer_finish(&w), "{\"aud\":[\"app\",\"" AUD "\"]}");
	cfg.forward_auth_audience = NULL;
}

int main(void)
{
	test_claims();
	test_aud_claim();
	return CHECK_DONE();
}
