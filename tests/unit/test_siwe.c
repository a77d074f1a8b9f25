/*
 * siwe_parse: the EIP-4361 examples, a message with every field, the RFC 3986
 * and RFC 3339 corners the ABNF allows, then one broken rule at a time (each
 * made by replacing a piece of a valid message) with the error it must give.
 * Times were checked with Python's datetime. Run by CTest; needs only da_proto.
 */
#include "proto/siwe.h"
#include "tests/unit/check.h"

#define ADDRESS "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
#define PREAMBLE " wants you to sign in with your Ethereum account:\n"
#define SPEC_TAIL                                                      \
	"\n\nI accept the ExampleOrg Terms of Service: https://example.com/tos\n\n" \
	"URI: https://example.com/login\n"                                \
	"Version: 1\n"                                                    \
	"Chain ID: 1\n"                                                   \
	"Nonce: 32891756\n"                                               \
	"Issued At: 2021-09-30T16:25:24Z\n"                               \
	"Resources:\n"                                                    \
	"- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n" \
	"- https://example.com/my-web2-claim.json"

/* The three examples of EIP-4361 (implicit scheme, explicit port, explicit scheme). */
static const char spec_example[] = "example.com" PREAMBLE ADDRESS SPEC_TAIL;
static const char spec_example_port[] = "example.com:3388" PREAMBLE ADDRESS SPEC_TAIL;
static const char spec_example_scheme[] = "https://example.com" PREAMBLE ADDRESS SPEC_TAIL;

#define URI_LINE "URI: https://user:pw@example.com:8443/login?next=%2Fhome#top"

/* Every field; the base the negative tests break one piece of. */
static const char full[] =
	"https://example.com:8443" PREAMBLE
	ADDRESS "\n"
	"\n"
	"Sign in to Example (terms: https://example.com/tos?x=1#a) & [more]!\n"
	"\n"
	URI_LINE "\n"
	"Version: 1\n"
	"Chain ID: 137\n"
	"Nonce: abcDEF123456\n"
	"Issued At: 2021-09-30T16:25:24Z\n"
	"Expiration Time: 2021-10-01T16:25:24.5+02:00\n"
	"Not Before: 2020-02-29T23:59:59-08:00\n"
	"Request ID: req-1_~.%20:@!$&'()*+,;=\n"
	"Resources:\n"
	"- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
	"- https://example.com/my-web2-claim.json\n"
	"- urn:isbn:0451450523";

/* The least a message can be: no statement (two empty lines), no options. */
static const char minimal[] =
	"example.com" PREAMBLE
	ADDRESS "\n"
	"\n"
	"\n"
	"URI: https://example.com\n"
	"Version: 1\n"
	"Chain ID: 1\n"
	"Nonce: 12345678\n"
	"Issued At: 2021-09-30T16:25:24Z";

static struct siwe_message m;

#define PARSE(lit) siwe_parse((lit), sizeof(lit) - 1, &m)

static bool span_is(struct siwe_span s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}
#define CHECK_SPAN(s, want) CHECK(span_is((s), (want)))

/* base with its first `from` replaced by `to`, parsed into m. */
static enum siwe_error parse_replacing(const char *base, const char *from, const char *to, int line)
{
	static char buf[2 * SIWE_MAX_LEN];
	const char *at = strstr(base, from);
	size_t head, from_len = strlen(from), to_len = strlen(to);

	if (!at || strlen(base) - from_len + to_len >= sizeof(buf)) {
		fprintf(stderr, "%s:%d: test setup: \"%s\" not in the base message\n", __FILE__, line, from);
		return (enum siwe_error)-1;
	}
	head = (size_t)(at - base);
	memcpy(buf, base, head);
	memcpy(buf + head, to, to_len);
	strcpy(buf + head + to_len, at + from_len);
	return siwe_parse(buf, strlen(buf), &m);
}

