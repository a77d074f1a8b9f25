/* Server-rendered pages from web/ (compiled in): {{var}} is HTML-escaped,
 * {{{var}}} inserted as is (only for HTML we built ourselves). */
#ifndef DREAMAUTH_PAGES_H
#define DREAMAUTH_PAGES_H
#include "workers/http_server.h"

struct page_var {
	const char *name;
	const char *value;
};

/* Render web/<page> inside web/layout.html and reply. vars ends with {NULL, NULL}. */
void page_reply(struct http_exchange *ex, int status, const char *title, const char *page, const struct page_var *vars);
/* A one-message page (errors, notices). */
void page_message(struct http_exchange *ex, int status, const char *title, const char *message, const char *link,
    const char *link_text);
/* HTML-escape into out; returns bytes written (truncates safely). */
size_t html_escape(const char *in, char *out, size_t cap);
/* A form's error line for {{{error}}}, escaped; empty when error is NULL or "". */
void page_error_paragraph(const char *error, char *out, size_t cap);
void handle_static(struct http_exchange *ex);
#endif
