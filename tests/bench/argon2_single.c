/*
 * Time of one argon2id hash with dreamauth's default parameters (m=19456 KiB,
 * t=2, p=1), as libargon2 computes it: the ceiling for password sign-ins is
 * cores / this time. Built and run by tests/bench/verify.sh.
 * Usage: argon2_single [m_kib t p runs] → prints the median milliseconds.
 */
#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint32_t m = argc > 1 ? (uint32_t)atoi(argv[1]) : 19456, t = argc > 2 ? (uint32_t)atoi(argv[2]) : 2,
		 p = argc > 3 ? (uint32_t)atoi(argv[3]) : 1;
	int runs = argc > 4 ? atoi(argv[4]) : 15;
	const char pw[] = "correct horse battery";
	const unsigned char salt[16] = "0123456789abcdef";
	char enc[256];
	double ms[64];

	if (runs < 1 || runs > 64)
		runs = 15;
	/* One unmeasured run: the first one pays for page faults. */
	if (argon2id_hash_encoded(t, m, p, pw, sizeof(pw) - 1, salt, sizeof(salt), 32, enc, sizeof(enc)) != ARGON2_OK)
		return 1;
	for (int i = 0; i < runs; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (argon2id_hash_encoded(t, m, p, pw, sizeof(pw) - 1, salt, sizeof(salt), 32, enc, sizeof(enc)) != ARGON2_OK)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	qsort(ms, (size_t)runs, sizeof(ms[0]), cmp);
	printf("%.2f\n", ms[runs / 2]);
	return 0;
}
