#include "workers/handlers.h"
void handle_admin_console(struct http_exchange *ex)
{
	http_reply_error(ex, 404, "not_found", "soon");
}
