/*
 * email_normalize: accepted addresses and their normalized form, then hostile
 * inputs (bad UTF-8, controls, header injection, quoting, length limits,
 * malformed domains), Unicode NFC. Run by CTest; needs only da_proto.
 */
#include "proto/email.h"
#include "tests/unit/check.h"

static char out[EMAIL_MAX_LEN + 1];

/* Normalizes a literal (sizeof - 1 keeps embedded NULs in the input). */
#define NORM(lit) email_normalize((lit), sizeof(lit) - 1, out, sizeof(out))

static void expect_ok(const char *in, size_t len, const char *want, int line)
{
	int rc = email_normalize(in, len, out, sizeof(out));

	if (rc == 0 && strcmp(out, want) == 0) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: email_normalize(\"%.*s\") rc=%d out=\"%s\", expected \"%s\"\n", __FILE__, line,
	    (int)len, in, rc, rc == 0 ? out : "", want);
}
#define OK(lit, want) expect_ok((lit), sizeof(lit) - 1, (want), __LINE__)
#define BAD(lit) CHECK_EQ_INT(NORM(lit), -1)

static void fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void test_valid(void)
{
	OK("alice@example.com", "alice@example.com");
	OK("alice+tag@example.com", "alice+tag@example.com");
	OK("first.last@mail.eu.example.co.uk", "first.last@mail.eu.example.co.uk");
	OK("Alice.Smith@Example.COM", "alice.smith@example.com");
	OK("a@b.co", "a@b.co");
	OK("o'brien@example.ie", "o'brien@example.ie");
	OK("x_y-z!#$%&*/=?^`{|}~@example.com", "x_y-z!#$%&*/=?^`{|}~@example.com");
	OK("user@xn--exmple-cua.com", "user@xn--exmple-cua.com");
	OK("user@my-host.example.com", "user@my-host.example.com");
	OK("user@123.example.com", "user@123.example.com");
	/* UTF-8 local part and IDN domain are kept byte for byte; only ASCII
	 * letters are lower-cased. */
	OK("u\xc5\xbcytkownik@ex\xc3\xa4mple.com", "u\xc5\xbcytkownik@ex\xc3\xa4mple.com");
	OK("\xc3\x9cSER@EX\xc3\x84MPLE.com", "\xc3\x9cser@ex\xc3\x84mple.com");
	OK("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
	OK("smile\xf0\x9f\x98\x80@example.com", "smile\xf0\x9f\x98\x80@example.com");
	/* Surrounding ASCII whitespace is trimmed (form fields, copy-paste). */
	OK("  alice@example.com  ", "alice@example.com");
	OK("\talice@example.com\r\n", "alice@example.com");
}

static void test_bad_utf8(void)
{
	BAD("\xc0\xaf@example.com");		/* overlong '/' */
	BAD("a\xc1\x81@example.com");		/* overlong 'A' */
	BAD("a\xe0\x80\xaf@example.com");	/* 3-byte overlong */
	BAD("a\xf0\x80\x80\xaf@example.com");	/* 4-byte overlong */
	BAD("a\xed\xa0\x80@example.com");	/* lone high surrogate */
	BAD("a\xed\xbf\xbf@example.com");	/* lone low surrogate */
	BAD("a\xed\xa0\xbd\xed\xb8\x80@example.com"); /* CESU-8 surrogate pair */
	BAD("a\xf4\x90\x80\x80@example.com");	/* above U+10FFFF */
	BAD("a\xf8\x88\x80\x80\x80@example.com"); /* 5-byte form */
	BAD("a\x80@example.com");		/* stray continuation */
	BAD("a\xc3@example.com");		/* truncated before '@' */
	BAD("a@example.com\xc3");		/* truncated at the end */
	BAD("a@ex\xe4mple.com");		/* Latin-1, not UTF-8 */
	BAD("a@ex\xff" "ample.com");
}

static void test_controls_and_injection(void)
{
	BAD("a\0b@example.com");
	BAD("alice@example.com\0");
	BAD("alice@exam\0ple.com");
	BAD("alice@example.com\r\nBcc: victim@example.com");
	BAD("alice@example.com\nX: y");
	BAD("ali\rce@example.com");
	BAD("ali\tce@example.com");
	BAD("ali\x7f" "ce@example.com");
	BAD("ali\x1b[31mce@example.com");
	BAD("ali ce@example.com");
	BAD("alice@exa mple.com");
	BAD("a\xc2\x85@example.com");		/* U+0085 NEL (C1 control) */
	BAD("a\xc2\xa0" "b@example.com");	/* no-break space */
	BAD("a\xe2\x80\x8b" "b@example.com");	/* zero-width space */
	BAD("a\xe2\x80\xae" "b@example.com");	/* right-to-left override */
	BAD("a\xe2\x80\xa8" "b@example.com");	/* line separator */
	BAD("a\xef\xbb\xbf" "b@example.com");	/* BOM */
	BAD("a@ex\xe2\x80\x8b" "ample.com");	/* zero-width in the domain */
}

static void test_syntax(void)
{
	BAD("");
	BAD("   ");
	BAD("alice");
	BAD("alice.example.com");
	BAD("@example.com");
	BAD("alice@");
	BAD("alice@@example.com");
	BAD("alice@bob@example.com");
	BAD("\"alice\"@example.com");
	BAD("\"al ice\"@example.com");
	BAD("\"a@b\"@example.com");
	BAD("<alice@example.com>");
	BAD("Alice <alice@example.com>");
	BAD("alice@example.com, bob@example.com");
	BAD("alice@example.com;bob@example.com");
	BAD("al\\ice@example.com");
	BAD("alice(comment)@example.com");
	BAD("alice@[127.0.0.1]");
	BAD("alice@[IPv6:::1]");
	BAD("alice:x@example.com");
	BAD(".alice@example.com");
	BAD("alice.@example.com");
	BAD("al..ice@example.com");
	BAD("alice@localhost");
	BAD("alice@example.com.");
	BAD("alice@.example.com");
	BAD("alice@example..com");
	BAD("alice@-a.com");
	BAD("alice@a-.com");
	BAD("alice@example.-com");
	BAD("alice@example.com-");
	BAD("alice@exa_mple.com");
	BAD("alice@example.com:25");
	BAD("alice@example.com/x");
	BAD("alice@1.2.3.4");
	BAD(" \"quoted\" @example.com");
}

static void test_lengths(void)
{
	char local[80], buf[400];
	char label[70];

	/* Local part: 64 bytes allowed, 65 refused. */
	fill(local, 'a', 64);
	snprintf(buf, sizeof(buf), "%s@example.com", local);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), 0);
	CHECK_EQ_STR(out, buf);
	fill(local, 'a', 65);
	snprintf(buf, sizeof(buf), "%s@example.com", local);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), -1);

	/* 64 bytes of UTF-8 (32 x "ä") count as 64, not 32. */
	buf[0] = '\0';
	for (int i = 0; i < 33; i++)
		strcat(buf, "\xc3\xa4");
	strcat(buf, "@example.com");
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), -1);

	/* Total: 254 allowed, 255 refused. Labels of 50 keep DNS happy. */
	fill(label, 'b', 50);
	snprintf(buf, sizeof(buf), "%s@%s.%s.%s.%s.%.*s.com", "aaaaaaaaaaaaaaaaaaaa", label, label, label, label,
	    254 - 20 - 1 - 4 * 51 - 4, label);
	CHECK_EQ_INT(strlen(buf), 254);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), 0);
	CHECK_EQ_INT(strlen(out), 254);
	snprintf(buf, sizeof(buf), "%s@%s.%s.%s.%s.%.*s.com", "aaaaaaaaaaaaaaaaaaaaa", label, label, label, label,
	    254 - 20 - 1 - 4 * 51 - 4, label);
	CHECK_EQ_INT(strlen(buf), 255);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), -1);

	/* Whitespace does not count toward the limit: it is trimmed first. */
	snprintf(buf, sizeof(buf), "   %s@%s.%s.%s.%s.%.*s.com   ", "aaaaaaaaaaaaaaaaaaaa", label, label, label,
	    label, 254 - 20 - 1 - 4 * 51 - 4, label);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), 0);

	/* ASCII DNS label: 63 allowed, 64 refused. */
	fill(label, 'c', 63);
	snprintf(buf, sizeof(buf), "a@%s.com", label);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), 0);
	fill(label, 'c', 64);
	snprintf(buf, sizeof(buf), "a@%s.com", label);
	CHECK_EQ_INT(email_normalize(buf, strlen(buf), out, sizeof(out)), -1);

	/* Output buffer too small, or no buffer at all. */
	{
		char small[16];

		CHECK_EQ_INT(email_normalize("a@b.co", 6, small, sizeof(small)), -1);
		CHECK_EQ_INT(email_normalize(NULL, 0, out, sizeof(out)), -1);
		CHECK_EQ_INT(email_normalize("a@b.co", 6, NULL, 0), -1);
	}
}

