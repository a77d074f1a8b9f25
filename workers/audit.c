/* Failures a worker records in the audit log (see audit.h). */
#include "workers/audit.h"
#include "workers/metrics_hooks.h"
#include "workers/store_client.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void recorded(const struct store_reply *reply, void *arg)
{
	const char *event = arg;
	if (reply->status != STORE_OK)
		log_warnx("audit: could not record a %s failure (%s)", event, store_status_text(reply->status));
}

void audit_failure(struct http_exchange *ex, const char *event, const char *method, const char *actor_user_id,
    const char *reason, json_t *detail)
{
	char *text;

	if (!detail)
		detail = json_object();
	if (reason)
		json_object_set_new(detail, "reason", json_string(reason));
	text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	/* event names are string literals: they outlive the call */
	STORE_CALL_FROM(ex, NULL, STORE_OP_AUDIT_FAILURE, recorded, (void *)event, STORE_V_TEXT(event),
	    STORE_V_TEXT("failure"), STORE_V_TEXT(method), STORE_V_TEXT_OR_NULL(actor_user_id), STORE_V_NULL,
	    STORE_V_NULL, STORE_V_TEXT_OR_NULL(text));
	free(text);
}

void audit_sign_in_failed(struct http_exchange *ex, const char *method, const char *actor_user_id,
    const char *typed_name, const char *reason)
{
	json_t *detail = json_object();

	if (detail && typed_name && *typed_name)
		json_object_set_new(detail, "name", json_stringn(typed_name, strnlen(typed_name, 320)));
	metrics_sign_in(method, false);
	audit_failure(ex, "sign_in", method, actor_user_id, reason, detail);
}
