/*
 * The admin console's shared pieces (workers/admin_console*.c): HTML built
 * into an evbuffer with every outside string escaped, forms that carry a
 * CSRF token, and the page shell (web/admin.html inside web/layout.html).
 */
#ifndef DREAMAUTH_ADMIN_CONSOLE_H
#define DREAMAUTH_ADMIN_CONSOLE_H
#include <event2/buffer.h>
#include "workers/admin_call.h"

/* Escaped text. */
void html_text(struct evbuffer *b, const char *s);
/* <form method="post" action="/admin/..."> and its CSRF field; action is
 * escaped. cls: a class or NULL. */
void html_form(struct evbuffer *b, struct admin_call *c, const char *action, const char *cls);
/* Answers the page: title, the body built in b (freed here). */
void console_page(struct admin_call *c, int status, const char *title, struct evbuffer *b);

/* POST changes (admin_console_actions.c); c->form holds the checked form. */
void console_user_create(struct admin_call *c);
void console_user_post(struct admin_call *c);
void console_client_post(struct admin_call *c);
void console_keys_post(struct admin_call *c);

/* GET pages (admin_console_pages.c). */
void console_users(struct admin_call *c);
void console_user(struct admin_call *c);
void console_clients(struct admin_call *c);
void console_client(struct admin_call *c);
void console_keys(struct admin_call *c);
#endif
