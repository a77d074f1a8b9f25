/*
 * libFuzzer target for proto/oidc_clients.c: the OIDC client list comes from
 * an environment variable or a file an operator (or a ConfigMap) provides.
 * Checks the parser's promises: on success every client has a valid id,
 * unique ids, 1..16 valid redirect URIs, a secret hash unless public, known
 * grants and scopes; on failure nothing is returned and err is a line.
 * Also fuzzes the scope parser with the same bytes.
 */
#include "proto/oidc_clients.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oidc_client *clients;
	size_t n;
	char err[256], warn[512];
	unsigned bits;

	err[0] = '\0';
	if (oidc_clients_parse_warn((const char *)data, size, size % 2 == 0, &clients, &n, err, sizeof(err), warn,
	        sizeof(warn)) == 0) {
		/* Warnings go to the log as they are: one line, no control bytes. */
		for (const char *p = warn; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (n > OIDC_MAX_CLIENTS)
			abort();
		for (size_t i = 0; i < n; i++) {
			const struct oidc_client *c = &clients[i];
			if (!oidc_client_id_valid(c->client_id, strlen(c->client_id)) || !c->name)
				abort();
			for (size_t k = 0; k < i; k++)
				if (!strcmp(clients[k].client_id, c->client_id))
					abort();
			if (c->n_redirect_uris < 1 || c->n_redirect_uris > OIDC_MAX_URIS || c->n_post_logout_uris > OIDC_MAX_URIS)
				abort();
			for (size_t k = 0; k < c->n_redirect_uris; k++)
				if (!oidc_redirect_uri_valid(c->redirect_uris[k], strlen(c->redirect_uris[k])) ||
				    strchr(c->redirect_uris[k], '#'))
					abort();
			for (size_t k = 0; k < c->n_post_logout_uris; k++)
				if (!oidc_redirect_uri_valid(c->post_logout_uris[k], strlen(c->post_logout_uris[k])))
					abort();
			if (!c->has_secret && (!c->require_pkce || (c->grants & OIDC_GRANT_CLIENT_CREDENTIALS)))
				abort();
			if (c->metadata && strlen(c->metadata) > 16 * 1024)
				abort();
			if (c->grants == 0 || (c->grants & ~7u) || (c->scopes & ~(unsigned)OIDC_SCOPE_ALL))
				abort();
			if ((c->id_token_alg[0] && !oidc_alg_valid(c->id_token_alg)) ||
			    (c->access_token_alg[0] && !oidc_alg_valid(c->access_token_alg)))
				abort();
		}
		oidc_clients_free(clients, n);
	} else {
		if (clients != NULL || n != 0 || err[0] == '\0' || memchr(err, '\n', strnlen(err, sizeof(err))))
			abort();
	}
	/* Scope strings and redirect URIs straight from the bytes. */
	if (oidc_scope_parse((const char *)data, size, &bits) == 0) {
		char text[128];
		unsigned again;
		oidc_scope_string(bits, text, sizeof(text));
		if (oidc_scope_parse(text, strlen(text), &again) < 0 || again != bits)
			abort();
	}
	(void)oidc_redirect_uri_valid((const char *)data, size);
	return 0;
}
