/*
 * Strict HTTP/1.1 request-head parser and chunked body decoder (RFC 9110,
 * RFC 9112). One pass over the caller's buffer, no allocation, no state
 * outside the arguments: the caller re-runs it on the grown buffer until it
 * stops answering HTTP_PARSE_INCOMPLETE. Anything two HTTP implementations
 * could frame differently is refused, see http_request.h.
 */
#include "proto/http_request.h"
#include "proto/hex.h"
#include <string.h>

enum {
	CLASS_TOKEN = 1,	/* tchar, RFC 9110 5.6.2 */
	CLASS_TARGET = 2,	/* visible ASCII except '#': no fragment on the wire */
	CLASS_VALUE = 4,	/* field-vchar, SP, HTAB, obs-text */
	CLASS_HOST = 8,		/* reg-name, IP literal, port */
};

static const uint8_t char_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 15, 6, 5, 15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 6,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 14, 6, 14, 6, 6,
	6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 6, 14, 7, 15,
	7, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 7, 6, 15, 0,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};


/* Chunked decoder bounds: chunk extensions are never used by dreamauth, so
 * only a short one is tolerated; trailers are read and dropped. */
#define CHUNK_SIZE_MAX_DIGITS 16
#define CHUNK_LINE_MAX 256
#define CHUNK_TRAILERS_MAX 8192

