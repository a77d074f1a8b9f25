/*
 * mailer process: delivers the outbox (migrations/011) over SMTP
 * (mail/smtp_send.c). It holds SMTP_PASS and nothing else: no database
 * password (the master brokers it a link to the store, like a worker's, and
 * the store answers it only the outbox operations, STORE_OPS_MAILER), no
 * AUTH_SECRET, no signing key. Runs as SERVICE_USER (a secret holder,
 * apart from RUN_USER's HTTP workers), under its own seccomp profile
 * (SANDBOX_MAILER: what libcurl needs for SMTP over TLS).
 *
 * One message at a time: claim (a lease of twice SMTP_TIMEOUT), build,
 * send, then mark delivered or failed (the store schedules the retry with
 * exponential backoff and gives up after SMTP_MAX_ATTEMPTS). It looks at
 * the outbox every SMTP_POLL_INTERVAL seconds, and at once when the store's
 * listener heard NOTIFY dreamauth_outbox (a message queued by any
 * instance): the listener bumps a counter in shared memory that this loop
 * checks four times a second, so a worker never talks to the mailer and
 * the mailer needs no socket the master did not hand it.
 *
 * At-least-once: a message is marked delivered only after the relay
 * accepted it; a crash (or a lost store link) between the two re-sends it
 * once the lease runs out, with the same Message-ID (outbox-<id>.<created>)
 * so a receiving system can tell.
 */
#include "mail/mailer.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "mail/smtp_send.h"
#include "proc/actor_loop.h"
#include "proc/ipc_channel.h"
#include "proc/privdrop.h"
#include "proc/sandbox.h"
#include "proto/mail_message.h"
#include "proto/store_ops.h"
#include "proto/store_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#define STORE_WAIT_MS 15000
#define WAKE_CHECK_MS 250

static volatile sig_atomic_t mailer_stop;
static int ctrl;
static int store_fd = -1;
static uint64_t next_rid = 1;

