/*
 * The store's side of the email flows (store/mail_flows.c): the key that
 * hashes emailed one-time codes. Derived from AUTH_SECRET before the store
 * forgets it, it never leaves the store: a database dump alone does not let
 * anyone try the million codes offline.
 */
#ifndef DREAMAUTH_STORE_MAIL_FLOWS_H
#define DREAMAUTH_STORE_MAIL_FLOWS_H

/* 0, or -1 when secret is NULL or HKDF failed. */
int store_mail_keys_init(const char *auth_secret);
#endif
