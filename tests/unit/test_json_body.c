/*
 * json_body_parse / json_body_string / json_body_bool: valid bodies and typed
 * access, then what must be refused (non-object roots, duplicate keys, depth,
 * size, NUL, invalid UTF-8, trailing garbage, wrong types). Run by CTest;
 * needs only da_proto and jansson.
 */
#include "proto/json_body.h"
#include "tests/unit/check.h"

#include <stdlib.h>

/* Parses a literal (sizeof - 1 keeps embedded NULs and invalid bytes). */
#define PARSE(lit, why) json_body_parse((lit), sizeof(lit) - 1, (why))

static void expect_refused(const char *body, size_t len, int line)
{
	const char *why = NULL;
	json_t *root = json_body_parse(body, len, &why);

	if (!root && why && why[0]) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: json_body_parse(\"%.*s\") accepted or gave no reason\n", __FILE__, line,
	    (int)(len > 80 ? 80 : len), body);
	json_decref(root);
}
#define REFUSED(lit) expect_refused((lit), sizeof(lit) - 1, __LINE__)

/* Builds n nested objects: {"a":{"a":...{}...}}. Caller frees. */
static char *nested(int n)
{
	char *s = malloc((size_t)n * 6 + 8);
	size_t o = 0;

	for (int i = 0; i < n - 1; i++) {
		memcpy(s + o, "{\"a\":", 5);
		o += 5;
	}
	s[o++] = '{';
	s[o++] = '}';
	for (int i = 0; i < n - 1; i++)
		s[o++] = '}';
	s[o] = '\0';
	return s;
}

static void test_valid(void)
{
	const char *why = "unset";
	bool present = false, flag = false;
	json_t *root = PARSE("{\"email\":\"alice@example.com\",\"password\":\"p\\u00e4ss\",\"remember\":true,"
	    "\"n\":3,\"obj\":{\"x\":[1,2]},\"no\":null,\"off\":false}", &why);

	CHECK(root != NULL);
	CHECK(why == NULL);
	CHECK_EQ_STR(json_body_string(root, "email", 254, &present), "alice@example.com");
	CHECK(present);
	CHECK_EQ_STR(json_body_string(root, "password", 64, NULL), "p\xc3\xa4ss");

	/* Missing vs wrong type vs too long. */
	CHECK(json_body_string(root, "missing", 64, &present) == NULL);
	CHECK(!present);
	CHECK(json_body_string(root, "n", 64, &present) == NULL);
	CHECK(present);
	CHECK(json_body_string(root, "no", 64, &present) == NULL);
	CHECK(present);
	CHECK(json_body_string(root, "obj", 64, &present) == NULL);
	CHECK(present);
	CHECK(json_body_string(root, "remember", 64, &present) == NULL);
	CHECK(present);
	CHECK(json_body_string(root, "email", 16, &present) == NULL);
	CHECK(present);
	CHECK(json_body_string(root, "email", 17, &present) != NULL);
	CHECK(json_body_string(root, "password", 5, NULL) != NULL);	/* bytes, not characters */
	CHECK(json_body_string(root, "password", 4, NULL) == NULL);
	CHECK(json_body_string(NULL, "email", 64, &present) == NULL);
	CHECK(!present);
	CHECK(json_body_string(root, NULL, 64, &present) == NULL);

	/* Booleans: value, default when absent, -1 on other types. */
	CHECK_EQ_INT(json_body_bool(root, "remember", false, &flag), 0);
	CHECK(flag);
	CHECK_EQ_INT(json_body_bool(root, "off", true, &flag), 0);
	CHECK(!flag);
	CHECK_EQ_INT(json_body_bool(root, "missing", true, &flag), 0);
	CHECK(flag);
	CHECK_EQ_INT(json_body_bool(root, "missing", false, &flag), 0);
	CHECK(!flag);
	CHECK_EQ_INT(json_body_bool(root, "n", false, &flag), -1);
	CHECK_EQ_INT(json_body_bool(root, "email", false, &flag), -1);
	CHECK_EQ_INT(json_body_bool(root, "no", false, &flag), -1);
	CHECK_EQ_INT(json_body_bool(NULL, "remember", false, &flag), -1);
	json_decref(root);

	/* Empty object, whitespace around it, and a NULL why are fine. */
	root = PARSE("{}", NULL);
	CHECK(root != NULL);
	json_decref(root);
	root = PARSE(" \r\n\t{\"a\":\"b\"} \n", &why);
	CHECK(root != NULL);
	json_decref(root);

	/* A UTF-8 string straight from the body (not escaped). */
	root = PARSE("{\"name\":\"u\xc5\xbcytkownik\"}", &why);
	CHECK(root != NULL);
	CHECK_EQ_STR(json_body_string(root, "name", 64, NULL), "u\xc5\xbcytkownik");
	json_decref(root);
}

