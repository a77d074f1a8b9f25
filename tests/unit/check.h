/* Minimal assertion helpers for the C unit tests (run by CTest). Each CHECK
 * counts; main() ends with CHECK_DONE(), which prints "N passed, N failed"
 * and returns non-zero on any failure. */
#ifndef DREAMAUTH_CHECK_H
#define DREAMAUTH_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) do {						\
	if (cond) check_passed++;					\
	else { check_failed++;						\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)
#define CHECK_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a == _b) check_passed++;					\
	else { check_failed++;						\
		fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); } \
} while (0)
#define CHECK_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a && _b && strcmp(_a, _b) == 0) check_passed++;		\
	else { check_failed++;						\
		fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); } \
} while (0)
#define CHECK_DONE() (printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed), check_failed ? 1 : 0)
#endif
