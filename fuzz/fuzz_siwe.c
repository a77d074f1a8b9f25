/*
 * libFuzzer target for siwe_parse (proto/siwe.c). On success the parsed
 * fields, laid end to end with the ABNF's fixed text, must be the input
 * again, every span exactly where the walk expects it: nothing skipped,
 * nothing invented. Also: the address is EIP-55, times are in range, and on
 * error the output is all zeros. Links only da_proto. Seeds:
 * fuzz/corpus/fuzz_siwe/.
 */
/* The build type may define NDEBUG; these asserts are the point of the target. */
#undef NDEBUG
#include "proto/siwe.h"

#include <assert.h>
#include <string.h>

struct walk {
	const char *p, *end;
};

static void expect_text(struct walk *w, const char *text)
{
	size_t n = strlen(text);

	assert((size_t)(w->end - w->p) >= n && memcmp(w->p, text, n) == 0);
	w->p += n;
}

/* The span must start exactly here. */
static void expect_span(struct walk *w, struct siwe_span s)
{
	assert(s.ptr == w->p && s.len <= (size_t)(w->end - w->p));
	w->p += s.len;
}

static void expect_decimal(struct walk *w, uint64_t want)
{
	uint64_t value = 0;
	const char *start = w->p;

	while (w->p < w->end && *w->p >= '0' && *w->p <= '9')
		value = value * 10 + (uint64_t)(*w->p++ - '0');
	assert(w->p > start && value == want);
}

static void expect_time(struct walk *w, const char *label, const struct siwe_time *t)
{
	expect_text(w, label);
	expect_span(w, t->text);
	assert(t->nanoseconds < 1000000000u);
	/* 0000-01-01T00:00:00+23:59 .. 9999-12-31T23:59:60-23:59 */
	assert(t->unix_seconds >= -62167219200LL - 86400 && t->unix_seconds <= 253402300800LL + 86400);
}

static void walk_optional_fields(struct walk *w, const struct siwe_message *m)
{
	if (m->has_expiration_time)
		expect_time(w, "\nExpiration Time: ", &m->expiration_time);
	if (m->has_not_before)
		expect_time(w, "\nNot Before: ", &m->not_before);
	if (m->has_request_id) {
		expect_text(w, "\nRequest ID: ");
		expect_span(w, m->request_id);
	}
	assert(m->resource_count <= SIWE_MAX_RESOURCES);
	assert(m->has_resources || m->resource_count == 0);
	if (m->has_resources)
		expect_text(w, "\nResources:");
	for (size_t i = 0; i < m->resource_count; i++) {
		expect_text(w, "\n- ");
		expect_span(w, m->resources[i]);
	}
}

static void walk_message(const char *data, size_t size, const struct siwe_message *m)
{
	struct walk w = { data, data + size };
	uint8_t address[ETH_ADDRESS_LEN];

	if (m->scheme.len) {
		expect_span(&w, m->scheme);
		expect_text(&w, "://");
	}
	expect_span(&w, m->domain);
	expect_text(&w, " wants you to sign in with your Ethereum account:\n");
	expect_span(&w, m->address);
	assert(eth_address_checksum_ok(m->address.ptr, m->address.len));
	assert(eth_address_decode(m->address.ptr, m->address.len, address));
	assert(memcmp(address, m->address_bytes, sizeof(address)) == 0);
	expect_text(&w, "\n\n");
	if (m->statement.len) {
		expect_span(&w, m->statement);
		expect_text(&w, "\n");
	}
	expect_text(&w, "\nURI: ");
	expect_span(&w, m->uri);
	expect_text(&w, "\nVersion: 1\nChain ID: ");
	expect_decimal(&w, m->chain_id);
	expect_text(&w, "\nNonce: ");
	expect_span(&w, m->nonce);
	assert(m->nonce.len >= 8);
	expect_time(&w, "\nIssued At: ", &m->issued_at);
	walk_optional_fields(&w, m);
	assert(w.p == w.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct siwe_message zero;
	struct siwe_message m;
	enum siwe_error err = siwe_parse((const char *)data, size, &m);

	assert(strcmp(siwe_error_text(err), "unknown error") != 0);
	if (err != SIWE_OK) {
		assert(memcmp(&m, &zero, sizeof(m)) == 0);
		return 0;
	}
	assert(size <= SIWE_MAX_LEN && !memchr(data, '\r', size));
	walk_message((const char *)data, size, &m);
	return 0;
}
