/*
 * TOTP through common/totp.c (liboath): RFC 6238 Appendix B's SHA-1 vectors
 * (8 digits), the window and the step a code matched, base32 and the
 * otpauth:// URI; the sealing of secrets at rest (common/seal.c); the code
 * parsers (proto/otp_code.c).
 */
#include "common/seal.h"
#include "common/secure.h"
#include "common/totp.h"
#include "proto/otp_code.h"
#include "tests/unit/check.h"

#include <stdint.h>

static const uint8_t rfc_secret[] = "12345678901234567890";	/* 20 bytes, Appendix B's SHA-1 seed */

static void test_rfc6238_vectors(void)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = { { 59, "94287082" }, { 1111111109, "07081804" }, { 1111111111, "14050471" },
		{ 1234567890, "89005924" }, { 2000000000, "69279037" }, { 20000000000LL, "65353130" } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t step = 0;
		char code[9];
		/* The check the store runs, with no window: the code of this very step. */
		CHECK(totp_check(rfc_secret, 20, v[i].t, 8, 0, v[i].code, &step));
		CHECK_EQ_INT(step, v[i].t / 30);
		CHECK_EQ_INT(totp_code(rfc_secret, 20, v[i].t, 8, code), 0);
		CHECK_EQ_STR(code, v[i].code);
		/* One digit off is refused. */
		char wrong[9];
		memcpy(wrong, v[i].code, 9);
		wrong[7] = wrong[7] == '9' ? '0' : (char)(wrong[7] + 1);
		CHECK(!totp_check(rfc_secret, 20, v[i].t, 8, 0, wrong, &step));
	}
}

static void test_window(void)
{
	char prev[7], now_code[7], next[7], old[7];
	uint64_t step = 0;
	int64_t t = 1700000000;
	CHECK_EQ_INT(totp_code(rfc_secret, 20, t - 30, 6, prev), 0);
	CHECK_EQ_INT(totp_code(rfc_secret, 20, t, 6, now_code), 0);
	CHECK_EQ_INT(totp_code(rfc_secret, 20, t + 30, 6, next), 0);
	CHECK_EQ_INT(totp_code(rfc_secret, 20, t - 60, 6, old), 0);
	CHECK(totp_check(rfc_secret, 20, t, 6, 1, now_code, &step) && step == (uint64_t)t / 30);
	CHECK(totp_check(rfc_secret, 20, t, 6, 1, prev, &step) && step == (uint64_t)t / 30 - 1);
	CHECK(totp_check(rfc_secret, 20, t, 6, 1, next, &step) && step == (uint64_t)t / 30 + 1);
	CHECK(!totp_check(rfc_secret, 20, t, 6, 1, old, &step));
	/* Not digits, wrong length, empty: refused before liboath. */
	CHECK(!totp_check(rfc_secret, 20, t, 6, 1, "12345", &step));
	CHECK(!totp_check(rfc_secret, 20, t, 6, 1, "1234567", &step));
	CHECK(!totp_check(rfc_secret, 20, t, 6, 1, "12a456", &step));
	CHECK(!totp_check(rfc_secret, 20, t, 6, 1, "", &step));
}

