/*
 * Email flows on BetterAuth's paths (workers/auth_email.c):
 *   POST /api/auth/send-verification-email   {email, callbackURL}
 *   GET  /api/auth/verify-email?token=&callbackURL=
 *   POST /api/auth/request-password-reset    {email, redirectTo}  (and /forget-password)
 *   POST /api/auth/reset-password            {newPassword, token}
 *   GET/POST /forgot-password, /reset-password  the forms
 *   POST /api/auth/email-otp/send-verification-otp {email, type}
 *   POST /api/auth/sign-in/email-otp         {email, otp}
 *   POST /api/auth/email-otp/verify-email    {email, otp}
 *   POST /api/auth/email-otp/reset-password  {email, otp, password}
 */
#ifndef DREAMAUTH_AUTH_EMAIL_H
#define DREAMAUTH_AUTH_EMAIL_H
#include "workers/http_server.h"

/* After an emailed code held for user_id: the account's second factor, if
 * it has one, before any session. done(ex, rc, arg): rc 0 none, open the
 * session (amr "otp"); 1 the second-factor step has answered (pending
 * state, {"twoFactorRedirect": true}); -1 unavailable (nothing sent).
 * The same gate as after a password (second_factor_gate: TOTP, passkey). */
typedef void (*email_otp_gate_fn)(struct http_exchange *ex, int rc, void *arg);
void email_otp_second_factor(struct http_exchange *ex, const char *user_id, email_otp_gate_fn done, void *arg);
#endif
