/*
 * amr and acr (workers/acr.c, two_factor_amr in workers/two_factor_gate.c):
 * the amr of a session a second factor opened, the acr a sign-in's amr
 * gives, and which acr_values ask for two factors.
 */
#include "workers/acr.h"
#include "workers/two_factor.h"
#include "tests/unit/check.h"

static void amr(const char *first, const char *second, const char *want)
{
	char out[32];
	two_factor_amr(first, second, out, sizeof(out));
	CHECK_EQ_STR(out, want);
}

int main(void)
{
	amr("pwd", "otp", "pwd,otp,mfa");
	amr("pwd", "hwk,user", "pwd,hwk,user,mfa");
	amr("pwd", "hwk", "pwd,hwk,mfa");
	amr("otp", "otp", "otp,mfa");	/* an emailed code, then a TOTP code: one value, two factors */
	amr("pwd", "", "pwd");
	amr("pwd,mfa", "otp", "pwd,mfa,otp");	/* no repeats */
	amr("", "otp", "otp,mfa");
	char small[8];
	two_factor_amr("pwd", "otp", small, sizeof(small));	/* what does not fit is left out, never cut */
	CHECK_EQ_STR(small, "pwd,otp");

	CHECK(amr_is_mfa("pwd,otp,mfa"));
	CHECK(amr_is_mfa("mfa"));
	CHECK(!amr_is_mfa("pwd"));
	CHECK(!amr_is_mfa("pwd,mfax"));
	CHECK(!amr_is_mfa("xmfa"));
	CHECK(!amr_is_mfa(""));
	CHECK_EQ_STR(acr_of_amr("hwk,user,mfa"), ACR_MFA);
	CHECK_EQ_STR(acr_of_amr("pwd"), ACR_SFA);

	CHECK(acr_values_want_mfa(ACR_MFA));
	CHECK(acr_values_want_mfa("mfa"));
	CHECK(acr_values_want_mfa("urn:other " ACR_MFA));
	CHECK(!acr_values_want_mfa(ACR_MFA " " ACR_SFA));	/* one factor is acceptable too */
	CHECK(!acr_values_want_mfa(ACR_SFA));
	CHECK(!acr_values_want_mfa("urn:dreamauth:acr:mfa2"));
	CHECK(!acr_values_want_mfa(""));
	CHECK(!acr_values_want_mfa("mfa2 xmfa"));
	return CHECK_DONE();
}
