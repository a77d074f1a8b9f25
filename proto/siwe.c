/*
 * EIP-4361 message parser: the message is cut into LF-separated lines, and
 * each line is matched against its rule of the ABNF in order. The RFC 3986
 * (authority, URI, pchar) and RFC 3339 (date-time) rules it refers to are
 * here too, as static helpers. Called through siwe_parse by the SIWE sign-in
 * handler (issue 14) and fuzz/fuzz_siwe.c.
 */
#include "proto/siwe.h"

#include "proto/hex.h"

#include <arpa/inet.h>
#include <string.h>

/* ---- character classes (RFC 3986 §2, RFC 5234 core rules) ---- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_one_of(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static bool is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || is_one_of(c, "-._~");
}

static bool is_sub_delim(unsigned char c)
{
	return is_one_of(c, "!$&'()*+,;=");
}

static bool is_gen_delim(unsigned char c)
{
	return is_one_of(c, ":/?#[]@");
}

static bool is_userinfo_char(unsigned char c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':';
}

static bool is_reg_name_char(unsigned char c)
{
	return is_unreserved(c) || is_sub_delim(c);
}

static bool is_pchar(unsigned char c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

static bool is_path_char(unsigned char c)
{
	return is_pchar(c) || c == '/';
}

static bool is_query_char(unsigned char c)
{
	return is_pchar(c) || c == '/' || c == '?';
}

static bool is_statement_char(unsigned char c)
{
	return is_unreserved(c) || is_sub_delim(c) || is_gen_delim(c) || c == ' ';
}

static bool is_scheme_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || is_one_of(c, "+-.");
}

/* Every byte of [p, end) is in the class; with percent_ok, "%" HEXDIG HEXDIG
 * (pct-encoded) also counts. */
static bool all_chars(const char *p, const char *end, bool (*in_class)(unsigned char), bool percent_ok)
{
	while (p < end) {
		if (percent_ok && *p == '%') {
			if (end - p < 3 || hex_value((unsigned char)p[1]) < 0 || hex_value((unsigned char)p[2]) < 0)
				return false;
			p += 3;
		} else if (!in_class((unsigned char)*p++)) {
			return false;
		}
	}
	return true;
}

/* ---- RFC 3986 syntax ---- */

static bool scheme_valid(const char *p, const char *end)
{
	return p < end && is_alpha((unsigned char)*p) && all_chars(p + 1, end, is_scheme_char, false);
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
static bool ipvfuture_valid(const char *p, const char *end)
{
	const char *dot = memchr(p, '.', (size_t)(end - p));

	if (!dot || dot - p < 2 || (*p != 'v' && *p != 'V') || dot + 1 == end)
		return false;
	for (const char *h = p + 1; h < dot; h++)
		if (hex_value((unsigned char)*h) < 0)
			return false;
	return all_chars(dot + 1, end, is_userinfo_char, false);
}

/* The inside of "[...]": an IPv6 address (inet_pton's syntax is RFC 3986's:
 * 1-4 hex digits per group, one "::", a dotted-quad tail without leading
 * zeros) or an IPvFuture. */
static bool ip_literal_valid(const char *p, const char *end)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr ignored;

	if (p < end && (*p == 'v' || *p == 'V'))
		return ipvfuture_valid(p, end);
	if (end - p >= (ptrdiff_t)sizeof(text))
		return false;
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	return inet_pton(AF_INET6, text, &ignored) == 1;
}

/* authority = [ userinfo "@" ] host [ ":" port ]. Neither userinfo nor host
 * may contain '@', nor a reg-name ':', so the first of each splits. An
 * IPv4address is a reg-name as far as syntax goes. */
static bool authority_valid(const char *p, const char *end)
{
	const char *at = memchr(p, '@', (size_t)(end - p));
	const char *host_end;

	if (at) {
		if (!all_chars(p, at, is_userinfo_char, true))
			return false;
		p = at + 1;
	}
	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close || !ip_literal_valid(p + 1, close))
			return false;
		host_end = close + 1;
	} else {
		host_end = memchr(p, ':', (size_t)(end - p));
		if (!host_end)
			host_end = end;
		if (!all_chars(p, host_end, is_reg_name_char, true))
			return false;
	}
	if (host_end == end)
		return true;
	return *host_end == ':' && all_chars(host_end + 1, end, is_digit, false);
}

/* URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]. The first ':'
 * ends the scheme, the first '#' starts the fragment, the first '?' before
 * it the query; "//" opens an authority that ends at the next '/'. Without
 * one, path-absolute / path-rootless / path-empty together are any run of
 * pchar and '/' not starting with "//". */
static bool uri_valid(struct siwe_span s)
{
	const char *p = s.ptr, *end = s.ptr + s.len;
	const char *colon = memchr(p, ':', s.len);
	const char *hash, *question;

	if (!colon || !scheme_valid(p, colon))
		return false;
	p = colon + 1;
	hash = memchr(p, '#', (size_t)(end - p));
	if (hash) {
		if (!all_chars(hash + 1, end, is_query_char, true))
			return false;
		end = hash;
	}
	question = memchr(p, '?', (size_t)(end - p));
	if (question) {
		if (!all_chars(question + 1, end, is_query_char, true))
			return false;
		end = question;
	}
	if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
		const char *authority_end = memchr(p + 2, '/', (size_t)(end - p - 2));

		if (!authority_end)
			authority_end = end;
		if (!authority_valid(p + 2, authority_end))
			return false;
		p = authority_end;
	}
	return all_chars(p, end, is_path_char, true);
}

/* ---- RFC 3339 date-time ---- */

struct text_cursor {
	const char *p, *end;
};

static bool take_char(struct text_cursor *c, char upper, char lower)
{
	if (c->p == c->end || (*c->p != upper && *c->p != lower))
		return false;
	c->p++;
	return true;
}

/* Exactly `digits` decimal digits with a value in [min, max]. */
static bool take_number(struct text_cursor *c, int digits, int min, int max, int *out)
{
	int value = 0;

	if (c->end - c->p < digits)
		return false;
	for (int i = 0; i < digits; i++, c->p++) {
		if (!is_digit((unsigned char)*c->p))
			return false;
		value = value * 10 + (*c->p - '0');
	}
	*out = value;
	return value >= min && value <= max;
}

static bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Days from 0001-01-01 to January 1st of year (year >= 1). */
static int64_t days_before_year(int64_t year)
{
	year -= 1;
	return 365 * year + year / 4 - year / 100 + year / 400;
}

