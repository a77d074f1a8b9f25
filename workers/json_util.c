/* Small JSON helpers shared by worker handlers (see json_util.h). */
#include "workers/json_util.h"

#include <string.h>

json_t *json_csv_array(const char *csv)
{
	json_t *a = json_array();
	const char *p = csv;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p = end ? end + 1 : NULL;
	}
	return a;
}
