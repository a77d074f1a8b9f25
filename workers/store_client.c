/* Asynchronous calls from a worker to the store actor (see store_client.h). */
#include "workers/store_client.h"
#include "common/config.h"
#include "common/log.h"
#include "workers/worker_ctx.h"
#include "workers/metrics_hooks.h"

#include <stdio.h>
#include <stdlib.h>

struct store_call_state {
	uint32_t op;
	store_done_fn done;
	void *arg;
	int32_t status;		/* for a call that failed before it was sent */
};

/* A worker waits this long when DB_STATEMENT_TIMEOUT_MS is 0 (no statement
 * limit): the store link itself must still not hang a request forever. */
#define STORE_DEFAULT_DEADLINE_MS 30000

static int deadline_ms(void)
{
	return cfg.db_statement_timeout_ms > 0 ? cfg.db_statement_timeout_ms : STORE_DEFAULT_DEADLINE_MS;
}

static void on_reply(const struct ipc_msg *msg, void *arg)
{
	struct store_call_state *call = arg;
	struct store_reply reply = { .status = STORE_TIMEOUT };

	if (msg && (msg->type != IPC_STORE_RESP ||
	               store_reply_decode(call->op, (const uint8_t *)msg->s1, msg->s1_len, &reply) < 0)) {
		log_warnx("malformed store reply to %s", store_op_spec(call->op)->name);
		reply = (struct store_reply){ .status = STORE_ERROR };
	}
	if (reply.status == STORE_TIMEOUT)
		log_debug("store did not answer %s in time", store_op_spec(call->op)->name);
	metrics_store_reply(reply.status);
	call->done(&reply, call->arg);
	store_reply_free(&reply);
	free(call);
}

static void failed_before_sending(evutil_socket_t fd, short what, void *arg)
{
	struct store_call_state *call = arg;
	struct store_reply reply = { .status = call->status };
	(void)fd;
	(void)what;
	metrics_store_reply(reply.status);
	call->done(&reply, call->arg);
	free(call);
}

void store_context_from(const struct http_exchange *ex, const char *acting_user_id, struct store_context *ctx,
    char ua[STORE_CONTEXT_USER_AGENT_MAX + 1])
{
	const struct http_str *h = http_request_header(&ex->req, "user-agent");
	size_t o = 0;

	/* Printable ASCII; anything else as \xNN, cut at a whole character. */
	for (size_t i = 0; h && i < h->len; i++) {
		unsigned char c = (unsigned char)h->p[i];
		size_t need = c >= 0x20 && c < 0x7f ? 1 : 4;
		if (o + need > STORE_CONTEXT_USER_AGENT_MAX)
			break;
		if (need == 1)
			ua[o] = (char)c;
		else
			snprintf(ua + o, 5, "\\x%02x", c);
		o += need;
	}
	ua[o] = '\0';
	*ctx = (struct store_context){
		.client_ip = ex->client_ip[0] ? ex->client_ip : NULL,
		.user_agent = h ? ua : NULL,
		.actor_user_id = acting_user_id,
	};
}

void store_call_from(const struct http_exchange *ex, const char *acting_user_id, uint32_t op,
    const struct store_value *args, unsigned n_args, store_done_fn done, void *arg)
{
	char ua[STORE_CONTEXT_USER_AGENT_MAX + 1];
	struct store_context ctx;

	store_context_from(ex, acting_user_id, &ctx, ua);
	store_call_context(&ctx, op, args, n_args, done, arg);
}

void store_call(uint32_t op, const struct store_value *args, unsigned n_args, store_done_fn done, void *arg)
{
	store_call_context(NULL, op, args, n_args, done, arg);
}

void store_call_context(const struct store_context *ctx, uint32_t op, const struct store_value *args, unsigned n_args,
    store_done_fn done, void *arg)
{
	static uint8_t buf[IPC_MAX_STR];
	struct store_request req = { .op = op, .budget_ms = (uint32_t)deadline_ms(), .n_args = n_args };
	struct ipc_msg msg = { .type = IPC_STORE_REQ };
	struct store_call_state *call = calloc(1, sizeof(*call));
	long len = -1;

	if (!call) {
		struct store_reply oom = { .status = STORE_UNAVAILABLE };
		done(&oom, arg);	/* nothing else can be done without memory */
		return;
	}
	*call = (struct store_call_state){ .op = op, .done = done, .arg = arg, .status = STORE_REFUSED };
	if (ctx)
		req.ctx = *ctx;
	if (n_args <= STORE_MAX_ARGS) {
		for (unsigned i = 0; i < n_args; i++)
			req.args[i] = args[i];
		len = store_request_encode(&req, buf, sizeof(buf));
	}
	if (len < 0) {
		log_warnx("store request %s does not fit its shape", store_op_spec(op) ? store_op_spec(op)->name : "?");
	} else {
		msg.s1 = (char *)buf;
		msg.s1_len = (size_t)len;
		call->status = STORE_UNAVAILABLE;
		if (ipc_client_call(worker->store, &msg, deadline_ms(), on_reply, call) == 0)
			return;
	}
	/* Never call back before returning: callers set up state after calling. */
	struct timeval now = { 0, 0 };
	if (event_base_once(worker->base, -1, EV_TIMEOUT, failed_before_sending, call, &now) < 0) {
		log_warnx("cannot schedule a store failure callback");
		free(call);
	}
}

bool store_failed(const struct store_reply *reply)
{
	return reply->status != STORE_OK && reply->status != STORE_CONFLICT;
}

void store_reply_unavailable(struct http_exchange *ex)
{
	http_reply_header(ex, "Retry-After", "1");
	http_reply_error(ex, 503, "temporarily_unavailable", "the account store is unavailable; try again shortly");
}
