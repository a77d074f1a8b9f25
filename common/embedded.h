/* Files compiled into the binary by cmake/embed.cmake (migrations, web assets). */
#ifndef DREAMAUTH_EMBEDDED_H
#define DREAMAUTH_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
	const char *name;	/* base name, e.g. "001_init.sql" */
	const char *data;	/* NUL-terminated */
	size_t len;
};

extern const struct embedded_file migrations_files[];	/* sorted by name */
extern const struct embedded_file web_files[];

const struct embedded_file *embedded_find(const struct embedded_file *table, const char *name);
#endif