static void expect_error(const char *base, const char *from, const char *to, enum siwe_error want, int line)
{
	enum siwe_error got = parse_replacing(base, from, to, line);

	if (got == want) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: replacing \"%s\" with \"%s\": got %d (%s), expected %d (%s)\n", __FILE__, line, from, to,
	    got, siwe_error_text(got), want, siwe_error_text(want));
}
/* FULL_BAD: break the full message; MINIMAL_BAD: the minimal one. */
#define FULL_BAD(from, to, err) expect_error(full, (from), (to), (err), __LINE__)
#define MINIMAL_BAD(from, to, err) expect_error(minimal, (from), (to), (err), __LINE__)
#define FULL_OK(from, to) expect_error(full, (from), (to), SIWE_OK, __LINE__)
#define MINIMAL_OK(from, to) expect_error(minimal, (from), (to), SIWE_OK, __LINE__)

static void test_spec_examples(void)
{
	CHECK_EQ_INT(PARSE(spec_example), SIWE_OK);
	CHECK_EQ_INT(m.scheme.len, 0);
	CHECK(m.scheme.ptr == NULL);
	CHECK_SPAN(m.domain, "example.com");
	CHECK_SPAN(m.address, ADDRESS);
	CHECK_EQ_INT(m.address_bytes[0], 0xc0);
	CHECK_EQ_INT(m.address_bytes[19], 0xc2);
	CHECK_SPAN(m.statement, "I accept the ExampleOrg Terms of Service: https://example.com/tos");
	CHECK_SPAN(m.uri, "https://example.com/login");
	CHECK_EQ_INT(m.chain_id, 1);
	CHECK_SPAN(m.nonce, "32891756");
	CHECK_SPAN(m.issued_at.text, "2021-09-30T16:25:24Z");
	CHECK_EQ_INT(m.issued_at.unix_seconds, 1633019124);
	CHECK(!m.has_expiration_time && !m.has_not_before && !m.has_request_id);
	CHECK(m.has_resources);
	CHECK_EQ_INT(m.resource_count, 2);
	CHECK_SPAN(m.resources[0], "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/");
	CHECK_SPAN(m.resources[1], "https://example.com/my-web2-claim.json");

	CHECK_EQ_INT(PARSE(spec_example_port), SIWE_OK);
	CHECK_SPAN(m.domain, "example.com:3388");

	CHECK_EQ_INT(PARSE(spec_example_scheme), SIWE_OK);
	CHECK_SPAN(m.scheme, "https");
	CHECK_SPAN(m.domain, "example.com");
}

static void test_every_field(void)
{
	CHECK_EQ_INT(PARSE(full), SIWE_OK);
	CHECK_SPAN(m.scheme, "https");
	CHECK_SPAN(m.domain, "example.com:8443");
	CHECK_SPAN(m.statement, "Sign in to Example (terms: https://example.com/tos?x=1#a) & [more]!");
	CHECK_SPAN(m.uri, "https://user:pw@example.com:8443/login?next=%2Fhome#top");
	CHECK_EQ_INT(m.chain_id, 137);
	CHECK_SPAN(m.nonce, "abcDEF123456");
	CHECK(m.has_expiration_time);
	CHECK_EQ_INT(m.expiration_time.unix_seconds, 1633098324);
	CHECK_EQ_INT(m.expiration_time.nanoseconds, 500000000);
	CHECK(m.has_not_before);
	CHECK_EQ_INT(m.not_before.unix_seconds, 1583049599);
	CHECK(m.has_request_id);
	CHECK_SPAN(m.request_id, "req-1_~.%20:@!$&'()*+,;=");
	CHECK_EQ_INT(m.resource_count, 3);
	CHECK_SPAN(m.resources[2], "urn:isbn:0451450523");

	CHECK_EQ_INT(PARSE(minimal), SIWE_OK);
	CHECK(m.statement.ptr == NULL && m.statement.len == 0);
	CHECK(!m.has_resources && m.resource_count == 0);
}

