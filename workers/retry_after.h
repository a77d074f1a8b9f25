/*
 * Retry-After on a refused request (429 over a rate limit, 503): one header
 * from the seconds the limiter (shm/rate_limit.h) answered.
 */
#ifndef DREAMAUTH_RETRY_AFTER_H
#define DREAMAUTH_RETRY_AFTER_H
#include "workers/http_server.h"

/* "Retry-After: <seconds>" on the reply being built; before http_reply_*. */
void http_reply_retry_after(struct http_exchange *ex, int seconds);
#endif
