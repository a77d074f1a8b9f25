/* Privilege drop and process titles for the child processes. */
#include "common/privdrop.h"
#include "common/log.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define DREAMAUTH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DREAMAUTH_ASAN 1
#endif
#endif

/* Keeps other processes of the same user from reading our memory. Not in
 * ASan builds: LeakSanitizer needs to ptrace the process at exit. */
static void set_not_dumpable(void)
{
#ifndef DREAMAUTH_ASAN
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

int privdrop(const char *user)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	set_not_dumpable();
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			log_errorx("RUN_USER: no such user \"%s\"", user);
			return -1;
		}
		if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			log_warn("dropping privileges to %s", user);
			return -1;
		}
		/* PR_SET_DUMPABLE is reset by setuid: set it again. */
		set_not_dumpable();
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	return 0;
}

/* libevent's own messages go through our logger. One warning is expected:
 * a child's new event base adds signals while the master's base, inherited
 * through fork and deliberately left alone (freeing it would deregister the
 * master's events from the shared epoll instance), still claims them. */
static void libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN && !strstr(msg, "signals already added"))
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void proctitle_init(int argc, char **argv)
{
	event_set_log_callback(libevent_log);
	extern char **environ;
	setproctitle_init(argc, argv, environ);
}

void proctitle_set(const char *role)
{
	char title[64];
	/* A leading '-' stops libbsd from prefixing the program name. Padding to a
	 * fixed width overwrites what a longer title inherited through fork left. */
	snprintf(title, sizeof(title), "dreamauth: %s", role);
	setproctitle("-%-28s", title);
}
