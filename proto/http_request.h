/*
 * Strict HTTP/1.1 request-head parser: a pure function over bytes, no I/O.
 * Refuses anything an ingress and dreamauth could read differently
 * (request smuggling): obs-fold, bare CR/LF, CL+TE, duplicate or invalid
 * Content-Length, any Transfer-Encoding but a single "chunked", NUL and
 * control bytes, whitespace before the colon, HTTP versions other than 1.0/1.1.
 */
#ifndef DREAMAUTH_HTTP_REQUEST_H
#define DREAMAUTH_HTTP_REQUEST_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define HTTP_MAX_HEADERS 64
/* RFC 9112 2.2 lets a server ignore a few empty lines before the request
 * line (left over from a previous body); more than that is garbage. The
 * server's framing (workers/http_server.c) skips as many. */
#define HTTP_MAX_LEADING_EMPTY_LINES 4

struct http_str {
	const char *p;	/* points into the caller's buffer, NOT NUL-terminated */
	size_t len;
};

struct http_header {
	struct http_str name;
	struct http_str value;	/* surrounding OWS trimmed */
};

enum http_method {
	HTTP_METHOD_OTHER = 0, HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST,
	HTTP_METHOD_PUT, HTTP_METHOD_DELETE, HTTP_METHOD_OPTIONS, HTTP_METHOD_PATCH
};

struct http_request {
	enum http_method method;
	struct http_str method_str;
	struct http_str target;		/* request-target as sent (origin-form) */
	struct http_str path;		/* target up to '?' */
	struct http_str query;		/* after '?', without it; len 0 if none */
	int version_minor;		/* 0 or 1 (HTTP/1.x only) */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	size_t head_len;		/* bytes consumed by the head incl. final CRLFCRLF */
	bool has_content_length;
	uint64_t content_length;
	bool chunked;			/* Transfer-Encoding: chunked */
	bool keep_alive;		/* from version + Connection header */
	bool expect_continue;
};

struct http_limits {
	size_t max_head;		/* whole head, e.g. 16 KiB */
	size_t max_target;		/* request line target, e.g. 8 KiB */
	size_t max_headers;		/* <= HTTP_MAX_HEADERS */
	uint64_t max_body;		/* Content-Length above this → 413 */
};

enum http_parse_result {
	HTTP_PARSE_OK = 0,
	HTTP_PARSE_INCOMPLETE = 1,	/* need more bytes (and buf_len < max_head) */
	HTTP_PARSE_ERROR = -1,		/* see *status for the HTTP status to answer */
};

/* Parse one request head from buf. On HTTP_PARSE_ERROR *status is 400, 413,
 * 414, 431, 501 or 505 and the connection must be closed after answering. */
enum http_parse_result http_request_parse(const char *buf, size_t buf_len,
    const struct http_limits *limits, struct http_request *req, int *status);

/* Case-insensitive header lookup; NULL if absent. */
const struct http_str *http_request_header(const struct http_request *req, const char *name);

/* Incremental chunked body decoder (RFC 9112 7.1), pure. */
struct http_chunked {
	int state;
	uint64_t chunk_left;
	uint64_t total;
	uint64_t max_body;
	uint32_t line_len;	/* bytes of the current size line or of all trailers, bounded */
};
void http_chunked_init(struct http_chunked *c, uint64_t max_body);
/* Consumes bytes from in[0..in_len), appends decoded data to out (capacity
 * out_cap, *out_len updated). Returns 1 when the final chunk and trailers
 * are read (*consumed tells how many input bytes), 0 when more input is
 * needed, -1 on malformed input, -2 when the body exceeds max_body.
 * *consumed is always set; a 0 with *consumed < in_len means out is full:
 * drain it and call again with the rest. out may be in itself (decoding in
 * place, as workers/http_server.c does: decoded bytes never run ahead of
 * the encoded ones), so the two may overlap. */
int http_chunked_decode(struct http_chunked *c, const char *in, size_t in_len, size_t *consumed,
    char *out, size_t out_cap, size_t *out_len);

bool http_str_eq(struct http_str s, const char *lit);		/* exact */
bool http_str_caseeq(struct http_str s, const char *lit);	/* ASCII case-insensitive */
#endif