static inline bool is_class(unsigned char c, unsigned class)
{
	return (char_class[c] & class) != 0;
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive compare against a lowercase literal of the same length. */
static bool caseeq_lower(const char *s, const char *lit, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

bool http_str_eq(struct http_str s, const char *lit)
{
	size_t len = strlen(lit);
	return s.len == len && (len == 0 || memcmp(s.p, lit, len) == 0);
}

bool http_str_caseeq(struct http_str s, const char *lit)
{
	size_t len = strlen(lit);
	if (s.len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

const struct http_str *http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (http_str_caseeq(req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

/* SWAR helpers: eight bytes at a time through the long header values
 * (cookies) that dominate a forward-auth request. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Non-zero when some byte of x is below 0x20 or equals 0x7f, i.e. when the
 * eight bytes might hold a CTL (HTAB included: the slow path sorts it out). */
static inline uint64_t may_hold_ctl(uint64_t x)
{
	uint64_t below_space = (x - ONES * 0x20) & ~x & HIGHS;
	uint64_t del = x ^ (ONES * 0x7f);
	uint64_t is_del = (del - ONES) & ~del & HIGHS;
	return below_space | is_del;
}

/* Connection: token *( SP* "," SP* token ). Empty elements and HTAB between
 * elements are legal (RFC 9110 5.6.1) but http-parser then misses a "close",
 * so they are refused. Sets the close / keep-alive flags; false if malformed. */
static bool parse_connection(const char *p, const char *end, bool *close, bool *keep_alive)
{
	for (;;) {
		const char *token = p;
		while (p < end && is_class((unsigned char)*p, CLASS_TOKEN))
			p++;
		size_t len = (size_t)(p - token);
		if (len == 0)
			return false;
		if (len == 5 && caseeq_lower(token, "close", 5))
			*close = true;
		else if (len == 10 && caseeq_lower(token, "keep-alive", 10))
			*keep_alive = true;
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return true;
		if (*p++ != ',')
			return false;
		while (p < end && *p == ' ')
			p++;
	}
}

enum te_kind { TE_CHUNKED, TE_UNSUPPORTED, TE_INVALID };

/* Transfer-Encoding: only a lone "chunked" is served. A well-formed list of
 * other codings is 501; chunked anywhere but alone (repeated, not last,
 * empty elements, parameters) is 400 because the framing is ambiguous. */
static enum te_kind classify_transfer_encoding(const char *p, const char *end)
{
	size_t elements = 0;
	bool chunked_seen = false, chunked_last = false;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *token = p;
		while (p < end && is_class((unsigned char)*p, CLASS_TOKEN))
			p++;
		size_t len = (size_t)(p - token);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (len == 0 || (p < end && *p != ','))
			return TE_INVALID;
		elements++;
		chunked_last = len == 7 && caseeq_lower(token, "chunked", 7);
		if (chunked_last) {
			if (chunked_seen)
				return TE_INVALID;
			chunked_seen = true;
		}
		if (p == end)
			break;
		p++;
	}
	if (chunked_seen && elements == 1)
		return TE_CHUNKED;
	if (chunked_seen && !chunked_last)
		return TE_INVALID;
	return TE_UNSUPPORTED;
}

static enum http_method method_of(const char *p, size_t len)
{
	switch (len) {
	case 3:
		if (memcmp(p, "GET", 3) == 0) return HTTP_METHOD_GET;
		if (memcmp(p, "PUT", 3) == 0) return HTTP_METHOD_PUT;
		break;
	case 4:
		if (memcmp(p, "HEAD", 4) == 0) return HTTP_METHOD_HEAD;
		if (memcmp(p, "POST", 4) == 0) return HTTP_METHOD_POST;
		break;
	case 5:
		if (memcmp(p, "PATCH", 5) == 0) return HTTP_METHOD_PATCH;
		break;
	case 6:
		if (memcmp(p, "DELETE", 6) == 0) return HTTP_METHOD_DELETE;
		break;
	case 7:
		if (memcmp(p, "OPTIONS", 7) == 0) return HTTP_METHOD_OPTIONS;
		break;
	}
	return HTTP_METHOD_OTHER;	/* methods are case-sensitive: "get" is OTHER */
}

#define FAIL(code) do { *status = (code); return HTTP_PARSE_ERROR; } while (0)
/* Out of bytes before CRLFCRLF: wait for more, unless max_head is already
 * in the buffer, in which case the head is too large. */
#define NEED_MORE() do {						\
	if (buf_len >= limits->max_head) FAIL(431);			\
	return HTTP_PARSE_INCOMPLETE;					\
} while (0)

enum http_parse_result http_request_parse(const char *buf, size_t buf_len,
    const struct http_limits *limits, struct http_request *req, int *status)
{
	const char *p = buf;
	const char *const end = buf + (buf_len < limits->max_head ? buf_len : limits->max_head);
	size_t max_headers = limits->max_headers < HTTP_MAX_HEADERS ? limits->max_headers : HTTP_MAX_HEADERS;
	unsigned char c;

	*status = 0;
	/* Only the scalar fields: clearing all headers would cost more than parsing. */
	req->n_headers = 0;
	req->head_len = 0;
	req->has_content_length = false;
	req->content_length = 0;
	req->chunked = false;
	req->keep_alive = false;
	req->expect_continue = false;
	req->query.p = NULL;
	req->query.len = 0;

	for (int empty = 0; p < end && (*p == '\r' || *p == '\n'); empty++) {
		if (*p == '\n' || empty == HTTP_MAX_LEADING_EMPTY_LINES)
			FAIL(400);
		if (p + 1 == end)
			NEED_MORE();
		if (p[1] != '\n')
			FAIL(400);
		p += 2;
	}

	/* method SP */
	const char *method = p;
	while (p < end && is_class((unsigned char)*p, CLASS_TOKEN))
		p++;
	if (p == end)
		NEED_MORE();
	if (*p != ' ' || p == method)
		FAIL(400);
	req->method_str.p = method;
	req->method_str.len = (size_t)(p - method);
	req->method = method_of(method, req->method_str.len);
	p++;

	/* request-target SP. The length check sits inside the loop so a huge
	 * target is refused with 414 before the whole of it arrives. */
	const char *target = p;
	const char *question = NULL;
	size_t room = (size_t)(end - target);
	const char *target_stop = room > limits->max_target ? target + limits->max_target + 1 : end;
	for (;;) {
		if (p == target_stop) {
			if ((size_t)(p - target) > limits->max_target)
				FAIL(414);
			NEED_MORE();
		}
		c = (unsigned char)*p;
		if (!is_class(c, CLASS_TARGET))
			break;
		if (c == '?' && question == NULL)
			question = p;
		p++;
	}
	if (c != ' ' || p == target)
		FAIL(400);	/* CTL, non-ASCII, '#', or HTTP/0.9 "GET /\r\n" */
	req->target.p = target;
	req->target.len = (size_t)(p - target);
	if (*target == '/') {
		/* origin-form */
	} else if (req->target.len == 1 && *target == '*' && req->method == HTTP_METHOD_OPTIONS) {
		/* asterisk-form */
	} else {
		FAIL(400);	/* absolute-form and authority-form are not served here */
	}
	req->path.p = target;
	if (question) {
		req->path.len = (size_t)(question - target);
		req->query.p = question + 1;
		req->query.len = (size_t)(p - question - 1);
	} else {
		req->path.len = req->target.len;
	}
	p++;

	/* HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT, compared as far as it has arrived. */
	static const char version_prefix[] = "HTTP/";
	for (size_t i = 0; i < sizeof version_prefix - 1; i++, p++) {
		if (p == end)
			NEED_MORE();
		if (*p != version_prefix[i])
			FAIL(400);
	}
	if (end - p < 5) {
		/* partial: refuse early what can no longer become a version */
		static const char shape[] = "0.0\r\n";
		for (size_t i = 0; p + i < end; i++) {
			c = (unsigned char)p[i];
			bool fits = shape[i] == '0' ? (c >= '0' && c <= '9') : c == (unsigned char)shape[i];
			if (!fits)
				FAIL(400);
		}
		NEED_MORE();
	}
	if (p[0] < '0' || p[0] > '9' || p[1] != '.' || p[2] < '0' || p[2] > '9' || p[3] != '\r' || p[4] != '\n')
		FAIL(400);
	if (p[0] != '1' || p[2] > '1')
		FAIL(505);
	req->version_minor = p[2] - '0';
	p += 5;

	/* header fields */
	size_t host_count = 0, length_count = 0, te_count = 0;
	uint64_t length = 0;
	bool length_overflow = false, connection_close = false, connection_keep_alive = false;
	enum te_kind te = TE_CHUNKED;
	for (;;) {
		if (p == end)
			NEED_MORE();
		c = (unsigned char)*p;
		if (c == '\r') {
			if (p + 1 == end)
				NEED_MORE();
			if (p[1] != '\n')
				FAIL(400);
			p += 2;
			break;
		}
		if (!is_class(c, CLASS_TOKEN))
			FAIL(400);	/* bare LF, obs-fold, whitespace or junk before a name */
		if (req->n_headers == max_headers)
			FAIL(431);
		const char *name = p++;
		while (p < end && is_class((unsigned char)*p, CLASS_TOKEN))
			p++;
		if (p == end)
			NEED_MORE();
		if (*p != ':')
			FAIL(400);	/* includes whitespace before the colon */
		size_t name_len = (size_t)(p - name);
		p++;
		const char *raw_value = p;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *value = p;
		while (end - p >= 8 && !may_hold_ctl(load64(p)))
			p += 8;
		while (p < end && is_class((unsigned char)*p, CLASS_VALUE)) {
			p++;
			/* back to the fast path after a HTAB or obs-text byte */
			while (end - p >= 8 && !may_hold_ctl(load64(p)))
				p += 8;
		}
		if (p == end)
			NEED_MORE();
		if (*p != '\r')
			FAIL(400);	/* CTL, NUL or bare LF inside the value */
		if (p + 1 == end)
			NEED_MORE();
		if (p[1] != '\n')
			FAIL(400);	/* bare CR */
		const char *value_end = p, *line_end = p;
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			value_end--;
		p += 2;

		struct http_header *h = &req->headers[req->n_headers++];
		h->name.p = name;
		h->name.len = name_len;
		h->value.p = value;
		h->value.len = (size_t)(value_end - value);

		/* HTAB around a framing value is legal, but http-parser misreads it:
		 * refused so that both always agree on framing. Only looked for in
		 * framing headers, to keep one pass over the long ones. */
#define TAB_IN_LINE() (memchr(raw_value, '\t', (size_t)(line_end - raw_value)) != NULL)
		switch (name_len) {
		case 4:
			if (caseeq_lower(name, "host", 4)) {
				if (++host_count > 1)
					FAIL(400);
				for (const char *q = value; q < value_end; q++)
					if (!is_class((unsigned char)*q, CLASS_HOST))
						FAIL(400);
			}
			break;
		case 6:
			if (caseeq_lower(name, "expect", 6) && h->value.len == 12 &&
			    caseeq_lower(value, "100-continue", 12))
				req->expect_continue = true;
			break;
		case 10:
			if (caseeq_lower(name, "connection", 10) && (TAB_IN_LINE() ||
			    !parse_connection(value, value_end, &connection_close, &connection_keep_alive)))
				FAIL(400);
			break;
		case 14:
			if (caseeq_lower(name, "content-length", 14)) {
				/* even an identical repeat or "5, 5" is refused: peers disagree on it */
				if (++length_count > 1 || value == value_end || TAB_IN_LINE())
					FAIL(400);
				for (const char *q = value; q < value_end; q++) {
					if (*q < '0' || *q > '9')
						FAIL(400);
					unsigned digit = (unsigned)(*q - '0');
					if (length > (UINT64_MAX - digit) / 10)
						length_overflow = true;
					else
						length = length * 10 + digit;
				}
			}
			break;
		case 17:
			if (caseeq_lower(name, "transfer-encoding", 17)) {
				if (++te_count > 1 || TAB_IN_LINE())
					FAIL(400);
				te = classify_transfer_encoding(value, value_end);
			}
			break;
		}
	}

#undef TAB_IN_LINE
	if (req->version_minor == 1 && host_count != 1)
		FAIL(400);
	if (te_count) {
		if (length_count || req->version_minor == 0 || te == TE_INVALID)
			FAIL(400);
		if (te == TE_UNSUPPORTED)
			FAIL(501);
		req->chunked = true;
	}
	if (length_count) {
		if (length_overflow || length > limits->max_body)
			FAIL(413);
		req->has_content_length = true;
		req->content_length = length;
	}
	if (req->version_minor == 0)
		req->expect_continue = false;	/* RFC 9110 10.1.1: ignored from HTTP/1.0 */
	req->keep_alive = req->version_minor == 1 ? !connection_close
	    : connection_keep_alive && !connection_close;
	req->head_len = (size_t)(p - buf);
	return HTTP_PARSE_OK;
}

enum chunked_state {
	CHUNK_SIZE_START = 0,	/* first hex digit of a chunk-size */
	CHUNK_SIZE,		/* more hex digits, ';' or CR */
	CHUNK_EXT,		/* chunk extension up to CR */
	CHUNK_SIZE_LF,
	CHUNK_DATA,
	CHUNK_DATA_CR,
	CHUNK_DATA_LF,
	CHUNK_TRAILER_START,	/* CR (end of body) or a trailer field name */
	CHUNK_TRAILER_NAME,
	CHUNK_TRAILER_VALUE,
	CHUNK_TRAILER_LF,
	CHUNK_FINAL_LF,
	CHUNK_DONE,
	CHUNK_MALFORMED,
	CHUNK_TOO_LARGE,
};

void http_chunked_init(struct http_chunked *c, uint64_t max_body)
{
	c->state = CHUNK_SIZE_START;
	c->chunk_left = 0;
	c->total = 0;
	c->max_body = max_body;
	c->line_len = 0;
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t in_len, size_t *consumed,
    char *out, size_t out_cap, size_t *out_len)
{
	size_t i = 0;
	int result = 0;

	for (;;) {
		if (c->state == CHUNK_DONE) {
			result = 1;
			break;
		}
		if (c->state == CHUNK_MALFORMED) {
			result = -1;
			break;
		}
		if (c->state == CHUNK_TOO_LARGE) {
			result = -2;
			break;
		}
		if (i == in_len)
			break;
		unsigned char ch = (unsigned char)in[i];
		switch (c->state) {
		case CHUNK_SIZE_START:
		case CHUNK_SIZE: {
			int digit = hex_value(ch);
			if (digit >= 0) {
				if (++c->line_len > CHUNK_SIZE_MAX_DIGITS) {
					c->state = CHUNK_MALFORMED;
					break;
				}
				c->chunk_left = c->chunk_left << 4 | (uint64_t)digit;
				/* checked per digit, so the size can never overflow */
				c->state = c->chunk_left > c->max_body - c->total ? CHUNK_TOO_LARGE : CHUNK_SIZE;
				i++;
			} else if (c->state == CHUNK_SIZE && (ch == ';' || ch == '\r')) {
				c->line_len = 0;
				c->state = ch == ';' ? CHUNK_EXT : CHUNK_SIZE_LF;
				i++;
			} else {
				/* no digit, or whitespace before ';' / CR: peers differ on it */
				c->state = CHUNK_MALFORMED;
			}
			break;
		}
		case CHUNK_EXT:
			if (ch == '\r') {
				c->state = CHUNK_SIZE_LF;
				i++;
			} else if ((ch == '\t' || (ch >= 0x20 && ch <= 0x7e)) && ++c->line_len <= CHUNK_LINE_MAX) {
				i++;
			} else {
				c->state = CHUNK_MALFORMED;
			}
			break;
		case CHUNK_SIZE_LF:
			if (ch != '\n') {
				c->state = CHUNK_MALFORMED;
				break;
			}
			i++;
			c->line_len = 0;
			c->state = c->chunk_left ? CHUNK_DATA : CHUNK_TRAILER_START;
			break;
		case CHUNK_DATA: {
			size_t room = out_cap - *out_len;
			size_t n = in_len - i;
			if (n > c->chunk_left)
				n = (size_t)c->chunk_left;
			if (n > room)
				n = room;
			if (n == 0)
				goto out_full;
			/* memmove: decoding in place, out trails in over the same bytes */
			memmove(out + *out_len, in + i, n);
			*out_len += n;
			i += n;
			c->chunk_left -= n;
			c->total += n;
			if (c->chunk_left == 0)
				c->state = CHUNK_DATA_CR;
			break;
		}
		case CHUNK_DATA_CR:
		case CHUNK_TRAILER_LF:
		case CHUNK_FINAL_LF:
		case CHUNK_DATA_LF: {
			/* exactly CRLF: a bare LF or a missing CR is malformed */
			static const struct { unsigned char want; int next; } step[] = {
				[CHUNK_DATA_CR] = { '\r', CHUNK_DATA_LF },
				[CHUNK_DATA_LF] = { '\n', CHUNK_SIZE_START },
				[CHUNK_TRAILER_LF] = { '\n', CHUNK_TRAILER_START },
				[CHUNK_FINAL_LF] = { '\n', CHUNK_DONE },
			};
			if (ch != step[c->state].want) {
				c->state = CHUNK_MALFORMED;
				break;
			}
			i++;
			c->state = step[c->state].next;
			break;
		}
		case CHUNK_TRAILER_START:
			if (ch == '\r') {
				c->state = CHUNK_FINAL_LF;
				i++;
			} else if (is_class(ch, CLASS_TOKEN)) {
				c->state = CHUNK_TRAILER_NAME;
			} else {
				c->state = CHUNK_MALFORMED;	/* bare LF, obs-fold, junk */
			}
			break;
		case CHUNK_TRAILER_NAME:
		case CHUNK_TRAILER_VALUE: {
			/* a name (token bytes up to ':') or a value (value bytes up to
			 * CR), all trailers together within CHUNK_TRAILERS_MAX */
			static const struct { unsigned char end; unsigned class; int next; } part[] = {
				[CHUNK_TRAILER_NAME] = { ':', CLASS_TOKEN, CHUNK_TRAILER_VALUE },
				[CHUNK_TRAILER_VALUE] = { '\r', CLASS_VALUE, CHUNK_TRAILER_LF },
			};
			if (++c->line_len > CHUNK_TRAILERS_MAX ||
			    (ch != part[c->state].end && !is_class(ch, part[c->state].class))) {
				c->state = CHUNK_MALFORMED;
				break;
			}
			if (ch == part[c->state].end)
				c->state = part[c->state].next;
			i++;
			break;
		}
		default:
			c->state = CHUNK_MALFORMED;	/* corrupted state */
			break;
		}
	}
out_full:
	*consumed = i;
	return result;
}
