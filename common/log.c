/* Logging: "<time> dreamauth[<pid>] <role>: <level>: message" on stderr. */
#include "common/log.h"

#include <errno.h>
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

static void log_emit(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per event: newlines in messages would let input forge lines. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
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
