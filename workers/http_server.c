/*
 * HTTP/1.1 server on bufferevents (see http_server.h). Measured here,
 * libevent's evhttp reaches about half of nginx's request rate; this layer
 * does the minimum per request: find the end of the head, copy it into a
 * per-connection buffer, parse it in one pass, reply with one evbuffer_add.
 */
#include "workers/http_server.h"
#include "workers/metrics_hooks.h"
#include "common/config.h"
#include "common/log.h"
#include "common/secure.h"
#include "proto/forwarded.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <event2/bufferevent.h>

struct http_server {
	struct event_base *base;
	struct event *listeners[8];
	int listen_fds[8];
	int n_listeners;
	struct event *accept_pause;	/* out of fds, or balancing: stop accepting briefly */
	int deferrals;			/* wakeups left to a less busy peer in a row */
	struct http_server_limits limits;
	http_handler_fn handler;
	int active;
	struct http_conn *conns;	/* all open connections, for draining */
	struct event *deadline_tick;	/* once a second: close requests past their deadline */
	unsigned tick;			/* seconds since start, counted by deadline_tick */
};

static void publish_active(struct http_server *s)
{
	if (s->limits.board)
		atomic_store(&s->limits.board[s->limits.slot], s->active);
}

struct http_conn {
	struct http_server *server;
	struct http_conn *prev, *next;
	struct bufferevent *bev;
	char client_ip[64];
	char *req_buf;			/* owned copy of the current request (head + body) */
	size_t req_cap;
	size_t req_dirty;		/* bytes of req_buf written since the last wipe */
	size_t search_from;		/* where to resume looking for CRLFCRLF */
	bool in_flight;			/* a request is with a handler */
	bool closing;			/* close once the output is flushed */
	bool peer_eof;			/* the client half-closed while a request was in flight */
	bool dead;			/* socket gone; free when the handler replies */
	bool sent_continue;
	bool dispatching;		/* inside the handler call: a reply now is synchronous */
	bool awaiting_body;		/* head parsed, body still arriving */
	bool output_paused;		/* too much output queued: not reading nor parsing until it drains */
	unsigned deadline;		/* server tick by which the request must be complete; 0 none */
	struct http_exchange ex;
};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_process(struct http_conn *c);

/* A client that pipelines requests and never reads its answers would make
 * us queue answers without end (one connection took a worker to 3.37 GB).
 * Past OUTPUT_HIGH_WATER bytes queued, the connection is neither read nor
 * parsed until the client has taken all but OUTPUT_LOW_WATER of it, as
 * nginx and h2o do; the write timeout then closes one that takes nothing. */
#define OUTPUT_HIGH_WATER (256 * 1024)
#define OUTPUT_LOW_WATER (64 * 1024)

const char *http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* The Date header changes once a second: format it once a second. */
static const char *http_date(void)
{
	static char buf[64];
	static time_t last;
	time_t now = time(NULL);
	if (now != last) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		last = now;
	}
	return buf;
}

/* A request may carry a password or a client secret: its bytes go once
 * it is answered, not when the next request happens to overwrite them. */
static void request_wipe(struct http_conn *c)
{
	secure_wipe(c->req_buf, c->req_dirty);
	c->req_dirty = 0;
}

/* Copies the first n buffered bytes into req_buf (which has room). */
static void request_copy_in(struct http_conn *c, struct evbuffer *in, size_t n)
{
	evbuffer_copyout(in, c->req_buf, n);
	if (n > c->req_dirty)
		c->req_dirty = n;
}

static void conn_free(struct http_conn *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->ex.out_headers)
		evbuffer_free(c->ex.out_headers);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->server->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->server->active--;
	publish_active(c->server);
	secure_free(c->req_buf);
	free(c);
}

/* The socket is done; keep the struct while a handler still owns the exchange. */
static void conn_close(struct http_conn *c)
{
	if (c->in_flight) {
		if (c->bev) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		c->dead = true;
		return;
	}
	conn_free(c);
}

