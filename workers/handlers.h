/* Every HTTP handler, one line each; the router maps paths to them. */
#ifndef DREAMAUTH_HANDLERS_H
#define DREAMAUTH_HANDLERS_H
#include "workers/http_server.h"

void handle_health(struct http_exchange *ex);
void handle_live(struct http_exchange *ex);	/* liveness: the loop answers; no checks */
void handle_verify(struct http_exchange *ex);
void handle_sign_in(struct http_exchange *ex);
void handle_sign_up(struct http_exchange *ex);
void handle_sign_out(struct http_exchange *ex);
void handle_change_password(struct http_exchange *ex);
void handle_login_page(struct http_exchange *ex);
void handle_signup_page(struct http_exchange *ex);
void handle_me(struct http_exchange *ex);
void handle_sessions_list(struct http_exchange *ex);
void handle_sessions_revoke(struct http_exchange *ex);
void handle_account_page(struct http_exchange *ex);
void handle_root(struct http_exchange *ex);
/* Passkeys (workers/auth_passkey.c): every /api/auth/passkey/ path, the
 * second-factor page /login/passkey, the script */
void handle_passkey(struct http_exchange *ex);
void handle_passkey_second_factor_page(struct http_exchange *ex);
void handle_passkey_script(struct http_exchange *ex);
/* Sign-In With Ethereum (workers/auth_siwe.c): every /api/auth/siwe/ path; the script */
void handle_siwe(struct http_exchange *ex);
void handle_siwe_script(struct http_exchange *ex);
/* The browser SDK (workers/sdk.c): ES module and classic script. */
void handle_sdk_module(struct http_exchange *ex);
void handle_sdk_script(struct http_exchange *ex);
/* Email flows (workers/auth_email.c, auth_email.h): verification, reset,
 * emailed codes (every /api/auth/email-otp/ path) */
void handle_send_verification_email(struct http_exchange *ex);
void handle_verify_email(struct http_exchange *ex);
void handle_request_password_reset(struct http_exchange *ex);
void handle_reset_password(struct http_exchange *ex);
void handle_forgot_password_page(struct http_exchange *ex);
void handle_reset_password_page(struct http_exchange *ex);
void handle_sign_in_email_otp(struct http_exchange *ex);
void handle_email_otp(struct http_exchange *ex);
/* Administration (workers/admin_api*.c, admin_console*.c): every /api/admin
 * and /admin path */
void handle_admin_api(struct http_exchange *ex);
void handle_admin_console(struct http_exchange *ex);
/* GET /metrics (workers/metrics_endpoint.c), GET /api/admin/audit (workers/admin_audit.c) */
void handle_metrics(struct http_exchange *ex);
void handle_admin_audit(struct http_exchange *ex);
/* OpenID Connect provider (workers/oidc_*.c) */
void handle_oauth_authorize(struct http_exchange *ex);
void handle_oauth_consent(struct http_exchange *ex);
void handle_oauth_token(struct http_exchange *ex);
void handle_oauth_userinfo(struct http_exchange *ex);
void handle_oauth_introspect(struct http_exchange *ex);
void handle_oauth_revoke(struct http_exchange *ex);
void handle_oauth_end_session(struct http_exchange *ex);
#endif
