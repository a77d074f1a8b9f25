#include "workers/retry_after.h"

#include <stdio.h>

void http_reply_retry_after(struct http_exchange *ex, int seconds)
{
	char text[16];
	snprintf(text, sizeof(text), "%d", seconds);
	http_reply_header(ex, "Retry-After", text);
}