/* Nothing of ours waits to be written (the kernel may still hold some). */
static bool output_flushed(const struct http_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

static size_t output_queued(const struct http_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Called with more than OUTPUT_HIGH_WATER queued: stop reading, and have
 * conn_write_cb called once the output is down to OUTPUT_LOW_WATER. */
static void output_pause(struct http_conn *c)
{
	c->output_paused = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUTPUT_LOW_WATER, 0);
}

/* The client has read enough: read again (unless it is gone or we are
 * closing) and answer what it pipelined meanwhile. May free c. */
static void output_resume(struct http_conn *c)
{
	c->output_paused = false;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (!c->peer_eof && !c->closing)
		bufferevent_enable(c->bev, EV_READ);
	conn_process(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	if (c->closing && output_flushed(c))
		conn_close(c);
	else if (c->output_paused && output_queued(c) <= OUTPUT_LOW_WATER)
		output_resume(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	/* The client half-closed after its requests (printf ... | nc): answer
	 * the one in flight and those buffered behind it, and flush what is
	 * queued, then close. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (c->in_flight || !output_flushed(c))) {
		c->peer_eof = true;
		bufferevent_disable(bev, EV_READ);
		if (!c->in_flight)
			c->closing = true;	/* conn_write_cb closes once flushed */
		return;
	}
	/* Reading stays on while a handler works: its slowness is not the
	 * client's idleness (libevent turned reading off; turn it back on). */
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->in_flight && !c->output_paused) {
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* Idle keep-alive or a slow client: just close, like nginx. */
		log_debug("connection from %s timed out", c->client_ip);
	}
	conn_close(c);
}

/* RFC 9110 5.5: a field value is visible characters, spaces and tabs. CR/LF
 * would split the response; other control bytes (ESC, VT, DEL) reach an app
 * behind forward-auth, or its terminal, as they are. */
static bool header_value_clean(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

void http_reply_header(struct http_exchange *ex, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") || !header_value_clean(value)) {
		log_warnx("refusing to emit header %s with a control character", name);
		return;
	}
	if (!ex->out_headers)
		ex->out_headers = evbuffer_new();
	/* Copied straight into the buffer, not evbuffer_add_printf: vfprintf
	 * was 5 % of a worker's time on /api/verify, which adds six headers. */
	size_t nl = strlen(name), vl = strlen(value);
	struct evbuffer_iovec v;
	if (!ex->out_headers || evbuffer_reserve_space(ex->out_headers, (ev_ssize_t)(nl + vl + 4), &v, 1) != 1)
		return;
	memcpy(v.iov_base, name, nl);
	memcpy((char *)v.iov_base + nl, ": ", 2);
	memcpy((char *)v.iov_base + nl + 2, value, vl);
	memcpy((char *)v.iov_base + nl + 2 + vl, "\r\n", 2);
	v.iov_len = nl + vl + 4;
	evbuffer_commit_space(ex->out_headers, &v, 1);
}

static void write_simple_error(struct http_conn *c, int status)
{
	char buf[512];
	char body[160];
	int blen = snprintf(body, sizeof(body), "{\"error\":\"invalid_request\",\"error_description\":\"%s\"}",
	    http_status_text(status));
	int n = snprintf(buf, sizeof(buf),
	    "HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
	    status, http_status_text(status), http_date(), blen, body);
	bufferevent_write(c->bev, buf, (size_t)n);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	metrics_http(METRICS_ROUTE_OTHER, status, 0);	/* never reached a route */
}

/* Write the answer straight to the socket when nothing is queued before it
 * and queue only what did not fit. Most answers fit the socket buffer, so
 * the bufferevent never has to wait for EPOLLOUT: that saves an epoll_ctl to
 * add the write event and one to remove it, per request. */
static void send_or_queue(struct http_conn *c, const struct iovec *iov, int n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t sent = 0;

	if (evbuffer_get_length(out) == 0) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(bufferevent_getfd(c->bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		/* EAGAIN or a dead peer: queue it all; the bufferevent reports errors. */
		sent = w > 0 ? (size_t)w : 0;
	}
	for (int i = 0; i < n; i++) {
		size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
		sent -= skip;
		if (iov[i].iov_len > skip)
			evbuffer_add(out, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
	}
}

static char *append(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The status line and fixed headers, assembled by hand: snprintf's vfprintf
 * was the largest user-space cost left on /api/verify. */
static int format_head(char *head, size_t cap, int status, const char *content_type, size_t len, bool keep)
{
	const char *text = http_status_text(status), *date = http_date();
	size_t text_len = strlen(text), date_len = strlen(date), type_len = content_type ? strlen(content_type) : 0;
	char digits[24];
	int nd = 0;
	char *p = head;

	if (status < 100 || status > 999 || text_len + date_len + type_len + 128 > cap)
		return snprintf(head, cap, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n%s%s%s%s", status, text, date, len,
		    content_type ? "Content-Type: " : "", content_type ? content_type : "", content_type ? "\r\n" : "",
		    keep ? "" : "Connection: close\r\n");
	p = append(p, "HTTP/1.1 ", 9);
	*p++ = (char)('0' + status / 100);
	*p++ = (char)('0' + status / 10 % 10);
	*p++ = (char)('0' + status % 10);
	*p++ = ' ';
	p = append(p, text, text_len);
	p = append(p, "\r\n", 2);
	p = append(p, date, date_len);
	/* RFC 9110 8.6: no Content-Length on a 204 (CORS preflights). */
	if (status != 204) {
		p = append(p, "Content-Length: ", 16);
		do
			digits[nd++] = (char)('0' + len % 10);
		while (len /= 10);
		while (nd)
			*p++ = digits[--nd];
		p = append(p, "\r\n", 2);
	}
	if (content_type) {
		p = append(p, "Content-Type: ", 14);
		p = append(p, content_type, type_len);
		p = append(p, "\r\n", 2);
	}
	if (!keep)
		p = append(p, "Connection: close\r\n", 19);
	return (int)(p - head);
}

void http_reply(struct http_exchange *ex, int status, const char *content_type, const char *body, size_t len)
{
	struct http_conn *c = ex->conn;
	char head[512];
	int n;

	if (ex->replied)
		return;
	ex->replied = true;
	metrics_http(ex->route_id, status, ex->started_ns);
	if (c->dead) {
		c->in_flight = false;
		conn_free(c);
		return;
	}
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool keep = ex->req.keep_alive && !c->closing;
	n = format_head(head, sizeof(head), status, content_type, len, keep);
	size_t extra = ex->out_headers ? evbuffer_get_length(ex->out_headers) : 0;
	struct iovec iov[4] = {
		{ head, (size_t)n },
		{ extra ? evbuffer_pullup(ex->out_headers, -1) : NULL, extra },
		{ "\r\n", 2 },
		{ (void *)body, len && !ex->head_only ? len : 0 },
	};
	send_or_queue(c, iov, 4);
	if (extra)
		evbuffer_drain(ex->out_headers, extra);

	/* Done with this request: drop it from the input and look at the next. */
	c->in_flight = false;
	if (!c->dispatching)
		request_wipe(c);	/* answered later: the handler is done with it */
	if (!keep) {
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		/* Inside conn_process's handler call, conn_process closes (c stays valid for it). */
		if (evbuffer_get_length(out) == 0 && !c->dispatching)
			conn_close(c);
		return;
	}
	/* A synchronous reply: conn_process's loop goes on with the next request
	 * itself. A later one: reading was never turned off (and must stay off
	 * after the client's EOF), so just look at what is buffered. */
	if (c->dispatching)
		return;
	conn_process(c);
}

void http_reply_json(struct http_exchange *ex, int status, const char *json)
{
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply(ex, status, "application/json", json, strlen(json));
}

/* Whether a handler already set this header ("Name:") for the current reply.
 * out_headers lives as long as the connection, so its mere existence says nothing. */
static bool reply_has_header(struct http_exchange *ex, const char *name_colon)
{
	if (!ex->out_headers || evbuffer_get_length(ex->out_headers) == 0)
		return false;
	return evbuffer_search(ex->out_headers, name_colon, strlen(name_colon), NULL).pos >= 0;
}

void http_reply_error(struct http_exchange *ex, int status, const char *error, const char *description)
{
	/* error and description are ours (never client text), but escape anyway. */
	char buf[1024];
	size_t o = 0;
	const char *parts[2] = { error, description };
	o += (size_t)snprintf(buf, sizeof(buf), "{\"error\":\"");
	for (int i = 0; i < 2; i++) {
		for (const char *p = parts[i]; p && *p && o < sizeof(buf) - 64; p++) {
			if (*p == '"' || *p == '\\')
				buf[o++] = '\\';
			buf[o++] = (*p >= 0x20) ? *p : ' ';
		}
		if (i == 0)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\",\"error_description\":\"");
	}
	snprintf(buf + o, sizeof(buf) - o, "\"}");
	if (status == 401 && !reply_has_header(ex, "WWW-Authenticate:"))
		http_reply_header(ex, "WWW-Authenticate", "Bearer");
	http_reply_json(ex, status, buf);
}

void http_reply_redirect(struct http_exchange *ex, const char *location)
{
	http_reply_header(ex, "Location", location);
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply(ex, 302, NULL, NULL, 0);
}

static bool content_type_is(const struct http_exchange *ex, const char *type)
{
	const struct http_str *ct = http_request_header(&ex->req, "content-type");
	size_t tl = strlen(type);
	if (!ct || ct->len < tl || strncasecmp(ct->p, type, tl) != 0)
		return false;
	return ct->len == tl || ct->p[tl] == ';' || ct->p[tl] == ' ';
}

bool http_exchange_is_form(const struct http_exchange *ex)
{
	return content_type_is(ex, "application/x-www-form-urlencoded");
}

bool http_exchange_is_json(const struct http_exchange *ex)
{
	return content_type_is(ex, "application/json");
}

static bool ensure_cap(struct http_conn *c, size_t need)
{
	if (need <= c->req_cap)
		return true;
	size_t cap = c->req_cap ? c->req_cap : 2048;
	while (cap < need)
		cap *= 2;
	/* Not realloc: it would leave the old bytes behind when it moves them. */
	char *p = malloc(cap);
	if (!p)
		return false;
	if (c->req_dirty)
		memcpy(p, c->req_buf, c->req_dirty);
	secure_free(c->req_buf);
	c->req_buf = p;
	c->req_cap = cap;
	return true;
}

/* RFC 9112 2.2: empty lines before a request line are ignored (the parser
 * allows a few). Skip them when looking for the end of the head, or the
 * first CRLFCRLF would be "\r\n\r\n" itself. Bytes to skip, at most the
 * parser's allowance; costs one small copy per request head. */
static size_t leading_empty_lines(struct evbuffer *in)
{
	char lead[2 * HTTP_MAX_LEADING_EMPTY_LINES];
	ev_ssize_t got = evbuffer_copyout(in, lead, sizeof(lead));
	size_t n = got > 0 ? (size_t)got : 0, skip = 0;

	while (skip + 2 <= n && lead[skip] == '\r' && lead[skip + 1] == '\n')
		skip += 2;
	return skip;
}

/* Slowloris: a request in progress must be complete by a deadline, counted
 * from its first byte for the head and again from the head for the body,
 * whatever the pace of its bytes (the bufferevent read timeout restarts on
 * each one). Setting it costs no syscall and no timer: one per-server timer
 * looks at every connection once a second. */
static void request_deadline(struct http_conn *c, bool body)
{
	unsigned t = (unsigned)c->server->limits.request_timeout_s;

	if (!t)
		return;
	if (body && !c->awaiting_body) {
		c->awaiting_body = true;
		c->deadline = c->server->tick + t + 1;	/* + 1: ticks are whole seconds */
	} else if (!c->deadline) {
		c->deadline = c->server->tick + t + 1;
	}
}

static void deadline_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c, *next;
	(void)fd;
	(void)what;

	s->tick++;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->deadline || c->in_flight || c->closing || c->dead || (int)(s->tick - c->deadline) < 0)
			continue;
		log_debug("request from %s not complete within %d s: closing", c->client_ip,
		    s->limits.request_timeout_s);
		c->deadline = 0;
		write_simple_error(c, 408);
	}
}

