/*
 * An email as the mailer hands it to libcurl (RFC 5322 + MIME): headers
 * (Date, Message-ID, From, To, Subject, MIME-Version) and a
 * multipart/alternative body with a text/plain and a text/html part, both
 * base64 so no body byte can end the DATA phase or forge a header. Header
 * values that came from outside (an address, a name in a subject, APP_NAME)
 * must not carry CR, LF or any other control character: such a message is
 * refused, never "cleaned". Non-ASCII subjects are RFC 2047 encoded-words.
 * Pure: no I/O; the caller gives the time and the unique parts.
 */
#ifndef DREAMAUTH_MAIL_MESSAGE_H
#define DREAMAUTH_MAIL_MESSAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAIL_ADDR_MAX 320
#define MAIL_BODY_MAX 16384		/* each part, before encoding */
#define MAIL_MESSAGE_MAX (96 * 1024)	/* a whole built message */

struct mail_message {
	const char *from;		/* "Name <addr>" or "addr" */
	const char *to;			/* an address */
	const char *subject;		/* UTF-8 */
	const char *text;		/* UTF-8 bodies */
	const char *html;
	time_t date;
	const char *message_id;		/* "<local@domain>" left part, e.g. "outbox-42.1700000000" */
	const char *boundary;		/* unique per message: [0-9A-Za-z]{16,60} */
};

/* A header value may go out as is: valid UTF-8, no control character (no
 * CR, LF, NUL, TAB ...), at most 998 bytes. */
bool mail_header_value_ok(const char *v);

/* An address fit for an SMTP envelope and a header: 3..MAIL_ADDR_MAX bytes,
 * one '@' with text on both sides, no space, control, quote, angle
 * bracket, comma, semicolon or backslash. */
bool mail_address_ok(const char *addr);

/* The address of a From value, "Name <addr>" or "addr", into out. 0 or -1. */
int mail_from_address(const char *from, char *out, size_t cap);

/* value as an RFC 2047 "B" encoded-word sequence when it is not plain
 * printable ASCII (each word at most 75 bytes, never splitting a UTF-8
 * character, folded with CRLF SP), else as is. Returns the length, -1 if it
 * does not fit cap or value is not a valid header value. */
long mail_header_encode(const char *value, char *out, size_t cap);

/* Builds the whole message (CRLF line ends) into out. Returns its length,
 * or -1: a header value refused, a body too large, or cap too small. */
long mail_message_build(const struct mail_message *m, char *out, size_t cap);
#endif
