/*
 * HTTP/1.1 on libevent bufferevents: accept, read, parse with the strict
 * proto/http_request parser, hand each request to the router as an
 * exchange, write the response. Keep-alive, pipelining (one request in
 * flight per connection, the next parsed after the reply), limits and
 * timeouts. Handlers may answer later (after IPC or a hash): the exchange
 * stays valid until http_reply_* is called, even if the client has gone.
 */
#ifndef DREAMAUTH_HTTP_SERVER_H
#define DREAMAUTH_HTTP_SERVER_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include "proto/http_request.h"

struct http_conn;

struct http_exchange {
	struct http_conn *conn;
	struct http_request req;
	const char *body;		/* NUL-terminated copy (decoded if chunked) */
	size_t body_len;
	char client_ip[64];
	struct evbuffer *out_headers;	/* extra response headers, "Name: value\r\n" */
	bool head_only;			/* HEAD request: no body on the wire */
	bool replied;
	void *handler_state;		/* free for the handler */
	int route_id;			/* for /metrics: set by the router (workers/router.c), else "other" */
	uint64_t started_ns;		/* monotonic, when the request was complete */
};

typedef void (*http_handler_fn)(struct http_exchange *ex);

struct http_server_limits {
	struct http_limits parse;
	int read_timeout_s;		/* idle keep-alive: no byte for this long closes */
	int request_timeout_s;		/* a head must arrive within this from its first byte, its body
					 * within this again (slowloris); 0 = no such deadline */
	int write_timeout_s;
	int max_connections;
	/* Accept balancing across the workers sharing the listening sockets:
	 * each publishes its open connections in board[slot]; a worker holding 2
	 * or more than a live peer (pids[j] != 0) lets that peer take the next
	 * connection. NULL board: no balancing. */
	_Atomic int32_t *board;
	const _Atomic int32_t *pids;
	int slot, n_slots;
};

struct http_server;
struct http_server *http_server_new(struct event_base *base, const int *listen_fds, int n_fds,
    const struct http_server_limits *limits, http_handler_fn handler);
/* Stop accepting; existing connections finish their request and close. */
void http_server_stop_accepting(struct http_server *s);
/* Close connections with no request in progress; others close after replying. */
void http_server_close_idle(struct http_server *s);
int http_server_active_connections(const struct http_server *s);
void http_server_free(struct http_server *s);

/* Response building. A header whose value holds a control byte (CR, LF, ESC,
 * DEL; TAB is allowed) is not emitted and is logged. */
void http_reply_header(struct http_exchange *ex, const char *name, const char *value);
/* Ends the exchange: once a handler that answers later (after IPC) has
 * called it, the request's bytes (ex->req, ex->body) are zeroed (they may
 * hold a password) and must not be read again. */
void http_reply(struct http_exchange *ex, int status, const char *content_type, const char *body, size_t len);
void http_reply_json(struct http_exchange *ex, int status, const char *json);
/* {"error":..., "error_description":...} */
void http_reply_error(struct http_exchange *ex, int status, const char *error, const char *description);
void http_reply_redirect(struct http_exchange *ex, const char *location);	/* 302 */
const char *http_status_text(int status);
/* Request helpers */
bool http_exchange_is_form(const struct http_exchange *ex);
bool http_exchange_is_json(const struct http_exchange *ex);
#endif