/* Unicode NFC: canonically equivalent spellings are one address. */
static void test_nfc(void)
{
	char a[EMAIL_MAX_LEN + 1], b[EMAIL_MAX_LEN + 1], big[600];

	/* "josé": precomposed U+00E9, and e + U+0301 COMBINING ACUTE. */
	OK("jos\xc3\xa9@example.com", "jos\xc3\xa9@example.com");
	OK("jose\xcc\x81@example.com", "jos\xc3\xa9@example.com");
	OK("  JOSE\xcc\x81@Example.com ", "jos\xc3\x89@example.com");	/* É: only ASCII is lower-cased */
	/* Domains too (IDN U-labels). */
	OK("a@exa\xcc\x88mple.com", "a@ex\xc3\xa4mple.com");
	/* Combining marks in any order that is canonically the same: dot below
	 * (ccc 220) and dot above (ccc 230) give U+1E0B U+0323 either way... */
	CHECK_EQ_INT(email_normalize("d\xcc\xa3\xcc\x87@x.com", 11, a, sizeof(a)), 0);
	CHECK_EQ_INT(email_normalize("d\xcc\x87\xcc\xa3@x.com", 11, b, sizeof(b)), 0);
	CHECK_EQ_STR(a, b);
	CHECK_EQ_STR(a, "\xe1\xb8\x8d\xcc\x87@x.com");	/* U+1E0D (d with dot below) + U+0307 */
	/* Singletons: ANGSTROM SIGN is Å, KELVIN SIGN is K, then lower-cased. */
	OK("\xe2\x84\xab@example.com", "\xc3\x85@example.com");
	OK("\xe2\x84\xaa@example.com", "k@example.com");
	/* GREEK QUESTION MARK is ';' in NFC: refused like ';'. */
	BAD("a\xcd\xbe" "b@example.com");
	/* Non-ASCII case is still not folded. */
	OK("\xc3\x9c@example.com", "\xc3\x9c@example.com");
	/* "W" + ring above has no precomposed form but "w" + ring above has
	 * (U+1E98): the lower-cased result would not be NFC, so it is refused,
	 * while the precomposed small letter is fine. */
	BAD("W\xcc\x8a@example.com");
	OK("\xe1\xba\x98@example.com", "\xe1\xba\x98@example.com");
	/* Unassigned code points (U+0378, U+1FFFF): their NFC may change later. */
	BAD("a\xcd\xb8@example.com");
	BAD("a\xf0\x9f\xbf\xbf@example.com");
	/* A combining mark alone, or first, is still an address (no special case). */
	OK("\xcc\x81" "a@example.com", "\xcc\x81" "a@example.com");
	/* NFC can be longer than the input (U+0958 is U+0915 U+093C): the limit
	 * applies to the normalized form. 80 x 3 bytes in, 80 x 6 bytes out. */
	strcpy(big, "a@");
	for (int i = 0; i < 80; i++)
		strcat(big, "\xe0\xa5\x98");
	strcat(big, ".com");
	CHECK(strlen(big) <= EMAIL_MAX_LEN);
	CHECK_EQ_INT(email_normalize(big, strlen(big), out, sizeof(out)), -1);
	/* ...and within it such an address is accepted in its NFC form. */
	CHECK_EQ_INT(email_normalize("a@\xe0\xa5\x98.com", 9, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "a@\xe0\xa4\x95\xe0\xa4\xbc.com");
	/* Invalid UTF-8 is refused before and after normalization. */
	BAD("jose\xcc@example.com");
	BAD("a\xed\xa0\x80@example.com");	/* surrogate */
}

static void test_idempotent(void)
{
	static const char *const inputs[] = {
		"  Alice+X@Example.COM ", "U\xc5\xbcytkownik@EX\xc3\xa4MPLE.com", "a.b.c@d-e.f-g.h",
		"JOSE\xcc\x81@EXA\xcc\x88MPLE.com", "\xe2\x84\xaa\xe2\x84\xab@x.com",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char again[EMAIL_MAX_LEN + 1];

		CHECK_EQ_INT(email_normalize(inputs[i], strlen(inputs[i]), out, sizeof(out)), 0);
		CHECK_EQ_INT(email_normalize(out, strlen(out), again, sizeof(again)), 0);
		CHECK_EQ_STR(again, out);
	}
}

int main(void)
{
	test_valid();
	test_bad_utf8();
	test_controls_and_injection();
	test_syntax();
	test_lengths();
	test_nfc();
	test_idempotent();
	return CHECK_DONE();
}