/* Each optional field alone, and the empty forms the ABNF allows. */
static void test_optional_fields(void)
{
	static const char issued[] = "Issued At: 2021-09-30T16:25:24Z";

	MINIMAL_OK(issued, "Issued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T16:30:00Z");
	CHECK(m.has_expiration_time && !m.has_not_before);
	MINIMAL_OK(issued, "Issued At: 2021-09-30T16:25:24Z\nNot Before: 2021-09-30T16:30:00Z");
	CHECK(m.has_not_before && !m.has_expiration_time);
	MINIMAL_OK(issued, "Issued At: 2021-09-30T16:25:24Z\nRequest ID: ");
	CHECK(m.has_request_id && m.request_id.len == 0);
	MINIMAL_OK(issued, "Issued At: 2021-09-30T16:25:24Z\nResources:");
	CHECK(m.has_resources && m.resource_count == 0);
	MINIMAL_OK(issued, "Issued At: 2021-09-30T16:25:24Z\nRequest ID: x\nResources:\n- a:");
	CHECK_EQ_INT(m.resource_count, 1);
}

static void test_domains(void)
{
	FULL_OK("https://example.com:8443 ", "example.com ");
	FULL_OK("https://example.com:8443 ", "http://localhost:3000 ");
	FULL_OK("https://example.com:8443 ", "https://user:pass@example.com ");
	CHECK_SPAN(m.domain, "user:pass@example.com");
	FULL_OK("https://example.com:8443 ", "https://[::1]:8443 ");
	FULL_OK("https://example.com:8443 ", "https://[2001:db8::ffff:192.0.2.1] ");
	FULL_OK("https://example.com:8443 ", "https://[v1.fe80::a+en1] ");
	FULL_OK("https://example.com:8443 ", "192.0.2.1:80 ");
	FULL_OK("https://example.com:8443 ", "xn--exmple-cua.example%2Dx.com ");
	FULL_OK("https://example.com:8443 ", "git+ssh.v2-x://example.com: ");	/* port = *DIGIT */
	CHECK_SPAN(m.scheme, "git+ssh.v2-x");

	FULL_BAD("https://example.com:8443 ", "1https://example.com ", SIWE_ERR_SCHEME);
	FULL_BAD("https://example.com:8443 ", "ht_tp://example.com ", SIWE_ERR_SCHEME);
	FULL_BAD("https://example.com:8443 ", "://example.com ", SIWE_ERR_SCHEME);
	FULL_BAD("https://example.com:8443 ", "https://example.com/path ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://exa mple.com ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://example.com:84a3 ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://a@b@example.com ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[::1 ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[::1]x ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[1:2:3:4:5:6:7:8:9] ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[::01.2.3.4] ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[fe80::1%25eth0] ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://[v.x] ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://exa%zzmple.com ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://ex\xc3\xa4mple.com ", SIWE_ERR_DOMAIN);
	FULL_BAD("https://example.com:8443 ", "https://example.com\\@evil.com ", SIWE_ERR_DOMAIN);
}

static void test_preamble(void)
{
	CHECK_EQ_INT(siwe_parse("", 0, &m), SIWE_ERR_PREAMBLE);
	FULL_BAD(" wants you", " Wants you", SIWE_ERR_PREAMBLE);
	FULL_BAD("Ethereum account:", "Ethereum account", SIWE_ERR_PREAMBLE);
	FULL_BAD("Ethereum account:", "Ethereum account: ", SIWE_ERR_PREAMBLE);
	FULL_BAD("sign in with", "sign  in with", SIWE_ERR_PREAMBLE);
	FULL_BAD("https://example.com:8443 wants", "wants", SIWE_ERR_PREAMBLE);
	FULL_BAD("https://example.com:8443 wants", "\nexample.com wants", SIWE_ERR_PREAMBLE);
}

static void test_address(void)
{
	FULL_BAD(ADDRESS, "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", SIWE_ERR_ADDRESS_CHECKSUM);
	FULL_BAD(ADDRESS, "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2", SIWE_ERR_ADDRESS_CHECKSUM);
	FULL_BAD(ADDRESS, "0xc02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", SIWE_ERR_ADDRESS_CHECKSUM);
	FULL_BAD(ADDRESS, "0XC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, "C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc22", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, "0xG02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, ADDRESS " ", SIWE_ERR_ADDRESS);
	FULL_BAD(ADDRESS, "vitalik.eth", SIWE_ERR_ADDRESS);
	/* An address with no letters has one spelling, which is its checksum. */
	MINIMAL_OK(ADDRESS, "0x0000000000000000000000000000000000000000");
}

