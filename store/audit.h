/*
 * The audit log (migrations/014): one row per security event, written by the
 * store inside the transaction of the change it describes, so an event is
 * recorded exactly once, and only when the change commits. With
 * AUDIT_LOG=stdout each committed row is also written to standard output as
 * one JSON line (ASCII only: every other character escaped).
 *
 * Never put a secret in an event: no password, token, code, cookie or client
 * secret, in detail or anywhere else.
 */
#ifndef DREAMAUTH_STORE_AUDIT_H
#define DREAMAUTH_STORE_AUDIT_H
#include <stdbool.h>
#include <stdio.h>
#include <libpq-fe.h>
#include "proto/store_wire.h"

struct audit_event {
	const char *event;		/* sign_in, sign_up, password_change, ... (lower case, '_' and '.') */
	const char *result;		/* "success" (NULL) or "failure" */
	const char *method;		/* password, passkey, siwe, cli ... (NULL: "") */
	const char *actor_user_id;	/* who did it: a user's uuid, or NULL */
	const char *actor_client_id;	/* or an OAuth client */
	const char *target_type;	/* what it was done to: user, session, passkey, wallet, client, key */
	const char *target_id;
	const char *client_ip;		/* from the request's context (NULL from the CLI) */
	const char *user_agent;
	const char *detail;		/* a JSON object as text, or NULL for {} */
};

/* The event as a worker's request describes it: its client IP and user
 * agent, and as actor the admin acting (ctx.actor_user_id) or else
 * actor_user_id. With method NULL: "cli" for the CLI's requests (they carry
 * no context), "admin" when an admin acts (ctx.actor_user_id), else "". */
struct audit_event audit_event_for(const struct store_request *req, const char *event, const char *method,
    const char *actor_user_id);

/* A request from the CLI (store_exec: no context), as opposed to a worker's. */
bool audit_request_from_cli(const struct store_request *req);

/* Records ev on db. Inside the caller's transaction when one is open (a
 * false return then means the transaction is lost: fail it), else on its
 * own. The JSON line (AUDIT_LOG=stdout) waits for the COMMIT. */
bool store_audit_record(PGconn *db, const struct audit_event *ev);
/* Shorthand: audit_event_for(req, event, method, actor) with a target and a
 * detail (NULL: {}), recorded by store_audit_record. */
bool store_audit(PGconn *db, const struct store_request *req, const char *event, const char *method,
    const char *actor_user_id, const char *target_type, const char *target_id, const char *detail);
/* An admin action (the admin API and console, store/admin_*.c; the signer's
 * key changes with req NULL): actor "user:<uuid>" or "client:<client_id>"
 * (dreamauth_admin_actor's answer, checked in the same transaction), event
 * "admin.<target type>.<verb>" (admin.user.update, admin.client.delete,
 * admin.key.rotate, ...), target its id. Method "admin"; client IP and user
 * agent from req's context. */
bool store_audit_admin(PGconn *db, const struct store_request *req, const char *actor, const char *event,
    const char *target);
/* A JSON object of string pairs for detail: audit_detail(buf, cap, "name",
 * value, ..., NULL); values escaped; NULL values left out. buf on success,
 * "{}" when it does not fit. */
const char *audit_detail(char *buf, size_t cap, ...);
/* Called by store_commit once it knows: writes (committed) or drops the
 * lines of this thread's events. */
void store_audit_transaction_end(bool committed);

/* Where AUDIT_LOG=stdout lines go: stdout (the default, the server), or
 * stderr for the CLI, whose stdout is its answer. */
void store_audit_lines_to(FILE *out);

/* Deletes rows older than days in batches (the trigger lets only this
 * through); the number deleted, or -1 on failure. */
long store_audit_sweep(PGconn *db, int days);
/* The store's sweeper thread: sweeps at start, then hourly, with its own
 * connection. Nothing when AUDIT_RETENTION_DAYS is 0. */
int store_audit_sweeper_start(void);
void store_audit_sweeper_stop(void);
#endif