static void on_term(int sig)
{
	(void)sig;
	mailer_stop = 1;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop_store_link(bool ask_for_another)
{
	if (store_fd >= 0)
		close(store_fd);
	store_fd = -1;
	if (ask_for_another) {
		struct ipc_msg again = { .type = IPC_PEER_FD, .kind = IPC_PEER_STORE, .slot = ACTOR_SLOT_MAILER };
		ipc_send(ctrl, &again, -1);
	}
}

/* The master hands over (and replaces) the store link. */
static void ctrl_messages(void)
{
	for (;;) {
		struct ipc_msg m;
		int passed = -1;
		int rc = ipc_recv(ctrl, &m, &passed);
		if (rc == 0)
			return;
		if (rc < 0)
			fatalx("control channel lost");
		if (m.type == IPC_PEER_FD && m.kind == IPC_PEER_STORE && passed >= 0) {
			drop_store_link(false);
			store_fd = passed;
		} else if (passed >= 0) {
			close(passed);
		}
		ipc_msg_free(&m);
	}
}

/* One store operation, waited for. The reply's status (STORE_UNAVAILABLE
 * when there is no link or no answer in time). */
static int store_call_sync(uint32_t op, const struct store_value *args, unsigned n, struct store_reply *out)
{
	static uint8_t buf[IPC_MAX_STR];
	struct store_request req = { .op = op, .budget_ms = STORE_WAIT_MS, .n_args = n };
	struct ipc_msg msg = { .type = IPC_STORE_REQ, .rid = next_rid++ };
	int64_t deadline = monotonic_ms() + STORE_WAIT_MS;
	long len;

	memset(out, 0, sizeof(*out));
	out->status = STORE_UNAVAILABLE;
	if (n)
		memcpy(req.args, args, n * sizeof(*args));
	len = store_request_encode(&req, buf, sizeof(buf));
	if (len < 0) {
		out->status = STORE_REFUSED;
		return out->status;
	}
	msg.s1 = (char *)buf;
	msg.s1_len = (size_t)len;
	if (store_fd < 0 || ipc_send(store_fd, &msg, -1) < 0)
		return out->status;
	while (!mailer_stop) {
		int64_t left = deadline - monotonic_ms();
		struct pollfd p = { .fd = store_fd, .events = POLLIN };
		struct ipc_msg m;
		if (left <= 0) {
			log_warnx("the store did not answer %s in time", store_op_spec(op)->name);
			return out->status;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			fatal("poll");
		int rc = ipc_recv(store_fd, &m, NULL);
		if (rc == 0)
			continue;
		if (rc < 0) {
			log_warnx("store link %s", rc == -2 ? "sent a malformed frame" : "closed");
			drop_store_link(rc == -2);
			return out->status;
		}
		bool ours = m.type == IPC_STORE_RESP && m.rid == msg.rid;
		if (ours && store_reply_decode(op, (const uint8_t *)m.s1, m.s1_len, out) < 0) {
			log_warnx("malformed store reply to %s", store_op_spec(op)->name);
			*out = (struct store_reply){ .status = STORE_ERROR };
		}
		ipc_msg_free(&m);
		if (ours)
			return out->status;
	}
	return out->status;
}

static void report(uint32_t op, const struct store_value *args, unsigned n)
{
	struct store_reply r;
	if (store_call_sync(op, args, n, &r) != STORE_OK)
		log_warnx("could not record the outcome of outbox message %lld (%s): it may be sent again",
		    (long long)args[0].i, store_op_spec(op)->name);
	store_reply_free(&r);
}

/* Delivers the next due message: true when there was one. */
static bool deliver_one(void)
{
	const struct store_value lease[] = { STORE_V_INT(2 * cfg.smtp_timeout + 30) };
	struct store_reply r;
	char boundary[33], id[64], err[512];
	uint8_t rnd[16];
	static char msg[MAIL_MESSAGE_MAX];

	if (store_call_sync(STORE_OP_OUTBOX_CLAIM, lease, 1, &r) != STORE_OK || r.n_rows != 1) {
		store_reply_free(&r);
		return false;
	}
	int64_t outbox_id = store_int(&r, 0, OUTBOX_MESSAGE_ID), attempt = store_int(&r, 0, OUTBOX_MESSAGE_ATTEMPTS);
	secure_random(rnd, sizeof(rnd));
	secure_hex(rnd, sizeof(rnd), boundary);
	snprintf(id, sizeof(id), "outbox-%lld.%lld", (long long)outbox_id,
	    (long long)store_int(&r, 0, OUTBOX_MESSAGE_CREATED));
	struct mail_message m = { .from = cfg.smtp_from, .to = store_text(&r, 0, OUTBOX_MESSAGE_RECIPIENT),
		.subject = store_text(&r, 0, OUTBOX_MESSAGE_SUBJECT), .text = store_text(&r, 0, OUTBOX_MESSAGE_TEXT),
		.html = store_text(&r, 0, OUTBOX_MESSAGE_HTML), .date = time(NULL), .message_id = id,
		.boundary = boundary };
	long len = mail_message_build(&m, msg, sizeof(msg));
	int rc = -1;
	if (len < 0)
		snprintf(err, sizeof(err), "refused: the message cannot be built (recipient or subject not fit for a header)");
	else
		rc = smtp_send(m.to, msg, (size_t)len, err, sizeof(err));
	secure_wipe(msg, sizeof(msg));	/* codes and links */
	store_reply_free(&r);
	if (rc == 0) {
		log_info("delivered outbox message %lld (attempt %lld)", (long long)outbox_id, (long long)attempt);
		const struct store_value a[] = { STORE_V_INT(outbox_id) };
		report(STORE_OP_OUTBOX_DELIVERED, a, 1);
	} else {
		log_warnx("delivery of outbox message %lld failed (attempt %lld): %s", (long long)outbox_id,
		    (long long)attempt, err);
		const struct store_value a[] = { STORE_V_INT(outbox_id), STORE_V_TEXT(err) };
		report(STORE_OP_OUTBOX_FAILED, a, 2);
	}
	return true;
}

void mailer_main(int ctrl_fd, struct shm_region *shm)
{
	uint64_t seen = 0;
	int64_t next_poll = 0;

	log_set_role("mailer");
	proctitle_set("mailer");
	ctrl = ctrl_fd;
	/* Before confinement: libcurl's and OpenSSL's one-time set-up. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init");
	config_forget_database_url();
	actor_confine(cfg.service_user, on_term);
	smtp_set_abort_flag(&mailer_stop);
	if (sandbox_enter(SANDBOX_MAILER) < 0)
		fatalx("cannot install the seccomp filter (SECCOMP=false runs without it)");
	log_debug("delivering through %s:%d", cfg.smtp_host, cfg.smtp_port);
	while (!mailer_stop) {
		struct pollfd p = { .fd = ctrl, .events = POLLIN };
		if (poll(&p, 1, WAKE_CHECK_MS) > 0)
			ctrl_messages();
		if (store_fd < 0)
			continue;
		uint64_t wake = atomic_load(&shm->status->outbox_wakeups);
		int64_t now = monotonic_ms();
		if (wake == seen && now < next_poll)
			continue;
		seen = wake;
		next_poll = now + (int64_t)cfg.smtp_poll_interval * 1000;
		while (!mailer_stop && deliver_one())
			;
	}
	drop_store_link(false);
	curl_global_cleanup();
	log_info("exiting");
	exit(0);
}