static void test_blank_lines_and_statement(void)
{
	/* One empty line with no statement (what some libraries write) is not the ABNF. */
	MINIMAL_BAD(ADDRESS "\n\n\n", ADDRESS "\n\n", SIWE_ERR_BLANK_LINE);
	MINIMAL_BAD(ADDRESS "\n\n\n", ADDRESS "\n", SIWE_ERR_BLANK_LINE);
	MINIMAL_BAD(ADDRESS "\n\n\n", ADDRESS "\n\n\n\n", SIWE_ERR_URI);
	FULL_BAD("[more]!\n\n", "[more]!\n", SIWE_ERR_BLANK_LINE);
	FULL_BAD("[more]!\n", "[more]!\nsecond line\n", SIWE_ERR_BLANK_LINE);
	FULL_OK("Sign in to Example", "   Sign in to Example");	/* spaces are statement characters */
	FULL_OK("[more]!", "[more]!   ");
	FULL_BAD("Sign in", "100% sign in", SIWE_ERR_STATEMENT);
	FULL_BAD("Sign in", "\"Sign\" in", SIWE_ERR_STATEMENT);
	FULL_BAD("Sign in", "Sign\tin", SIWE_ERR_STATEMENT);
	FULL_BAD("Sign in", "Sign <b>in</b>", SIWE_ERR_STATEMENT);
	FULL_BAD("Sign in", "Sign in \xe2\x9c\x93", SIWE_ERR_STATEMENT);
	FULL_BAD("Sign in", "Sign\\in", SIWE_ERR_STATEMENT);
}

