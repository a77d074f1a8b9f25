/*
 * libFuzzer target for proto/http_request.c: parses the input as a request
 * head with fixed limits, checks the result's invariants, then feeds any
 * body after the head (and the whole input) to the chunked decoder, in one
 * call, split in two, and in place (out is in, as workers/http_server.c
 * decodes a request buffer), which must all agree.
 */
#include "proto/http_request.h"
#include <stdlib.h>
#include <string.h>

static const struct http_limits limits = {
	.max_head = 4096, .max_target = 1024, .max_headers = 32, .max_body = 65536,
};

static void inside(const char *buf, size_t len, struct http_str s)
{
	if (s.len && (s.p < buf || s.p + s.len > buf + len))
		abort();
}

/* Decodes a copy of in[0..len) in place, with the server's arguments (out
 * is the input, its capacity the input's length): the same result as into a
 * separate buffer. */
static void check_chunked_in_place(const char *in, size_t len, int res, size_t consumed, const char *out,
    size_t out_len)
{
	char *buf = malloc(len ? len : 1);
	struct http_chunked c;
	size_t used = 0, in_place_len = 0;

	if (!buf)
		return;
	memcpy(buf, in, len);
	http_chunked_init(&c, limits.max_body);
	int rc = http_chunked_decode(&c, buf, len, &used, buf, len, &in_place_len);
	if (rc != res || used != consumed || in_place_len != out_len || memcmp(buf, out, out_len) != 0)
		abort();
	free(buf);
}

/* Decodes in[0..len) once whole and once split at `split`; both must agree. */
static void check_chunked(const char *in, size_t len, size_t split)
{
	static char whole_out[70000], split_out[70000];
	struct http_chunked a, b;
	size_t consumed_a = 0, out_a = 0;
	http_chunked_init(&a, limits.max_body);
	int res_a = http_chunked_decode(&a, in, len, &consumed_a, whole_out, sizeof whole_out, &out_a);
	if (consumed_a > len || out_a > len || a.total > limits.max_body)
		abort();
	if (res_a != 1 && res_a != 0 && res_a != -1 && res_a != -2)
		abort();
	if (res_a == 0 && consumed_a != len)
		abort();	/* the output buffer is larger than any body: no early stop */

	if (split > len)
		split = len;
	size_t consumed_b1 = 0, consumed_b2 = 0, out_b = 0;
	http_chunked_init(&b, limits.max_body);
	int res_b = http_chunked_decode(&b, in, split, &consumed_b1, split_out, sizeof split_out, &out_b);
	if (res_b == 0) {
		if (consumed_b1 != split)
			abort();
		res_b = http_chunked_decode(&b, in + split, len - split, &consumed_b2, split_out, sizeof split_out, &out_b);
	}
	if (res_b != res_a || out_b != out_a || memcmp(whole_out, split_out, out_a) != 0)
		abort();
	if (res_a >= 0 && consumed_b1 + consumed_b2 != consumed_a)
		abort();
	check_chunked_in_place(in, len, res_a, consumed_a, whole_out, out_a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	int status = 0;
	enum http_parse_result res = http_request_parse(buf, size, &limits, &req, &status);

	switch (res) {
	case HTTP_PARSE_INCOMPLETE:
		if (size >= limits.max_head)
			abort();
		break;
	case HTTP_PARSE_ERROR:
		if (status != 400 && status != 413 && status != 414 && status != 431 && status != 501 && status != 505)
			abort();
		break;
	case HTTP_PARSE_OK: {
		if (req.head_len > size || req.head_len > limits.max_head || req.head_len < 16)
			abort();
		if (memcmp(buf + req.head_len - 4, "\r\n\r\n", 4) != 0)
			abort();
		if (req.n_headers > limits.max_headers || (req.version_minor != 0 && req.version_minor != 1))
			abort();
		inside(buf, req.head_len, req.method_str);
		inside(buf, req.head_len, req.target);
		inside(buf, req.head_len, req.path);
		inside(buf, req.head_len, req.query);
		if (req.target.len == 0 || req.target.len > limits.max_target)
			abort();
		if (req.path.len + (req.query.p ? req.query.len + 1 : 0) != req.target.len)
			abort();
		for (size_t i = 0; i < req.n_headers; i++) {
			inside(buf, req.head_len, req.headers[i].name);
			inside(buf, req.head_len, req.headers[i].value);
			if (req.headers[i].name.len == 0)
				abort();
			for (size_t j = 0; j < req.headers[i].value.len; j++) {
				unsigned char c = (unsigned char)req.headers[i].value.p[j];
				if ((c < 0x20 && c != '\t') || c == 0x7f)
					abort();
			}
		}
		if (req.has_content_length && (req.content_length > limits.max_body || req.chunked))
			abort();
		if (req.chunked && req.version_minor != 1)
			abort();
		if (req.version_minor == 1 && http_request_header(&req, "host") == NULL)
			abort();

		/* every strict prefix of an accepted head is incomplete; the head alone parses the same */
		size_t cut = size > 1 ? data[size / 2] % req.head_len : 0;
		struct http_request again;
		int status_again;
		if (http_request_parse(buf, cut, &limits, &again, &status_again) != HTTP_PARSE_INCOMPLETE)
			abort();
		if (http_request_parse(buf, req.head_len, &limits, &again, &status_again) != HTTP_PARSE_OK ||
		    again.head_len != req.head_len || again.n_headers != req.n_headers ||
		    again.keep_alive != req.keep_alive || again.content_length != req.content_length)
			abort();

		if (req.chunked) {
			size_t body_len = size - req.head_len;
			check_chunked(buf + req.head_len, body_len, body_len ? data[req.head_len] % (body_len + 1) : 0);
		}
		break;
	}
	default:
		abort();
	}
	/* the decoder over raw bytes too, split where the first byte says */
	check_chunked(buf, size, size ? data[0] : 0);
	return 0;
}
