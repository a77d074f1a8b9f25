/*
 * Unit tests for proto/text_controls.c (which characters are printable) and
 * for its use in common/log.c: every unprintable byte of a logged message is
 * escaped as \xNN, CR/LF/TAB become spaces.
 */
#include "proto/text_controls.h"
#include "common/log.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool printable(const char *s)
{
	return text_is_printable(s, strlen(s));
}

static void test_characters(void)
{
	bool p;
	CHECK(printable("plain ASCII, with punctuation: ~!@#$%^&*()"));
	CHECK(printable("Zoë Ångström 山田 🙂"));
	CHECK(printable(""));
	/* C0, DEL, C1 (U+0085 NEL, U+009B CSI) */
	CHECK(!printable("a\x0b" "b"));
	CHECK(!printable("a\x1b[31mb"));
	CHECK(!printable("a\x7f"));
	CHECK(!printable("a\t"));
	CHECK(!printable("a\xc2\x85"));
	CHECK(!printable("a\xc2\x9b" "31m"));
	/* format characters: bidi override and isolate, zero-width space, BOM, soft hyphen */
	CHECK(!printable("evil\xe2\x80\xae" "gpj.exe"));
	CHECK(!printable("a\xe2\x81\xa6" "b"));
	CHECK(!printable("a\xe2\x80\x8b" "b"));
	CHECK(!printable("\xef\xbb\xbf" "a"));
	CHECK(!printable("a\xc2\xad" "b"));
	/* line and paragraph separators */
	CHECK(!printable("a\xe2\x80\xa8" "b"));
	CHECK(!printable("a\xe2\x80\xa9" "b"));
	/* not UTF-8: stray continuation, overlong, surrogate, truncated */
	CHECK(!printable("a\x80"));
	CHECK(!printable("\xc0\xaf"));
	CHECK(!printable("\xed\xa0\x80"));
	CHECK(!printable("\xe2\x80"));
	/* lengths: one stray byte at a time, whole characters otherwise */
	CHECK_EQ_INT(text_next_char("\xe2\x80\xae", 3, &p), 3);
	CHECK(!p);
	CHECK_EQ_INT(text_next_char("\xe5\xb1\xb1", 3, &p), 3);
	CHECK(p);
	CHECK_EQ_INT(text_next_char("\xe5\xb1", 2, &p), 1);
	CHECK(!p);
	CHECK_EQ_INT(text_next_char("\xf0\x9f\x99\x82", 4, &p), 4);
	CHECK(p);
}

/* What log_* writes for this message, through a pipe standing in for stderr. */
static const char *logged(const char *value)
{
	static char out[8192];
	int fds[2], saved = dup(2);
	if (pipe(fds) < 0 || saved < 0)
		abort();
	dup2(fds[1], 2);
	close(fds[1]);
	log_info("value %s end", value);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
	char *msg = strstr(out, "info: ");
	return msg ? msg + 6 : out;
}

static void test_log_escapes(void)
{
	log_init("test", LOG_LEVEL_INFO);
	CHECK_EQ_STR(logged("a\x1b[2Jb"), "value a\\x1b[2Jb end\n");
	CHECK_EQ_STR(logged("a\x0b\x7f" "b"), "value a\\x0b\\x7fb end\n");
	CHECK_EQ_STR(logged("one\ntwo\r\tthree"), "value one two  three end\n");
	CHECK_EQ_STR(logged("c\xe2\x80\xae" "d\xc2\x9b" "e"), "value c\\xe2\\x80\\xaed\\xc2\\x9be end\n");
	CHECK_EQ_STR(logged("stray \xff byte"), "value stray \\xff byte end\n");
	CHECK_EQ_STR(logged("Zoë 山田"), "value Zoë 山田 end\n");
	/* a whole message of control bytes still fits, escaped */
	char many[1100];
	memset(many, 0x1b, sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	const char *l = logged(many);
	CHECK(strchr(l, 0x1b) == NULL);
	CHECK(strlen(l) > 4000);
}

int main(void)
{
	test_characters();
	test_log_escapes();
	return CHECK_DONE();
}