static void test_refused(void)
{
	REFUSED("");
	REFUSED("   ");
	REFUSED("[]");
	REFUSED("[{\"a\":1}]");
	REFUSED("\"string\"");
	REFUSED("42");
	REFUSED("true");
	REFUSED("null");
	REFUSED("{\"a\":1,\"a\":2}");
	REFUSED("{\"email\":\"a@b.co\",\"email\":\"evil@b.co\"}");
	REFUSED("{\"o\":{\"k\":1,\"k\":1}}");
	REFUSED("{\"a\":1} x");
	REFUSED("{\"a\":1}{\"b\":2}");
	REFUSED("{\"a\":1}\0");
	REFUSED("{\"a\":1,}");
	REFUSED("{'a':1}");
	REFUSED("{a:1}");
	REFUSED("{\"a\":1");
	REFUSED("{\"a\":\"unterminated}");
	REFUSED("{\"a\":NaN}");
	REFUSED("{\"a\":01}");
	REFUSED("{\"a\":99999999999999999999999}");
	REFUSED("{\"a\":\"x\\u0000y\"}");
	REFUSED("{\"a\\u0000b\":1}");
	REFUSED("{\"a\":\"\\ud800\"}");		/* lone surrogate escape */
	REFUSED("{\"a\":\"\xed\xa0\x80\"}");	/* lone surrogate bytes */
	REFUSED("{\"a\":\"\xc0\xaf\"}");	/* overlong */
	REFUSED("{\"a\":\"\xff\"}");
	REFUSED("{\"a\":\"\xe4\"}");		/* Latin-1 */
	REFUSED("{\"\xc3\":1}");
	REFUSED("{\"a\":\"tab\there\"}");	/* raw control in a string */
	REFUSED("\xef\xbb\xbf{\"a\":1}");	/* BOM */
	REFUSED("{\"a\":1}\0{\"b\":2}");
	CHECK(json_body_parse(NULL, 10, NULL) == NULL);
}

static void test_depth(void)
{
	const char *why = NULL;
	char *s;
	json_t *root;

	s = nested(8);
	root = json_body_parse(s, strlen(s), &why);
	CHECK(root != NULL);
	json_decref(root);
	free(s);

	s = nested(9);
	root = json_body_parse(s, strlen(s), &why);
	CHECK(root == NULL);
	CHECK(why != NULL);
	free(s);

	s = nested(3000);	/* beyond jansson's own limit too */
	root = json_body_parse(s, strlen(s), &why);
	CHECK(root == NULL);
	free(s);

	/* Arrays count as levels as well. */
	root = PARSE("{\"a\":[[[[[[[1]]]]]]]}", &why);	/* 8 levels */
	CHECK(root != NULL);
	json_decref(root);
	root = PARSE("{\"a\":[[[[[[[[1]]]]]]]]}", &why);	/* 9 levels */
	CHECK(root == NULL);
	root = PARSE("{\"a\":[[[[[[[[]]]]]]]]}", &why);	/* 9, innermost empty */
	CHECK(root == NULL);
	root = PARSE("{\"a\":[1,[2,[3,[4,[5,[6,[7]]]]]]],\"b\":{\"c\":{}}}", &why);
	CHECK(root != NULL);
	json_decref(root);
}

static void test_size(void)
{
	size_t len = JSON_BODY_MAX + 1;
	char *s = malloc(len + 1);
	const char *why = NULL;
	json_t *root;

	/* {"a":"xxx...x"} exactly JSON_BODY_MAX bytes is fine, one more is not. */
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', JSON_BODY_MAX - 8);
	memcpy(s + JSON_BODY_MAX - 2, "\"}", 3);
	root = json_body_parse(s, JSON_BODY_MAX, &why);
	CHECK(root != NULL);
	CHECK(json_body_string(root, "a", JSON_BODY_MAX, NULL) != NULL);
	CHECK(json_body_string(root, "a", 1024, NULL) == NULL);
	json_decref(root);

	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', len - 8);
	memcpy(s + len - 2, "\"}", 3);
	root = json_body_parse(s, len, &why);
	CHECK(root == NULL);
	CHECK(why != NULL);
	free(s);
}

static void test_constructed_nul(void)
{
	/* Values built in code (not parsed) may hold NUL; the accessor still refuses. */
	json_t *root = json_object();
	bool present = false;

	json_object_set_new(root, "a", json_stringn("x\0y", 3));
	json_object_set_new(root, "b", json_stringn("xy", 2));
	CHECK(json_body_string(root, "a", 64, &present) == NULL);
	CHECK(present);
	CHECK_EQ_STR(json_body_string(root, "b", 64, &present), "xy");
	json_decref(root);
}

int main(void)
{
	test_valid();
	test_refused();
	test_depth();
	test_size();
	test_constructed_nul();
	return CHECK_DONE();
}
