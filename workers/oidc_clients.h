/*
 * The registry of OIDC clients a worker knows: from OIDC_CLIENTS (JSON in the
 * environment), OIDC_CLIENTS_FILE (reloaded on SIGHUP and when the file
 * changes: mtime/inode/size polled once a second, which also catches a
 * Kubernetes ConfigMap swapping its symlink) and the oauth_clients table
 * (`dreamauth client add`). Configuration clients win over database clients
 * with the same id. A bad file keeps the previous clients and logs one error.
 *
 * Clients are reference counted: a handler that keeps one across an IPC call
 * holds a reference, so a reload in between cannot free it.
 */
#ifndef DREAMAUTH_WORKERS_OIDC_CLIENTS_H
#define DREAMAUTH_WORKERS_OIDC_CLIENTS_H
#include <stdbool.h>
#include <stddef.h>
#include "proto/oidc_clients.h"

/* Master, before forking: load env + file. -1 with err on a bad config. */
int oidc_registry_init(char *err, size_t errlen);
/* Re-read OIDC_CLIENTS_FILE now (SIGHUP). */
void oidc_registry_reload(const char *why);
/* Called every second: reload when the file's identity changed. */
void oidc_registry_poll(void);

/* rc 1: found, c is a new reference (release it); 0: unknown (c NULL);
 * -1: the store could not tell (c NULL; answer 503). A configuration client
 * is answered before this returns; a database client after a store call. */
typedef void (*oidc_client_found_fn)(struct oidc_client *c, int rc, void *arg);
void oidc_client_find(const char *client_id, oidc_client_found_fn done, void *arg);
void oidc_client_release(struct oidc_client *c);

bool oidc_client_redirect_ok(const struct oidc_client *c, const char *uri);
bool oidc_client_post_logout_ok(const struct oidc_client *c, const char *uri);
/* Constant-time check of a presented secret against the stored SHA-256. */
bool oidc_client_secret_ok(const struct oidc_client *c, const char *secret);
/* Number of clients from configuration (env + file). */
size_t oidc_registry_size(void);
/* The i-th configuration client (no reference taken: use it at once), or NULL. */
const struct oidc_client *oidc_registry_config_client(size_t i);
bool oidc_registry_is_config_client(const char *client_id);
#endif