static int64_t days_since_unix_epoch(int year, int month, int day)
{
	static const int before_month[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	/* Both years moved 400 on (146097 days, a whole Gregorian cycle) so year
	 * 0000 stays in days_before_year's domain; the difference is unchanged. */
	int64_t days = days_before_year(year + 400) - days_before_year(1970 + 400);

	return days + before_month[month - 1] + (month > 2 && is_leap_year(year)) + day - 1;
}

/* time-secfrac = "." 1*DIGIT; the first nine digits give nanoseconds. */
static bool take_fraction(struct text_cursor *c, uint32_t *nanoseconds)
{
	uint32_t scale = 100000000;
	const char *start;

	*nanoseconds = 0;
	if (!take_char(c, '.', '.'))
		return true;
	for (start = c->p; c->p < c->end && is_digit((unsigned char)*c->p); c->p++, scale /= 10)
		*nanoseconds += (uint32_t)(*c->p - '0') * scale;
	return c->p > start;
}

/* time-offset = "Z" / ( "+" / "-" ) time-hour ":" time-minute, in seconds east of UTC. */
static bool take_offset(struct text_cursor *c, int *seconds_east)
{
	int sign, hour, minute;

	*seconds_east = 0;
	if (take_char(c, 'Z', 'z'))
		return true;
	if (take_char(c, '+', '+'))
		sign = 1;
	else if (take_char(c, '-', '-'))
		sign = -1;
	else
		return false;
	if (!take_number(c, 2, 0, 23, &hour) || !take_char(c, ':', ':') || !take_number(c, 2, 0, 59, &minute))
		return false;
	*seconds_east = sign * (hour * 3600 + minute * 60);
	return true;
}

/* full-date "T" partial-time time-offset; 'T' and 'Z' in either case (RFC 3339 §5.6). */
static bool parse_date_time(struct siwe_span s, struct siwe_time *out)
{
	struct text_cursor c = { s.ptr, s.ptr + s.len };
	int year, month, day, hour, minute, second, offset;

	if (!take_number(&c, 4, 0, 9999, &year) || !take_char(&c, '-', '-') ||
	    !take_number(&c, 2, 1, 12, &month) || !take_char(&c, '-', '-'))
		return false;
	if (!take_number(&c, 2, 1, days_in_month(year, month), &day) || !take_char(&c, 'T', 't') ||
	    !take_number(&c, 2, 0, 23, &hour) || !take_char(&c, ':', ':') ||
	    !take_number(&c, 2, 0, 59, &minute) || !take_char(&c, ':', ':') ||
	    !take_number(&c, 2, 0, 60, &second) || !take_fraction(&c, &out->nanoseconds) ||
	    !take_offset(&c, &offset) || c.p != c.end)
		return false;
	out->text = s;
	out->unix_seconds = days_since_unix_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
	    offset;
	return true;
}

/* ---- the other EIP-4361 value rules ---- */

static bool is_alphanumeric(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* chain-id = 1*DIGIT, here also below 2^64. */
static bool parse_chain_id(struct siwe_span s, uint64_t *out)
{
	uint64_t value = 0;

	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned digit = (unsigned char)s.ptr[i] - '0';

		if (digit > 9 || value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*out = value;
	return true;
}

/* nonce = 8*( ALPHA / DIGIT ) */
static bool nonce_valid(struct siwe_span s)
{
	return s.len >= 8 && all_chars(s.ptr, s.ptr + s.len, is_alphanumeric, false);
}

/* ---- lines ---- */

struct lines {
	const char *next, *end;
	bool done;
};

/* The next LF-terminated line, or the unterminated last one; false when the
 * message is used up. A message ending in LF thus has a final empty line. */
static bool next_line(struct lines *l, struct siwe_span *line)
{
	const char *lf;

	if (l->done)
		return false;
	lf = memchr(l->next, '\n', (size_t)(l->end - l->next));
	line->ptr = l->next;
	if (lf) {
		line->len = (size_t)(lf - l->next);
		l->next = lf + 1;
	} else {
		line->len = (size_t)(l->end - l->next);
		l->done = true;
	}
	return true;
}

static bool next_line_is_blank(struct lines *l)
{
	struct siwe_span line;

	return next_line(l, &line) && line.len == 0;
}

/* line starts with label (case-sensitive, as the ABNF's %s): value is the rest. */
static bool strip_label(struct siwe_span line, const char *label, struct siwe_span *value)
{
	size_t n = strlen(label);

	if (line.len < n || memcmp(line.ptr, label, n) != 0)
		return false;
	value->ptr = line.ptr + n;
	value->len = line.len - n;
	return true;
}

static bool next_field(struct lines *l, const char *label, struct siwe_span *value)
{
	struct siwe_span line;

	return next_line(l, &line) && strip_label(line, label, value);
}

/* Like next_field, but leaves the line unread when the label differs. */
static bool optional_field(struct lines *l, const char *label, struct siwe_span *value)
{
	struct lines before = *l;

	if (next_field(l, label, value))
		return true;
	*l = before;
	return false;
}

/* ---- the message, top to bottom ---- */

static const char preamble_end[] = " wants you to sign in with your Ethereum account:";

/* [ scheme "://" ] domain: a domain holds no '/', so any "://" ends a scheme. */
static enum siwe_error split_scheme_and_domain(struct siwe_span prefix, struct siwe_message *out)
{
	const char *end = prefix.ptr + prefix.len;

	out->domain = prefix;
	for (const char *p = prefix.ptr; end - p >= 3; p++) {
		if (memcmp(p, "://", 3) == 0) {
			if (!scheme_valid(prefix.ptr, p))
				return SIWE_ERR_SCHEME;
			out->scheme = (struct siwe_span){ prefix.ptr, (size_t)(p - prefix.ptr) };
			out->domain = (struct siwe_span){ p + 3, (size_t)(end - p - 3) };
			break;
		}
	}
	if (!authority_valid(out->domain.ptr, out->domain.ptr + out->domain.len))
		return SIWE_ERR_DOMAIN;
	return SIWE_OK;
}

static enum siwe_error parse_preamble(struct lines *l, struct siwe_message *out)
{
	size_t n = sizeof(preamble_end) - 1;
	struct siwe_span line;

	if (!next_line(l, &line) || line.len < n || memcmp(line.ptr + line.len - n, preamble_end, n) != 0)
		return SIWE_ERR_PREAMBLE;
	line.len -= n;
	return split_scheme_and_domain(line, out);
}

/* address LF LF */
static enum siwe_error parse_address(struct lines *l, struct siwe_message *out)
{
	struct siwe_span line;

	if (!next_line(l, &line) || !eth_address_decode(line.ptr, line.len, out->address_bytes))
		return SIWE_ERR_ADDRESS;
	if (!eth_address_checksum_ok(line.ptr, line.len))
		return SIWE_ERR_ADDRESS_CHECKSUM;
	out->address = line;
	return next_line_is_blank(l) ? SIWE_OK : SIWE_ERR_BLANK_LINE;
}

/* [ statement LF ] LF. An empty statement reads the same as none. */
static enum siwe_error parse_statement(struct lines *l, struct siwe_message *out)
{
	struct siwe_span line;

	if (!next_line(l, &line))
		return SIWE_ERR_BLANK_LINE;
	if (line.len == 0)
		return SIWE_OK;
	if (!all_chars(line.ptr, line.ptr + line.len, is_statement_char, false))
		return SIWE_ERR_STATEMENT;
	out->statement = line;
	return next_line_is_blank(l) ? SIWE_OK : SIWE_ERR_BLANK_LINE;
}

static enum siwe_error parse_required_fields(struct lines *l, struct siwe_message *out)
{
	struct siwe_span value;

	if (!next_field(l, "URI: ", &value) || !uri_valid(value))
		return SIWE_ERR_URI;
	out->uri = value;
	if (!next_field(l, "Version: ", &value) || value.len != 1 || value.ptr[0] != '1')
		return SIWE_ERR_VERSION;
	if (!next_field(l, "Chain ID: ", &value) || !parse_chain_id(value, &out->chain_id))
		return SIWE_ERR_CHAIN_ID;
	if (!next_field(l, "Nonce: ", &value) || !nonce_valid(value))
		return SIWE_ERR_NONCE;
	out->nonce = value;
	if (!next_field(l, "Issued At: ", &value) || !parse_date_time(value, &out->issued_at))
		return SIWE_ERR_ISSUED_AT;
	return SIWE_OK;
}

/* resources = *( LF "- " URI ): every line left must be one. */
static enum siwe_error parse_resources(struct lines *l, struct siwe_message *out)
{
	struct siwe_span line, uri;

	out->has_resources = true;
	while (next_line(l, &line)) {
		if (!strip_label(line, "- ", &uri) || !uri_valid(uri))
			return SIWE_ERR_RESOURCE;
		if (out->resource_count == SIWE_MAX_RESOURCES)
			return SIWE_ERR_TOO_MANY_RESOURCES;
		out->resources[out->resource_count++] = uri;
	}
	return SIWE_OK;
}

static enum siwe_error parse_optional_fields(struct lines *l, struct siwe_message *out)
{
	struct siwe_span value, line;

	if (optional_field(l, "Expiration Time: ", &value)) {
		if (!parse_date_time(value, &out->expiration_time))
			return SIWE_ERR_EXPIRATION_TIME;
		out->has_expiration_time = true;
	}
	if (optional_field(l, "Not Before: ", &value)) {
		if (!parse_date_time(value, &out->not_before))
			return SIWE_ERR_NOT_BEFORE;
		out->has_not_before = true;
	}
	if (optional_field(l, "Request ID: ", &value)) {
		if (!all_chars(value.ptr, value.ptr + value.len, is_pchar, true))
			return SIWE_ERR_REQUEST_ID;
		out->request_id = value;
		out->has_request_id = true;
	}
	if (optional_field(l, "Resources:", &value))
		return value.len == 0 ? parse_resources(l, out) : SIWE_ERR_UNEXPECTED_LINE;
	return next_line(l, &line) ? SIWE_ERR_UNEXPECTED_LINE : SIWE_OK;
}

static enum siwe_error parse_lines(const char *msg, size_t len, struct siwe_message *out)
{
	struct lines l = { msg, msg + len, false };
	enum siwe_error err;

	if ((err = parse_preamble(&l, out)) || (err = parse_address(&l, out)) || (err = parse_statement(&l, out)) ||
	    (err = parse_required_fields(&l, out)))
		return err;
	return parse_optional_fields(&l, out);
}

enum siwe_error siwe_parse(const char *msg, size_t len, struct siwe_message *out)
{
	enum siwe_error err;

	memset(out, 0, sizeof(*out));
	if (len > SIWE_MAX_LEN)
		return SIWE_ERR_TOO_LONG;
	if (len == 0)
		return SIWE_ERR_PREAMBLE;
	if (memchr(msg, '\r', len))
		return SIWE_ERR_CARRIAGE_RETURN;
	err = parse_lines(msg, len, out);
	if (err != SIWE_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

_Static_assert(SIWE_MAX_LEN == 8192 && SIWE_MAX_RESOURCES == 32, "update the limits in siwe_error_text");

const char *siwe_error_text(enum siwe_error err)
{
	switch (err) {
	case SIWE_OK: return "ok";
	case SIWE_ERR_TOO_LONG: return "message longer than 8192 bytes";
	case SIWE_ERR_CARRIAGE_RETURN: return "carriage return in message (lines must end with LF only)";
	case SIWE_ERR_PREAMBLE: return "expected '<domain> wants you to sign in with your Ethereum account:'";
	case SIWE_ERR_SCHEME: return "the scheme before '://' is not an RFC 3986 scheme";
	case SIWE_ERR_DOMAIN: return "the domain is not an RFC 3986 authority ([userinfo@]host[:port])";
	case SIWE_ERR_ADDRESS: return "expected an address: '0x' and 40 hex digits";
	case SIWE_ERR_ADDRESS_CHECKSUM: return "address checksum mismatch (expected its EIP-55 mixed-case spelling)";
	case SIWE_ERR_BLANK_LINE:
		return "expected an empty line (after the address and after the statement; two with no statement)";
	case SIWE_ERR_STATEMENT: return "the statement has a character that is not allowed (RFC 3986 reserved, "
	    "unreserved or space only)";
	case SIWE_ERR_URI: return "expected 'URI: ' and an RFC 3986 URI";
	case SIWE_ERR_VERSION: return "expected 'Version: 1'";
	case SIWE_ERR_CHAIN_ID: return "expected 'Chain ID: ' and a decimal number below 2^64";
	case SIWE_ERR_NONCE: return "expected 'Nonce: ' and at least 8 letters or digits";
	case SIWE_ERR_ISSUED_AT: return "expected 'Issued At: ' and an RFC 3339 date-time";
	case SIWE_ERR_EXPIRATION_TIME: return "'Expiration Time' is not an RFC 3339 date-time";
	case SIWE_ERR_NOT_BEFORE: return "'Not Before' is not an RFC 3339 date-time";
	case SIWE_ERR_REQUEST_ID: return "'Request ID' has a character that is not an RFC 3986 pchar";
	case SIWE_ERR_RESOURCE: return "expected a resource: '- ' and an RFC 3986 URI";
	case SIWE_ERR_TOO_MANY_RESOURCES: return "more than 32 resources";
	case SIWE_ERR_UNEXPECTED_LINE:
		return "unexpected text after the last field (unknown, misspelt or out-of-order field, trailing space, "
		    "or a line break at the end)";
	}
	return "unknown error";
}
