/*
 * Micro benchmark for http_request_parse: a typical forward-auth GET as an
 * ingress sends it (Cookie, X-Forwarded-*), parsed N times; prints ns/parse.
 * Not built by CMake: cc -O2 -I. tests/bench/http_parse_bench.c proto/http_request.c
 */
#include "proto/http_request.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char request[] =
	"GET /auth/verify HTTP/1.1\r\n"
	"Host: auth.example.com\r\n"
	"X-Forwarded-Method: GET\r\n"
	"X-Forwarded-Proto: https\r\n"
	"X-Forwarded-Host: app.example.com\r\n"
	"X-Forwarded-Uri: /dashboard?tab=settings\r\n"
	"X-Forwarded-For: 203.0.113.7\r\n"
	"Cookie: da_session=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MTIzIn0.c2lnbmF0dXJlX2hlcmU; theme=dark\r\n"
	"Accept: */*\r\n"
	"\r\n";

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 10000000;
	struct http_limits limits = { .max_head = 16384, .max_target = 8192, .max_headers = 64, .max_body = 1 << 20 };
	struct http_request req;
	int status;
	size_t sink = 0;
	struct timespec start, stop;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < iterations; i++) {
		if (http_request_parse(request, sizeof request - 1, &limits, &req, &status) != HTTP_PARSE_OK)
			return 1;
		sink += req.head_len;
		__asm__ volatile("" : : "r"(&req) : "memory");	/* keep the call from being hoisted */
	}
	clock_gettime(CLOCK_MONOTONIC, &stop);
	double ns = (double)(stop.tv_sec - start.tv_sec) * 1e9 + (double)(stop.tv_nsec - start.tv_nsec);
	printf("%zu-byte request, %ld parses: %.1f ns/parse (%.2f bytes/ns) [%zu]\n", sizeof request - 1,
	    iterations, ns / (double)iterations, (double)(sizeof request - 1) * (double)iterations / ns, sink);
	return 0;
}
