/* json_writer: what it writes is what jansson reads back, byte for byte the
 * same values; hostile strings are escaped; bad UTF-8 and overflow fail. */
#include "workers/json_util.h"
#include "tests/unit/check.h"

#include <stdlib.h>

/* Writes {"k": s} and parses it back with jansson: the value must be s. */
static int round_trips(const char *s)
{
	char buf[256];
	struct json_writer w;
	json_writer_init(&w, buf, sizeof(buf));
	json_writer_string(&w, "k", s);
	const char *text = json_writer_finish(&w);
	if (!text)
		return 0;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	int ok = o && json_is_string(json_object_get(o, "k")) && strcmp(json_string_value(json_object_get(o, "k")), s) == 0;
	json_decref(o);
	return ok;
}

static const char *written(char *buf, size_t cap, const char *s)
{
	struct json_writer w;
	json_writer_init(&w, buf, cap);
	json_writer_string(&w, "k", s);
	return json_writer_finish(&w);
}

int main(void)
{
	char buf[512];
	struct json_writer w;

	/* A token's claims: members in order, integers as integers. */
	json_writer_init(&w, buf, sizeof(buf));
	json_writer_string(&w, "iss", "https://auth.example.com");
	json_writer_int(&w, "exp", 1796160000);
	json_writer_int(&w, "neg", -5);
	json_writer_string(&w, "scope", "openid email");
	CHECK_EQ_STR(json_writer_finish(&w),
	    "{\"iss\":\"https://auth.example.com\",\"exp\":1796160000,\"neg\":-5,\"scope\":\"openid email\"}");

	/* An empty object. */
	json_writer_init(&w, buf, sizeof(buf));
	CHECK_EQ_STR(json_writer_finish(&w), "{}");

	/* Escapes: quotes, backslashes, every control character; UTF-8 kept. */
	CHECK_EQ_STR(written(buf, sizeof(buf), "a\"b\\c"), "{\"k\":\"a\\\"b\\\\c\"}");
	CHECK_EQ_STR(written(buf, sizeof(buf), "\n\t\x01\x1f"), "{\"k\":\"\\u000a\\u0009\\u0001\\u001f\"}");
	CHECK_EQ_STR(written(buf, sizeof(buf), "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), "{\"k\":\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"}");
	CHECK(round_trips("\"},\"admin\":true,\"x\":\""));	/* an injection attempt stays one string */
	CHECK(round_trips("</script><script>"));
	CHECK(round_trips("\x7f del and \xc3\xa9"));
	for (int c = 1; c < 0x20; c++) {
		char s[4] = { 'x', (char)c, 'y', 0 };
		CHECK(round_trips(s));
	}

	/* Not UTF-8: a lone continuation byte, a truncated sequence, an overlong
	 * encoding, a surrogate. The writer fails; nothing half-written escapes. */
	CHECK(written(buf, sizeof(buf), "\x80") == NULL);
	CHECK(written(buf, sizeof(buf), "ab\xc3") == NULL);
	CHECK(written(buf, sizeof(buf), "\xc0\xaf") == NULL);
	CHECK(written(buf, sizeof(buf), "\xed\xa0\x80") == NULL);
	CHECK(written(buf, sizeof(buf), NULL) == NULL);

	/* Out of room: fails at every size short of the text, never overruns. */
	const char *full = "{\"k\":\"abcdef\"}";
	for (size_t cap = 0; cap <= strlen(full); cap++) {
		char small[32];
		memset(small, 'Z', sizeof(small));
		CHECK(written(small, cap, "abcdef") == NULL);
		CHECK(small[cap] == 'Z' || cap >= sizeof(small));
	}
	CHECK_EQ_STR(written(buf, strlen(full) + 1, "abcdef"), full);

	/* jansson values and members. */
	json_t *groups = json_pack("[ss]", "admins", "dev\"ops");
	json_t *user = json_pack("{s:s,s:b}", "email", "ada@example.com", "email_verified", 1);
	json_writer_init(&w, buf, sizeof(buf));
	json_writer_string(&w, "sub", "u1");
	json_writer_value(&w, "groups", groups);
	json_writer_members(&w, user);
	const char *text = json_writer_finish(&w);
	CHECK(text != NULL);
	json_t *back = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	CHECK(back && json_object_size(back) == 4);
	CHECK(back && json_equal(json_object_get(back, "groups"), groups));
	CHECK(back && json_is_true(json_object_get(back, "email_verified")));
	CHECK_EQ_STR(back ? json_string_value(json_object_get(back, "email")) : NULL, "ada@example.com");
	json_decref(back);
	json_writer_init(&w, buf, sizeof(buf));
	json_writer_members(&w, groups);	/* not an object */
	CHECK(json_writer_finish(&w) == NULL);
	json_decref(groups);
	json_decref(user);
	return CHECK_DONE();
}
