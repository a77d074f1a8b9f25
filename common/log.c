/* Logging: "<time> dreamauth[<pid>] <role>: <level>: message" on stderr,
 * with every unprintable byte of the message escaped. */
#include "common/log.h"
#include "proto/text_controls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_role_name[48] = "dreamauth";
static enum log_level log_min = LOG_LEVEL_INFO;

void log_init(const char *role, enum log_level min_level)
{
	log_set_role(role);
	log_min = min_level;
}

void log_set_role(const char *role)
{
	snprintf(log_role_name, sizeof(log_role_name), "%s", role);
}

const char *log_role(void)
{
	return log_role_name;
}

/* Values in messages come from clients (a client_id, an email): written raw,
 * ESC [ 2 J would clear the terminal of whoever tails the log, a newline
 * would forge a line, U+202E would make one read backwards. CR, LF and TAB
 * become spaces (one line per event); every other byte that is not printable
 * text (text_controls.h) becomes \xNN. out holds 4 bytes per byte of msg. */
static void escape_unprintable(const char *msg, char *out)
{
	size_t len = strlen(msg), i = 0;
	char *o = out;
	bool printable;

	while (i < len) {
		size_t n = text_next_char(msg + i, len - i, &printable);
		if (printable) {
			memcpy(o, msg + i, n);
			o += n;
		} else if (msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t') {
			*o++ = ' ';
		} else {
			for (size_t k = 0; k < n; k++)
				o += sprintf(o, "\\x%02x", (unsigned char)msg[i + k]);
		}
		i += n;
	}
	*o = '\0';
}

static void log_emit(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char raw[1024], msg[4 * sizeof(raw)], stamp[32];
	struct timespec ts;
	struct tm tm;

	if (level < log_min)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_unprintable(raw, msg);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (errnum)
		fprintf(stderr, "%s.%03ldZ dreamauth[%d] %s: %s: %s: %s\n", stamp, ts.tv_nsec / 1000000,
		    (int)getpid(), log_role_name, names[level], msg, strerror(errnum));
	else
		fprintf(stderr, "%s.%03ldZ dreamauth[%d] %s: %s: %s\n", stamp, ts.tv_nsec / 1000000,
		    (int)getpid(), log_role_name, names[level], msg);
}

#define LOG_FN(fn, level, with_errno)			\
	void fn(const char *fmt, ...)			\
	{						\
		int saved = errno;			\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_emit(level, fmt, ap, with_errno ? saved : 0); \
		va_end(ap);				\
		errno = saved;				\
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
