/* acr from amr, and what acr_values asks for (see acr.h). */
#include "workers/acr.h"

#include <string.h>

static bool list_has(const char *list, char sep, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, sep);
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && !memcmp(p, word, len))
			return true;
		p += n + (end != NULL);
	}
	return false;
}

bool amr_is_mfa(const char *amr)
{
	return list_has(amr, ',', "mfa");
}

const char *acr_of_amr(const char *amr)
{
	return amr_is_mfa(amr) ? ACR_MFA : ACR_SFA;
}

bool acr_values_want_mfa(const char *acr_values)
{
	return (list_has(acr_values, ' ', ACR_MFA) || list_has(acr_values, ' ', "mfa")) &&
	    !list_has(acr_values, ' ', ACR_SFA);
}