/* Parse and dispatch as many complete requests as are buffered, one at a time. */
static void conn_process(struct http_conn *c)
{
	const struct http_limits *lim = &c->server->limits.parse;
	struct evbuffer *in;
	struct evbuffer_ptr found, start;
	struct http_exchange *ex = &c->ex;
	int status = 0;

	while (!c->in_flight && !c->closing && !c->dead && !c->output_paused) {
		in = bufferevent_get_input(c->bev);
		size_t avail = evbuffer_get_length(in);
		if (avail == 0) {
			if (c->peer_eof) {	/* all answered: close once flushed */
				c->closing = true;
				if (output_flushed(c))
					conn_close(c);
			}
			return;
		}
		/* Pipelined requests wait, unread, while their answers pile up:
		 * the input is bounded by the read watermark, the output here. */
		if (output_queued(c) > OUTPUT_HIGH_WATER) {
			output_pause(c);
			return;
		}
		if (c->search_from == 0)
			c->search_from = leading_empty_lines(in);
		evbuffer_ptr_set(in, &start, c->search_from, EVBUFFER_PTR_SET);
		found = evbuffer_search(in, "\r\n\r\n", 4, &start);
		if (found.pos < 0) {
			if (avail > lim->max_head) {
				write_simple_error(c, 431);
				return;
			}
			if (avail > c->search_from + 3)
				c->search_from = avail - 3;
			request_deadline(c, false);
			/* Let the parser reject garbage early (e.g. a TLS hello). */
			if (!ensure_cap(c, avail + 1))
				goto oom;
			request_copy_in(c, in, avail);
			if (http_request_parse(c->req_buf, avail, lim, &ex->req, &status) == HTTP_PARSE_ERROR) {
				write_simple_error(c, status ? status : 400);
			}
			return;
		}
		size_t head_len = (size_t)found.pos + 4;
		if (head_len > lim->max_head) {
			write_simple_error(c, 431);
			return;
		}
		if (!ensure_cap(c, head_len + 1))
			goto oom;
		request_copy_in(c, in, head_len);
		memset(&ex->req, 0, sizeof(ex->req));
		if (http_request_parse(c->req_buf, head_len, lim, &ex->req, &status) != HTTP_PARSE_OK) {
			write_simple_error(c, status ? status : 400);
			return;
		}
		size_t body_len = 0, consumed = head_len;
		if (ex->req.has_content_length && ex->req.content_length > 0) {
			size_t cl = (size_t)ex->req.content_length;
			if (avail < head_len + cl) {
				if (ex->req.expect_continue && !c->sent_continue) {
					bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
					c->sent_continue = true;
				}
				request_deadline(c, true);
				return;	/* wait for the body; head is parsed again then (cheap) */
			}
			if (!ensure_cap(c, head_len + cl + 1))
				goto oom;
			request_copy_in(c, in, head_len + cl);
			/* The buffer may have moved: parse again so pointers are into it. */
			http_request_parse(c->req_buf, head_len, lim, &ex->req, &status);
			body_len = cl;
			consumed = head_len + cl;
		} else if (ex->req.chunked) {
			struct http_chunked ch;
			size_t used = 0, out_len = 0;
			if (ex->req.expect_continue && !c->sent_continue) {
				bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				c->sent_continue = true;
			}
			if (!ensure_cap(c, avail + 1))
				goto oom;
			request_copy_in(c, in, avail);
			http_request_parse(c->req_buf, head_len, lim, &ex->req, &status);
			http_chunked_init(&ch, lim->max_body);
			/* Decode in place: decoded bytes are never longer than encoded ones. */
			int rc = http_chunked_decode(&ch, c->req_buf + head_len, avail - head_len, &used,
			    c->req_buf + head_len, avail - head_len, &out_len);
			if (rc == 0) {
				if (avail - head_len > lim->max_body + 64 * 1024)
					write_simple_error(c, 413);
				else
					request_deadline(c, true);
				return;
			}
			if (rc < 0) {
				write_simple_error(c, rc == -2 ? 413 : 400);
				return;
			}
			body_len = out_len;
			consumed = head_len + used;
			/* Pointers into the head stay valid: the head bytes were not moved. */
		}
		c->req_buf[head_len + body_len] = '\0';
		evbuffer_drain(in, consumed);
		c->search_from = 0;
		c->sent_continue = false;
		c->deadline = 0;
		c->awaiting_body = false;

		ex->conn = c;
		ex->body = c->req_buf + head_len;
		ex->body_len = body_len;
		ex->head_only = ex->req.method == HTTP_METHOD_HEAD;
		ex->replied = false;
		ex->handler_state = NULL;
		ex->route_id = METRICS_ROUTE_OTHER;
		ex->started_ns = metrics_self ? metrics_loop_time_ns(c->server->base) : 0;
		_Static_assert(sizeof(ex->client_ip) == sizeof(c->client_ip), "client_ip sizes");
		memcpy(ex->client_ip, c->client_ip, sizeof(ex->client_ip));	/* NUL-terminated by accept */
		if (cfg.trust_proxy) {
			/* Behind our own reverse proxy the peer is the proxy: take the
			 * address it appended, so per-IP limits see real clients. */
			const struct http_str *xff = http_request_header(&ex->req, "x-forwarded-for");
			if (xff)
				forwarded_for_client(xff->p, xff->len, ex->client_ip, sizeof(ex->client_ip));
		}
		if (ex->out_headers)
			evbuffer_drain(ex->out_headers, evbuffer_get_length(ex->out_headers));
		c->in_flight = true;
		c->dispatching = true;
		c->server->handler(ex);
		c->dispatching = false;
		if (!c->in_flight)
			request_wipe(c);	/* answered at once: the handler has returned */
		if (c->in_flight) {
			/* Answered later (IPC). Reading goes on: the handler's
			 * pointers are into req_buf, which only this loop writes, and
			 * it waits for the answer (in_flight). Turning EV_READ off and
			 * on again cost two epoll_ctl per request; the read high
			 * watermark bounds what a pipelining client can queue. */
			return;
		}
		if (c->closing && output_flushed(c)) {
			conn_close(c);
			return;
		}
	}
	return;
oom:
	log_warnx("out of memory for a request from %s", c->client_ip);
	write_simple_error(c, 503);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void accept_conn(struct http_server *s, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct http_conn *c;
	int one = 1;

	if (s->active >= s->limits.max_connections) {
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->server = s;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->client_ip, sizeof(c->client_ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->client_ip, sizeof(c->client_ip));
	else
		snprintf(c->client_ip, sizeof(c->client_ip), "local");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	s->active++;
	publish_active(s);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	struct timeval rt = { s->limits.read_timeout_s, 0 }, wt = { s->limits.write_timeout_s, 0 };
	bufferevent_set_timeouts(c->bev, &rt, &wt);
	/* Room for the largest request we accept (head, body, chunk framing):
	 * libevent stops reading above it, until conn_process drains. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    s->limits.parse.max_head + (size_t)s->limits.parse.max_body + 128 * 1024);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* All workers share each listening socket and wake on it. Taking at most a
 * few connections per wakeup spreads a burst over the workers, and a busy
 * worker, slower back to epoll_wait, naturally takes fewer: libevent's
 * evconnlistener accepted until EAGAIN, so whichever worker woke first took
 * a whole burst (29 of 32 connections seen). One shared socket (rather than
 * one SO_REUSEPORT socket per worker) also means a worker that is down or
 * restarting strands no queued connection. */
#define ACCEPT_BATCH 4
/* Idle workers all wake for a new connection and the same one tends to win,
 * so a burst (wrk's 64 keep-alive connections, a proxy's pool) could still
 * land on one worker. A worker with 2 or more connections than a live peer
 * steps back for 1 ms so the peer takes it, at most 3 times in a row (the
 * peer may be stuck in a slow query). */
#define ACCEPT_DEFER_MAX 3

static bool accept_should_defer(struct http_server *s)
{
	const struct http_server_limits *l = &s->limits;

	if (!l->board || s->deferrals >= ACCEPT_DEFER_MAX)
		return false;
	for (int j = 0; j < l->n_slots; j++)
		if (j != l->slot && atomic_load(&l->pids[j]) != 0 && atomic_load(&l->board[j]) + 2 <= s->active)
			return true;
	return false;
}

static void accept_pause_for(struct http_server *s, long usec)
{
	struct timeval pause = { 0, usec };
	for (int j = 0; j < s->n_listeners; j++)
		event_del(s->listeners[j]);
	evtimer_add(s->accept_pause, &pause);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	(void)fd;
	(void)what;
	for (int i = 0; i < s->n_listeners; i++)
		event_add(s->listeners[i], NULL);
}

static void listen_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct http_server *s = arg;
	(void)what;

	if (accept_should_defer(s)) {
		s->deferrals++;
		accept_pause_for(s, 1000);
		return;
	}
	s->deferrals = 0;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: without a pause we would spin on it. */
				log_warn("accept");
				accept_pause_for(s, 100 * 1000);
			}
			return;	/* EAGAIN: another worker took it */
		}
		accept_conn(s, fd, (struct sockaddr *)&ss);
	}
}