static void test_uri(void)
{

	FULL_OK(URI_LINE, "URI: urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66");
	FULL_OK(URI_LINE, "URI: mailto:a@example.com");
	FULL_OK(URI_LINE, "URI: file:///etc/hosts");
	FULL_OK(URI_LINE, "URI: did:pkh:eip155:1:" ADDRESS);
	FULL_OK(URI_LINE, "URI: a:");
	FULL_OK(URI_LINE, "URI: https://[::1]:3000/x?y=/?#/?");
	FULL_BAD(URI_LINE, "URI: /login", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: example.com/login", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: ", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI:https://example.com", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "uri: https://example.com", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/a b", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/ ", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/%zz", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/%2", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/#a#b", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://exa[mple.com/", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com:80x/", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: https://example.com/\"x\"", SIWE_ERR_URI);
	FULL_BAD(URI_LINE, "URI: 1a:b", SIWE_ERR_URI);
	FULL_BAD(URI_LINE "\n", "", SIWE_ERR_URI);	/* URI line missing */
}

static void test_version_chain_id_nonce(void)
{
	FULL_BAD("Version: 1", "Version: 2", SIWE_ERR_VERSION);
	FULL_BAD("Version: 1", "Version: 1 ", SIWE_ERR_VERSION);
	FULL_BAD("Version: 1", "Version: 01", SIWE_ERR_VERSION);
	FULL_BAD("Version: 1", "Version:1", SIWE_ERR_VERSION);
	FULL_BAD("Version: 1\n", "", SIWE_ERR_VERSION);

	FULL_OK("Chain ID: 137", "Chain ID: 18446744073709551615");
	CHECK(m.chain_id == UINT64_MAX);
	FULL_OK("Chain ID: 137", "Chain ID: 0137");	/* 1*DIGIT */
	CHECK_EQ_INT(m.chain_id, 137);
	FULL_BAD("Chain ID: 137", "Chain ID: 18446744073709551616", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain ID: ", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain ID: 1a", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain ID: -1", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain ID: 0x89", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain ID: 137 ", SIWE_ERR_CHAIN_ID);
	FULL_BAD("Chain ID: 137", "Chain Id: 137", SIWE_ERR_CHAIN_ID);
	/* Order: Nonce where Chain ID belongs. */
	FULL_BAD("Chain ID: 137\nNonce: abcDEF123456", "Nonce: abcDEF123456\nChain ID: 137", SIWE_ERR_CHAIN_ID);

	FULL_OK("Nonce: abcDEF123456", "Nonce: 12345678");
	FULL_BAD("Nonce: abcDEF123456", "Nonce: 1234567", SIWE_ERR_NONCE);
	FULL_BAD("Nonce: abcDEF123456", "Nonce: ", SIWE_ERR_NONCE);
	FULL_BAD("Nonce: abcDEF123456", "Nonce: abcd-1234", SIWE_ERR_NONCE);
	FULL_BAD("Nonce: abcDEF123456", "Nonce: abcDEF123456 ", SIWE_ERR_NONCE);
	FULL_BAD("Nonce: abcDEF123456\n", "", SIWE_ERR_NONCE);
}

/* Issued At of the minimal message replaced by `text`; its unix time. */
static void expect_time(const char *text, int64_t unix_seconds, uint32_t nanoseconds, int line)
{
	char to[128];

	snprintf(to, sizeof(to), "Issued At: %s", text);
	if (parse_replacing(minimal, "Issued At: 2021-09-30T16:25:24Z", to, line) == SIWE_OK &&
	    m.issued_at.unix_seconds == unix_seconds && m.issued_at.nanoseconds == nanoseconds &&
	    span_is(m.issued_at.text, text)) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: Issued At: %s gave %lld.%09u, expected %lld.%09u\n", __FILE__, line, text,
	    (long long)m.issued_at.unix_seconds, m.issued_at.nanoseconds, (long long)unix_seconds, nanoseconds);
}
#define TIME_IS(text, secs, nanos) expect_time((text), (secs), (nanos), __LINE__)
#define BAD_TIME(text) MINIMAL_BAD("Issued At: 2021-09-30T16:25:24Z", "Issued At: " text, SIWE_ERR_ISSUED_AT)

static void test_date_times(void)
{
	TIME_IS("1970-01-01T00:00:00Z", 0, 0);
	TIME_IS("1969-12-31T23:59:59Z", -1, 0);
	TIME_IS("2021-09-30T16:25:24z", 1633019124, 0);
	TIME_IS("2021-09-30t16:25:24Z", 1633019124, 0);
	TIME_IS("2021-09-30T18:25:24+02:00", 1633019124, 0);
	TIME_IS("2021-09-30T08:25:24-08:00", 1633019124, 0);
	TIME_IS("2021-09-30T16:25:24-00:00", 1633019124, 0);
	TIME_IS("2000-03-01T00:00:00+05:30", 951849000, 0);
	TIME_IS("2020-02-29T23:59:59-08:00", 1583049599, 0);
	TIME_IS("2016-12-31T23:59:60Z", 1483228800, 0);	/* leap second */
	TIME_IS("2021-09-30T16:25:24.1Z", 1633019124, 100000000);
	TIME_IS("2021-09-30T16:25:24.000000001Z", 1633019124, 1);
	TIME_IS("2021-09-30T16:25:24.123456789987Z", 1633019124, 123456789);
	TIME_IS("1969-12-31T23:59:59.5Z", -1, 500000000);
	TIME_IS("0000-01-01T00:00:00Z", -62167219200, 0);
	TIME_IS("9999-12-31T23:59:59Z", 253402300799, 0);
	TIME_IS("2000-02-29T00:00:00Z", 951782400, 0);

	BAD_TIME("2021-02-29T00:00:00Z");	/* not a leap year */
	BAD_TIME("1900-02-29T00:00:00Z");
	BAD_TIME("2021-04-31T00:00:00Z");
	BAD_TIME("2021-13-01T00:00:00Z");
	BAD_TIME("2021-00-01T00:00:00Z");
	BAD_TIME("2021-01-00T00:00:00Z");
	BAD_TIME("2021-01-01T24:00:00Z");
	BAD_TIME("2021-01-01T00:60:00Z");
	BAD_TIME("2021-01-01T00:00:61Z");
	BAD_TIME("2021-01-01 00:00:00Z");
	BAD_TIME("2021-01-01T00:00:00");
	BAD_TIME("2021-01-01T00:00:00+0100");
	BAD_TIME("2021-01-01T00:00:00+24:00");
	BAD_TIME("2021-01-01T00:00:00+01:60");
	BAD_TIME("2021-01-01T00:00:00.Z");
	BAD_TIME("2021-01-01T00:00:00,5Z");
	BAD_TIME("2021-01-01T00:00:00Z ");
	BAD_TIME("2021-01-01T00:00:00ZZ");
	BAD_TIME("2021-1-01T00:00:00Z");
	BAD_TIME("21-01-01T00:00:00Z");
	BAD_TIME("+2021-01-01T00:00:00Z");
	BAD_TIME("2021-01-01");
	BAD_TIME("1633019124");
	BAD_TIME("");
	MINIMAL_BAD("Issued At", "Issued at", SIWE_ERR_ISSUED_AT);
	MINIMAL_BAD("\nIssued At: 2021-09-30T16:25:24Z", "", SIWE_ERR_ISSUED_AT);

	FULL_BAD("Expiration Time: 2021-10-01T16:25:24.5+02:00", "Expiration Time: 2021-10-01", SIWE_ERR_EXPIRATION_TIME);
	FULL_BAD("Expiration Time: 2021-10-01T16:25:24.5+02:00", "Expiration Time: ", SIWE_ERR_EXPIRATION_TIME);
	FULL_BAD("Not Before: 2020-02-29T23:59:59-08:00", "Not Before: 2020-02-30T23:59:59-08:00", SIWE_ERR_NOT_BEFORE);
}

static void test_request_id_and_resources(void)
{
	static const char id[] = "Request ID: req-1_~.%20:@!$&'()*+,;=";

	FULL_BAD(id, "Request ID: a b", SIWE_ERR_REQUEST_ID);
	FULL_BAD(id, "Request ID: a/b", SIWE_ERR_REQUEST_ID);
	FULL_BAD(id, "Request ID: a%2", SIWE_ERR_REQUEST_ID);
	FULL_BAD(id, "Request ID: a?b", SIWE_ERR_REQUEST_ID);

	FULL_BAD("- urn:isbn:0451450523", "-urn:isbn:0451450523", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "-  urn:isbn:0451450523", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- not a uri", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- /relative", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- urn:isbn:0451450523\n", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- urn:isbn:0451450523\n\n- a:b", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- urn:isbn:0451450523 ", SIWE_ERR_RESOURCE);
	FULL_BAD("- urn:isbn:0451450523", "- ", SIWE_ERR_RESOURCE);
	FULL_BAD("Resources:", "Resources: ", SIWE_ERR_UNEXPECTED_LINE);
	FULL_BAD("Resources:", "resources:", SIWE_ERR_UNEXPECTED_LINE);
}

static void test_resource_limit(void)
{
	char msg[SIWE_MAX_LEN];
	size_t len = sizeof(minimal) - 1;

	memcpy(msg, minimal, len);
	len += (size_t)sprintf(msg + len, "\nResources:");
	for (int i = 0; i < SIWE_MAX_RESOURCES; i++)
		len += (size_t)sprintf(msg + len, "\n- https://example.com/%d", i);
	CHECK_EQ_INT(siwe_parse(msg, len, &m), SIWE_OK);
	CHECK_EQ_INT(m.resource_count, SIWE_MAX_RESOURCES);
	CHECK_SPAN(m.resources[SIWE_MAX_RESOURCES - 1], "https://example.com/31");
	len += (size_t)sprintf(msg + len, "\n- https://example.com/one-too-many");
	CHECK_EQ_INT(siwe_parse(msg, len, &m), SIWE_ERR_TOO_MANY_RESOURCES);
}

/* Fields out of order, unknown fields, and what may not trail the message. */
static void test_structure(void)
{
	FULL_OK("Not Before: 2020-02-29T23:59:59-08:00\n", "");
	FULL_BAD("Expiration Time: 2021-10-01T16:25:24.5+02:00\nNot Before: 2020-02-29T23:59:59-08:00",
	    "Not Before: 2020-02-29T23:59:59-08:00\nExpiration Time: 2021-10-01T16:25:24.5+02:00",
	    SIWE_ERR_UNEXPECTED_LINE);
	FULL_BAD("Request ID", "Request Id", SIWE_ERR_UNEXPECTED_LINE);
	FULL_BAD("Resources:\n", "Foo: bar\nResources:\n", SIWE_ERR_UNEXPECTED_LINE);
	FULL_BAD("Resources:", "Resources:\nRequest ID: x\nResources:", SIWE_ERR_RESOURCE);
	MINIMAL_BAD("16:25:24Z", "16:25:24Z\n", SIWE_ERR_UNEXPECTED_LINE);
	MINIMAL_BAD("16:25:24Z", "16:25:24Z\nExpiration Time: 2021-09-30T16:30:00Z\n", SIWE_ERR_UNEXPECTED_LINE);
	MINIMAL_BAD("16:25:24Z", "16:25:24Z\n\n", SIWE_ERR_UNEXPECTED_LINE);
	MINIMAL_BAD("16:25:24Z", "16:25:24Z\nIssued At: 2021-09-30T16:25:24Z", SIWE_ERR_UNEXPECTED_LINE);
	/* CRLF anywhere. */
	MINIMAL_BAD("Version: 1\n", "Version: 1\r\n", SIWE_ERR_CARRIAGE_RETURN);
	MINIMAL_BAD("16:25:24Z", "16:25:24Z\r", SIWE_ERR_CARRIAGE_RETURN);
	/* A NUL byte is no field's character. */
	CHECK_EQ_INT(siwe_parse("example.com\0" PREAMBLE, sizeof("example.com\0" PREAMBLE) - 1, &m), SIWE_ERR_DOMAIN);
}

static void test_size_limit(void)
{
	static char msg[SIWE_MAX_LEN + 2];
	size_t head = sizeof(minimal) - 1;

	/* A long Request ID brings the message to exactly the limit, then one over. */
	memcpy(msg, minimal, head);
	memcpy(msg + head, "\nRequest ID: ", 13);
	memset(msg + head + 13, 'a', SIWE_MAX_LEN - head - 13);
	CHECK_EQ_INT(siwe_parse(msg, SIWE_MAX_LEN, &m), SIWE_OK);
	msg[SIWE_MAX_LEN] = 'a';
	CHECK_EQ_INT(siwe_parse(msg, SIWE_MAX_LEN + 1, &m), SIWE_ERR_TOO_LONG);
}

static void test_error_output_is_cleared(void)
{
	CHECK_EQ_INT(PARSE(full), SIWE_OK);
	FULL_BAD("- urn:isbn:0451450523", "- x", SIWE_ERR_RESOURCE);
	CHECK(m.domain.ptr == NULL && m.resource_count == 0 && m.chain_id == 0 && !m.has_resources);
}

static void test_error_texts(void)
{
	CHECK_EQ_STR(siwe_error_text(SIWE_ERR_VERSION), "expected 'Version: 1'");
	CHECK(strstr(siwe_error_text(SIWE_ERR_ADDRESS_CHECKSUM), "address checksum mismatch") != NULL);
	for (int e = SIWE_OK; e <= SIWE_ERR_UNEXPECTED_LINE; e++)
		CHECK(strcmp(siwe_error_text((enum siwe_error)e), "unknown error") != 0);
	CHECK_EQ_STR(siwe_error_text((enum siwe_error)999), "unknown error");
}

int main(void)
{
	test_spec_examples();
	test_every_field();
	test_optional_fields();
	test_domains();
	test_preamble();
	test_address();
	test_blank_lines_and_statement();
	test_uri();
	test_version_chain_id_nonce();
	test_date_times();
	test_request_id_and_resources();
	test_resource_limit();
	test_structure();
	test_size_limit();
	test_error_output_is_cleared();
	test_error_texts();
	return CHECK_DONE();
}