static void test_base32_and_uri(void)
{
	char b32[TOTP_BASE32_LEN], uri[512], small[8];
	CHECK_EQ_INT(totp_base32(rfc_secret, 20, b32, sizeof(b32)), 0);
	CHECK_EQ_STR(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	CHECK_EQ_INT(totp_base32(rfc_secret, 20, small, sizeof(small)), -1);
	CHECK_EQ_INT(totp_uri("auth.example.com", "alice@example.com", b32, uri, sizeof(uri)), 0);
	CHECK_EQ_STR(uri, "otpauth://totp/auth.example.com:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	    "&issuer=auth.example.com&algorithm=SHA1&digits=6&period=30");
	CHECK_EQ_INT(totp_uri("Dream Auth", "a&b@example.com", b32, uri, sizeof(uri)), 0);
	CHECK(strstr(uri, "otpauth://totp/Dream%20Auth:a%26b%40example.com?") == uri);
	CHECK_EQ_INT(totp_uri("x", "y", b32, small, sizeof(small)), -1);
}

static void test_seal(void)
{
	uint8_t key[32], other[32], blob[TOTP_SECRET_LEN + SEAL_OVERHEAD], out[SEAL_PLAIN_MAX];
	secure_random(key, sizeof(key));
	memcpy(other, key, sizeof(key));
	other[0] ^= 1;
	long n = seal_bytes(key, "dreamauth-totp-v1|u1", rfc_secret, 20, blob);
	CHECK_EQ_INT(n, 20 + SEAL_OVERHEAD);
	CHECK(memmem(blob, (size_t)n, rfc_secret, 20) == NULL);	/* not in the clear */
	CHECK_EQ_INT(seal_open(key, "dreamauth-totp-v1|u1", blob, (size_t)n, out, sizeof(out)), 20);
	CHECK(memcmp(out, rfc_secret, 20) == 0);
	/* Another row, another key, a flipped bit, a short blob: nothing opens. */
	CHECK_EQ_INT(seal_open(key, "dreamauth-totp-v1|u2", blob, (size_t)n, out, sizeof(out)), -1);
	CHECK_EQ_INT(seal_open(other, "dreamauth-totp-v1|u1", blob, (size_t)n, out, sizeof(out)), -1);
	blob[20] ^= 0x80;
	CHECK_EQ_INT(seal_open(key, "dreamauth-totp-v1|u1", blob, (size_t)n, out, sizeof(out)), -1);
	blob[20] ^= 0x80;
	CHECK_EQ_INT(seal_open(key, "dreamauth-totp-v1|u1", blob, SEAL_OVERHEAD - 1, out, sizeof(out)), -1);
	CHECK_EQ_INT(seal_open(key, "dreamauth-totp-v1|u1", blob, (size_t)n, out, 10), -1);	/* no room */
	/* Two seals of one secret differ (fresh nonces). */
	uint8_t blob2[sizeof(blob)];
	CHECK_EQ_INT(seal_bytes(key, "dreamauth-totp-v1|u1", rfc_secret, 20, blob2), n);
	CHECK(memcmp(blob, blob2, (size_t)n) != 0);
}

static void test_code_parsers(void)
{
	char c[OTP_CODE_DIGITS + 1], r[RECOVERY_CODE_CHARS + 1], text[RECOVERY_CODE_TEXT_LEN];
	CHECK(otp_code_parse("123456", 6, c) == 0 && !strcmp(c, "123456"));
	CHECK(otp_code_parse("123 456", 7, c) == 0 && !strcmp(c, "123456"));
	CHECK_EQ_INT(otp_code_parse("12345", 5, c), -1);
	CHECK_EQ_INT(otp_code_parse("1234567", 7, c), -1);
	CHECK_EQ_INT(otp_code_parse("12345a", 6, c), -1);
	CHECK_EQ_INT(otp_code_parse("123\0456", 7, c), -1);
	CHECK_EQ_INT(otp_code_parse("-12345", 6, c), -1);
	CHECK_EQ_INT(otp_code_parse("１２３４５６", 18, c), -1);	/* full-width digits */
	char big[64];
	memset(big, ' ', sizeof(big));
	memcpy(big, "123456", 6);
	CHECK_EQ_INT(otp_code_parse(big, sizeof(big), c), -1);	/* over OTP_CODE_INPUT_MAX */
	CHECK(recovery_code_parse("ABCDE-FGHJK", 11, r) == 0 && !strcmp(r, "ABCDEFGHJK"));
	CHECK(recovery_code_parse("abcde fghjk", 11, r) == 0 && !strcmp(r, "ABCDEFGHJK"));
	CHECK_EQ_INT(recovery_code_parse("ABCDE-FGHJI", 11, r), -1);	/* I is not in the alphabet */
	CHECK_EQ_INT(recovery_code_parse("ABCDE-FGHJ0", 11, r), -1);
	CHECK_EQ_INT(recovery_code_parse("ABCDE-FGHJ", 10, r), -1);
	CHECK_EQ_INT(recovery_code_parse("ABCDE-FGHJKL", 12, r), -1);
	CHECK_EQ_INT(recovery_code_parse("ABCDE\0FGHJK", 11, r), -1);
	uint8_t rnd[RECOVERY_CODE_RANDOM_BYTES] = { 0, 1, 2, 31, 32, 255, 7, 8, 9, 10 };
	recovery_code_format(rnd, text);
	CHECK_EQ_STR(text, "234Z2-Z9ABC");
	CHECK(recovery_code_parse(text, strlen(text), r) == 0 && !strcmp(r, "234Z2Z9ABC"));
}

int main(void)
{
	test_rfc6238_vectors();
	test_window();
	test_base32_and_uri();
	test_seal();
	test_code_parsers();
	return CHECK_DONE();
}
