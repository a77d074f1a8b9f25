/*
 * Authentication context classes (OIDC Core §2 acr, §3.1.2.1 acr_values)
 * from the amr of a sign-in (RFC 8176): two levels, published in discovery
 * (acr_values_supported) and put in ID and access tokens as "acr":
 *
 *   urn:dreamauth:acr:mfa   two factors (amr has "mfa": a password and a
 *                           TOTP or recovery code, a password and a passkey,
 *                           or a passkey that verified its user)
 *   urn:dreamauth:acr:sfa   one factor
 *
 * acr_values=urn:dreamauth:acr:mfa (or the short "mfa") at /oauth2/authorize
 * asks a signed-in user without "mfa" to sign in again (step-up).
 */
#ifndef DREAMAUTH_ACR_H
#define DREAMAUTH_ACR_H
#include <stdbool.h>

#define ACR_MFA "urn:dreamauth:acr:mfa"
#define ACR_SFA "urn:dreamauth:acr:sfa"

/* "mfa" is one of amr's comma-separated values. */
bool amr_is_mfa(const char *amr);
/* The acr of a sign-in with this amr. */
const char *acr_of_amr(const char *amr);
/* acr_values (space separated, in order of preference) asks for two factors
 * and accepts nothing less: it names the mfa class and not the sfa one. */
bool acr_values_want_mfa(const char *acr_values);
#endif
