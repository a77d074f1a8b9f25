/*
 * Unit tests for proto/display_name.c: which display names may be stored
 * (sign-up, `user add|set --name`) and the printable copy of a stored one
 * that goes into X-Auth-Name.
 */
#include "proto/display_name.h"
#include "tests/unit/check.h"

static const char *problem(const char *name)
{
	return display_name_problem(name, strlen(name));
}

static const char *printable(const char *name, size_t cap)
{
	static char out[256];
	display_name_printable(name, out, cap);
	return out;
}

static void test_accepted(void)
{
	CHECK(problem("") == NULL);
	CHECK(problem("Ada Lovelace") == NULL);
	CHECK(problem("Zoë Ångström-O'Brien (ops)") == NULL);
	CHECK(problem("山田 太郎 🙂") == NULL);
	CHECK(problem("עברית") == NULL);	/* right-to-left letters are letters, not overrides */
	char big[DISPLAY_NAME_MAX_BYTES + 2];
	memset(big, 'n', DISPLAY_NAME_MAX_BYTES);
	big[DISPLAY_NAME_MAX_BYTES] = '\0';
	CHECK(problem(big) == NULL);
	big[DISPLAY_NAME_MAX_BYTES] = 'n';
	big[DISPLAY_NAME_MAX_BYTES + 1] = '\0';
	CHECK_EQ_STR(problem(big), "the name is longer than 80 bytes");
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"a\x0b\x1b[31mb\x7f",		/* the name: VT, ESC, DEL */
		"line\nbreak", "carriage\rreturn", "tab\there", "nul-free but \x01",
		"c1 csi \xc2\x9b" "31m", "nel \xc2\x85",
		"evil\xe2\x80\xae" "gpj.exe",	/* RIGHT-TO-LEFT OVERRIDE */
		"isolate \xe2\x81\xa6" "x",	/* LEFT-TO-RIGHT ISOLATE */
		"zero\xe2\x80\x8bwidth", "bom \xef\xbb\xbf", "line sep \xe2\x80\xa8",
		"stray \x80 byte", "overlong \xc0\xaf", "surrogate \xed\xa0\x80", "cut \xe5\xb1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = problem(bad[i]);
		CHECK(why != NULL);
		if (why)
			CHECK(strstr(why, "control characters") != NULL);
	}
	CHECK_EQ_STR(problem("<script>"), "the name may not contain < or >");
	CHECK_EQ_STR(problem("a > b"), "the name may not contain < or >");
}

static void test_printable_copy(void)
{
	CHECK_EQ_STR(printable("a\x0b\x1b[31mb\x7f", 256), "a[31mb");
	CHECK_EQ_STR(printable("evil\xe2\x80\xae" "gpj.exe", 256), "evilgpj.exe");
	CHECK_EQ_STR(printable("Zoë\xc2\x9b 山田\xff", 256), "Zoë 山田");
	CHECK_EQ_STR(printable("plain", 256), "plain");
	CHECK_EQ_STR(printable("", 256), "");
	/* a full buffer stops at a character boundary, never inside one */
	CHECK_EQ_STR(printable("ab山田", 5), "ab");
	CHECK_EQ_STR(printable("ab山田", 6), "ab山");
	CHECK_EQ_STR(printable("abcdef", 1), "");
}

int main(void)
{
	test_accepted();
	test_refused();
	test_printable_copy();
	return CHECK_DONE();
}
