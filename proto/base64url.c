/* Strict base64url / base64 codecs (RFC 4648). */
#include "proto/base64url.h"
#include <stdbool.h>

static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
		out[o++] = url_alphabet[v >> 6 & 63];
		out[o++] = url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
		out[o++] = url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int sextet(char c, bool url)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == (url ? '-' : '+')) return 62;
	if (c == (url ? '_' : '/')) return 63;
	return -1;
}

static long decode(const char *in, size_t len, uint8_t *out, size_t cap, bool url)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = sextet(in[i], url);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Non-canonical encodings (stray low bits) are refused. */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

long base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	return decode(in, len, out, cap, true);
}

long base64_std_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t pad = 0;
	if (len % 4 != 0)
		return -1;
	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	return decode(in, len - pad, out, cap, false);
}
