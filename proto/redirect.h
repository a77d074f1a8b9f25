/*
 * Return-URL (rd=, redirect targets after sign-in) validation: no open
 * redirects. Pure. A target is allowed when it is
 *  - a relative path: starts with exactly one '/', not "//" nor "/\", or
 *  - an absolute http(s) URL (https only unless allow_http) whose host is the
 *    issuer's host, or equals cookie_domain without its leading dot, or ends
 *    with "." + that domain.
 * Always refused: userinfo (user@host), backslashes anywhere, control bytes
 * or spaces, other schemes (javascript:, data:, ...), percent-encoded or
 * IDN-confusable tricks in the host (the host must be [a-z0-9.-] only, case-
 * insensitive, optional :port of digits), longer than 2048 bytes.
 */
#ifndef DREAMAUTH_REDIRECT_H
#define DREAMAUTH_REDIRECT_H
#include <stdbool.h>
#include <stddef.h>

/* issuer_host: host[:port] of AUTH_URL; cookie_domain may be NULL. */
bool redirect_target_allowed(const char *url, size_t len, const char *issuer_host, const char *cookie_domain,
    bool allow_http);
/* Host (without port) of an absolute http(s) URL into out; -1 if none/invalid. */
int redirect_url_host(const char *url, size_t len, char *out, size_t cap);
/* host[len] (no port) is this machine: localhost (any case), 127.0.0.1 or
 * [::1]. The only hosts where plain http is acceptable (issuer, redirect URIs). */
bool host_is_loopback(const char *host, size_t len);
#endif
