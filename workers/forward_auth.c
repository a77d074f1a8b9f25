/* Bearer tokens at forward-auth: their audience (see forward_auth.h). */
#include "workers/forward_auth.h"
#include "common/config.h"
#include "workers/oidc.h"

#include <string.h>

bool forward_auth_resource_ok(struct http_exchange *ex, const char *resource)
{
	if (!resource || !strcmp(resource, cfg.forward_auth_audience))
		return true;
	oidc_reply_error(ex, 400, "invalid_target", "this server issues tokens only for its forward-auth resource");
	return false;
}

void forward_auth_write_aud(struct json_writer *w, const char *client_id, bool for_forward_auth)
{
	if (!for_forward_auth) {
		json_writer_string(w, "aud", client_id);
		return;
	}
	json_t *aud = json_pack("[ss]", client_id, cfg.forward_auth_audience);
	if (aud)
		json_writer_value(w, "aud", aud);
	else
		w->failed = true;	/* out of memory: no token rather than one without aud */
	json_decref(aud);
}

static bool audience_contains(const json_t *aud, const char *audience)
{
	size_t i;
	const json_t *a;

	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), audience);
	json_array_foreach(aud, i, a)
		if (json_is_string(a) && !strcmp(json_string_value(a), audience))
			return true;
	return false;
}

bool forward_auth_claims_acceptable(const json_t *claims, const char *audience, bool allow_machine)
{
	if (!audience_contains(json_object_get(claims, "aud"), audience))
		return false;
	/* Our user tokens always carry auth_time; client_credentials tokens never do. */
	return allow_machine || json_object_get(claims, "auth_time") != NULL;
}
