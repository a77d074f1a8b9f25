/*
 * One line per event, the process role in every line, to stderr (journald or
 * the container runtime collects it). Never pass a secret to these.
 */
#ifndef DREAMAUTH_LOG_H
#define DREAMAUTH_LOG_H
#include <stdarg.h>
#include <stdnoreturn.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(const char *role, enum log_level min_level);
void log_set_role(const char *role);	/* after fork: "worker 1", "signer" */
const char *log_role(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* no errno */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* appends strerror(errno) */
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* with errno */
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
