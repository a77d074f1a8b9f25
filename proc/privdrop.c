/* Privilege drop and process titles for the child processes. */
#include "proc/privdrop.h"
#include "common/config.h"
#include "common/log.h"
#include "common/sanitizer.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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
		uid_t uid;
		gid_t gid;
		unsigned nu, ng;
		char tail;
		struct passwd *pw = getpwnam(user);
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		} else if (sscanf(user, "%u:%u%c", &nu, &ng, &tail) == 2 && nu && ng) {
			uid = nu;	/* "uid:gid" (SERVICE_USER's fallback): no passwd entry needed */
			gid = ng;
		} else {
			log_errorx("no such user \"%s\"", user);
			return -1;
		}
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
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

/* Length of the original argument strings, argv[0] up to the NUL of the last
 * one: the part of the title area every kernel shows. */
static size_t original_argv_len;

void proctitle_init(int argc, char **argv)
{
	event_set_log_callback(libevent_log);
	if (argc > 0)
		original_argv_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
	extern char **environ;
	char **kernel_environ = environ;
	setproctitle_init(argc, argv, environ);
	/* libbsd copied the environment to the heap and keeps the kernel's
	 * strings as title space, cleared by the first setproctitle: wipe the
	 * secrets there now, whether or not a title is ever set (a command never
	 * sets one; the master reads its database first). */
	if (environ != kernel_environ)
		config_wipe_secret_values(kernel_environ);
}

void proctitle_set(const char *role)
{
	char title[256];
	/* A leading '-' stops libbsd from prefixing the program name. The title
	 * is padded with spaces to exactly the original argv length: a shorter
	 * one makes libbsd mark the old end with '.', which kernels that show the
	 * raw argv area (older Linux, gVisor) print as "title     ."; newer Linux
	 * stops at the first NUL either way. Padding also overwrites whatever a
	 * longer title inherited through fork left behind. */
	int width = original_argv_len < sizeof(title) ? (int)original_argv_len : (int)sizeof(title) - 1;
	char role_title[64];
	snprintf(role_title, sizeof(role_title), "dreamauth: %s", role);
	snprintf(title, sizeof(title), "%-*s", width, role_title);
	setproctitle("-%s", title);
}