struct http_server *http_server_new(struct event_base *base, const int *listen_fds, int n_fds,
    const struct http_server_limits *limits, http_handler_fn handler)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->limits = *limits;
	s->handler = handler;
	publish_active(s);	/* a restarted worker starts from 0, not its predecessor's count */
	s->accept_pause = evtimer_new(base, accept_resume_cb, s);
	s->deadline_tick = event_new(base, -1, EV_PERSIST, deadline_tick_cb, s);
	struct timeval second = { 1, 0 };
	if (!s->accept_pause || !s->deadline_tick || event_add(s->deadline_tick, &second) < 0) {
		if (s->accept_pause)
			event_free(s->accept_pause);
		if (s->deadline_tick)
			event_free(s->deadline_tick);
		free(s);
		return NULL;
	}
	for (int i = 0; i < n_fds && i < 8; i++) {
		s->listen_fds[i] = listen_fds[i];
		s->listeners[i] = event_new(base, listen_fds[i], EV_READ | EV_PERSIST, listen_cb, s);
		if (!s->listeners[i] || event_add(s->listeners[i], NULL) < 0) {
			log_warn("listening event");
			if (s->listeners[i])
				event_free(s->listeners[i]);
			http_server_free(s);
			return NULL;
		}
		s->n_listeners++;
	}
	return s;
}

/* Our copies of the listening sockets are closed: the master keeps its own. */
void http_server_stop_accepting(struct http_server *s)
{
	for (int i = 0; i < s->n_listeners; i++) {
		event_free(s->listeners[i]);
		s->listeners[i] = NULL;
		close(s->listen_fds[i]);
	}
	s->n_listeners = 0;
	if (s->accept_pause)
		evtimer_del(s->accept_pause);
}

void http_server_close_idle(struct http_server *s)
{
	struct http_conn *c = s->conns, *next;
	for (; c; c = next) {
		next = c->next;
		if (!c->in_flight && !c->dead &&
		    output_flushed(c))
			conn_close(c);
		else
			c->closing = true;
	}
}

int http_server_active_connections(const struct http_server *s)
{
	return s->active;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	http_server_stop_accepting(s);
	if (s->accept_pause)
		event_free(s->accept_pause);
	if (s->deadline_tick)
		event_free(s->deadline_tick);
	free(s);
}
