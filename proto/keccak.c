/*
 * Keccak-256: the sponge over Keccak-f[1600] (24 rounds of theta, rho, pi,
 * chi, iota), written for clarity rather than speed: Ethereum hashes here are
 * of addresses and sign-in messages, a few hundred bytes per request.
 * Lanes are indexed x + 5y; bytes enter them little-endian on any host.
 */
#include "proto/keccak.h"

#include <string.h>

#define ROUNDS 24

static const uint64_t round_constants[ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho: how far lane x + 5y is rotated. */
static const unsigned rotation_of_lane[25] = {
	0, 1, 62, 28, 27,
	36, 44, 6, 55, 20,
	3, 10, 43, 25, 39,
	41, 45, 15, 21, 8,
	18, 2, 61, 56, 14,
};

static uint64_t rotate_left(uint64_t v, unsigned n)
{
	return (v << n) | (v >> ((64 - n) & 63));
}

static void theta(uint64_t a[25])
{
	uint64_t column[5];

	for (int x = 0; x < 5; x++)
		column[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
	for (int x = 0; x < 5; x++) {
		uint64_t d = column[(x + 4) % 5] ^ rotate_left(column[(x + 1) % 5], 1);
		for (int y = 0; y < 25; y += 5)
			a[x + y] ^= d;
	}
}

/* rho and pi together: lane (x, y) rotates into position (y, 2x + 3y). */
static void rho_pi(const uint64_t a[25], uint64_t b[25])
{
	for (int x = 0; x < 5; x++)
		for (int y = 0; y < 5; y++)
			b[y + 5 * ((2 * x + 3 * y) % 5)] = rotate_left(a[x + 5 * y], rotation_of_lane[x + 5 * y]);
}

static void chi(const uint64_t b[25], uint64_t a[25])
{
	for (int y = 0; y < 25; y += 5)
		for (int x = 0; x < 5; x++)
			a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
}

static void keccak_f1600(uint64_t a[25])
{
	uint64_t b[25];

	for (int round = 0; round < ROUNDS; round++) {
		theta(a);
		rho_pi(a, b);
		chi(b, a);
		a[0] ^= round_constants[round];
	}
}

static void xor_byte_into_state(struct keccak256 *k, size_t at, uint8_t byte)
{
	k->lanes[at / 8] ^= (uint64_t)byte << (8 * (at % 8));
}

void keccak256_init(struct keccak256 *k)
{
	memset(k, 0, sizeof(*k));
}

void keccak256_update(struct keccak256 *k, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		xor_byte_into_state(k, k->absorbed++, p[i]);
		if (k->absorbed == KECCAK256_RATE) {
			keccak_f1600(k->lanes);
			k->absorbed = 0;
		}
	}
}

void keccak256_final(struct keccak256 *k, uint8_t out[KECCAK256_LEN])
{
	/* Keccak's pad10*1 with the 0x01 domain byte; both ends may share a byte. */
	xor_byte_into_state(k, k->absorbed, 0x01);
	xor_byte_into_state(k, KECCAK256_RATE - 1, 0x80);
	keccak_f1600(k->lanes);
	for (size_t i = 0; i < KECCAK256_LEN; i++)
		out[i] = (uint8_t)(k->lanes[i / 8] >> (8 * (i % 8)));
}

void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_LEN])
{
	struct keccak256 k;

	keccak256_init(&k);
	keccak256_update(&k, data, len);
	keccak256_final(&k, out);
}
