/* The passkey workers' pure helpers (workers/auth_passkey.c): amr values,
 * uuids as user handles, bytea hex, names, and the page slots with
 * ENABLE_PASSKEYS on and off. */
#include "workers/auth_passkey.h"
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <string.h>

static const char *slot(const char *name)
{
	return passkey_page_fragment(name, strlen(name));
}

int main(void)
{
	char amr[24];
	passkey_amr(true, false, amr, sizeof(amr));
	CHECK_EQ_STR(amr, "hwk,user,mfa");
	passkey_amr(false, false, amr, sizeof(amr));
	CHECK_EQ_STR(amr, "hwk");
	passkey_amr(true, true, amr, sizeof(amr));
	CHECK_EQ_STR(amr, "pwd,hwk,user,mfa");	/* fits the session cache's 24 bytes */
	passkey_amr(false, true, amr, sizeof(amr));
	CHECK_EQ_STR(amr, "pwd,hwk,mfa");

	uint8_t handle[16];
	CHECK(passkey_uuid_bytes("0123abcd-4567-4890-a1b2-c3d4e5f60718", handle));
	CHECK(handle[0] == 0x01 && handle[1] == 0x23 && handle[15] == 0x18);
	CHECK(passkey_uuid_valid("0123ABCD-4567-4890-A1B2-C3D4E5F60718"));
	CHECK(!passkey_uuid_valid("0123abcd-4567-4890-a1b2-c3d4e5f6071"));
	CHECK(!passkey_uuid_valid("0123abcd04567-4890-a1b2-c3d4e5f60718"));
	CHECK(!passkey_uuid_valid("0123abc-d4567-4890-a1b2-c3d4e5f60718"));
	CHECK(!passkey_uuid_valid("0123abcd-4567-4890-a1b2-c3d4e5f6071g"));
	CHECK(!passkey_uuid_valid("'; drop table passkeys; --"));
	CHECK(!passkey_uuid_valid(NULL));

	uint8_t bytes[4];
	CHECK_EQ_INT(passkey_unhex("\\x00ff10", bytes, sizeof(bytes)), 3);
	CHECK(bytes[0] == 0 && bytes[1] == 0xff && bytes[2] == 0x10);
	CHECK_EQ_INT(passkey_unhex("\\x", bytes, sizeof(bytes)), 0);
	CHECK_EQ_INT(passkey_unhex("00ff", bytes, sizeof(bytes)), -1);
	CHECK_EQ_INT(passkey_unhex("\\x0", bytes, sizeof(bytes)), -1);
	CHECK_EQ_INT(passkey_unhex("\\xzz", bytes, sizeof(bytes)), -1);
	CHECK_EQ_INT(passkey_unhex("\\x0102030405", bytes, sizeof(bytes)), -1);	/* longer than cap */
	char hex[2 * 3 + 3];
	passkey_hex((const uint8_t *)"\x01\xab\xff", 3, hex);
	CHECK_EQ_STR(hex, "\\x01abff");

	char hash[PASSKEY_HASH_HEX_LEN];
	passkey_hash_hex("abc", 3, hash);
	CHECK_EQ_STR(hash, "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	CHECK(passkey_name_valid(""));
	CHECK(passkey_name_valid("Laptop (work) — ünïcode"));
	CHECK(!passkey_name_valid("<b>"));
	CHECK(!passkey_name_valid("tab\there"));
	CHECK(!passkey_name_valid(NULL));
	char long_name[82];
	memset(long_name, 'x', 81);
	long_name[81] = '\0';
	CHECK(!passkey_name_valid(long_name));
	long_name[80] = '\0';
	CHECK(passkey_name_valid(long_name));

	cfg.enable_passkeys = true;
	CHECK(strstr(slot("passkey_login"), "Sign in with a passkey") != NULL);
	CHECK(strstr(slot("passkey_signup"), "Create account with a passkey") != NULL);
	CHECK(strstr(slot("passkey_account"), "passkey-list") != NULL);
	CHECK_EQ_STR(slot("passkey_autocomplete"), " webauthn");
	CHECK(slot("siwe_login") == NULL);
	CHECK(slot("passkey") == NULL);
	cfg.enable_passkeys = false;
	CHECK_EQ_STR(slot("passkey_login"), "");
	CHECK_EQ_STR(slot("passkey_autocomplete"), "");
	CHECK_EQ_STR(slot("passkey_account"), "");
	return CHECK_DONE();
}
