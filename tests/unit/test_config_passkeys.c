/* The passkey settings (common/config_passkeys.c): RP ID and origins derived
 * from AUTH_URL, extra origins, the UV and attestation policies, the trust
 * anchors file; one clear error per bad value. */
#include "common/config.h"
#include "tests/unit/check.h"
#include "tests/unit/config_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const passkey_vars[] = { "PASSKEY_RP_ID", "PASSKEY_ORIGINS", "PASSKEY_USER_VERIFICATION",
	"PASSKEY_ATTESTATION", "PASSKEY_ATTESTATION_REQUIRE_TRUSTED", "PASSKEY_TRUST_ANCHORS_FILE", "AUTH_URL",
	"BETTER_AUTH_URL", "DATABASE_URL", "LISTEN", "PORT", NULL };

#define ERR_STARTS(prefix) CHECK(strncmp(err, prefix, strlen(prefix)) == 0)

/* A self-signed certificate (any will do: the file is only checked to hold one). */
static const char test_root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBfTCCASOgAwIBAgIUKK8HgxkF/chG4qKBBTciY7kYZF0wCgYIKoZIzj0EAwIw\n"
	"FDESMBAGA1UEAwwJdGVzdCByb290MB4XDTI2MTIwNDIxMTAxN1oXDTM2MTIwMTIx\n"
	"MTAxN1owFDESMBAGA1UEAwwJdGVzdCByb290MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
	"AQcDQgAEm6wVqEUu4j35expIZMnFG4AEdO6pejeuuV4/vyZ/7kH9B45+Cu78jQVq\n"
	"GP0JIzDD3UBnlMozMZfBnWc/OPk9F6NTMFEwHQYDVR0OBBYEFLuby8Y2oU8DuQj8\n"
	"RsIkMsFVG2VEMB8GA1UdIwQYMBaAFLuby8Y2oU8DuQj8RsIkMsFVG2VEMA8GA1Ud\n"
	"EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgDhsxbUHuG/Tv1f4Xfq7fKHp+\n"
	"CbDd7Gl+sVuXuJcWmfQCIQDVfeCzAkjIFnXbqdipDg49TRviwHNyejUDLQN9plI+\n"
	"1Q==\n"
	"-----END CERTIFICATE-----\n";

int main(void)
{
	char err[300];

	/* defaults: the RP ID is AUTH_URL's host, the one origin AUTH_URL's */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), NULL), 0);
	CHECK_EQ_STR(cfg.passkey_rp_id, "localhost");
	CHECK_EQ_INT(cfg.n_passkey_origins, 1);
	CHECK_EQ_STR(cfg.passkey_origins[0], "http://localhost:3000");
	CHECK_EQ_INT(cfg.passkey_user_verification, CONFIG_UV_PREFERRED);
	CHECK(!cfg.passkey_attestation_direct && !cfg.passkey_attestation_require_trusted);
	CHECK(cfg.passkey_trust_anchors_pem == NULL);

	/* a path is not part of the origin; case is folded */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://Auth.Example.COM/idp", NULL), 0);
	CHECK_EQ_STR(cfg.passkey_rp_id, "auth.example.com");
	CHECK_EQ_STR(cfg.passkey_origins[0], "https://auth.example.com");

	/* a parent domain as RP ID, and extra origins inside it */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://auth.example.com:8443", "PASSKEY_RP_ID=Example.com",
	                 "PASSKEY_ORIGINS= https://app.example.com , https://example.com,https://auth.example.com:8443",
	                 NULL),
	    0);
	CHECK_EQ_STR(cfg.passkey_rp_id, "example.com");
	CHECK_EQ_INT(cfg.n_passkey_origins, 3);	/* the repeat is dropped */
	CHECK_EQ_STR(cfg.passkey_origins[0], "https://auth.example.com:8443");
	CHECK_EQ_STR(cfg.passkey_origins[1], "https://app.example.com");
	CHECK_EQ_STR(cfg.passkey_origins[2], "https://example.com");

	/* refusals, each naming its variable */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://auth.example.com", "PASSKEY_RP_ID=other.com", NULL), -1);
	ERR_STARTS("PASSKEY_RP_ID: AUTH_URL's host auth.example.com is not other.com");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://auth.example.com", "PASSKEY_RP_ID=ample.com", NULL), -1);
	ERR_STARTS("PASSKEY_RP_ID:");	/* a suffix of the name, not a parent domain */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_RP_ID=exa mple.com", NULL), -1);
	ERR_STARTS("PASSKEY_RP_ID: not a domain name");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://auth.example.com",
	                 "PASSKEY_ORIGINS=https://evil.com", NULL),
	    -1);
	ERR_STARTS("PASSKEY_ORIGINS: the host of \"https://evil.com\" is not inside the RP ID auth.example.com");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://example.com", "PASSKEY_ORIGINS=http://example.com",
	                 NULL),
	    -1);
	ERR_STARTS("PASSKEY_ORIGINS: \"http://example.com\" is not an origin");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://example.com",
	                 "PASSKEY_ORIGINS=https://example.com/login", NULL),
	    -1);
	ERR_STARTS("PASSKEY_ORIGINS: \"https://example.com/login\" is not an origin");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "AUTH_URL=https://example.com", "PASSKEY_ORIGINS=https://example.com,,",
	                 NULL),
	    -1);
	ERR_STARTS("PASSKEY_ORIGINS: an empty");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_USER_VERIFICATION=always", NULL), -1);
	ERR_STARTS("PASSKEY_USER_VERIFICATION: expected required, preferred or discouraged");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION=enterprise", NULL), -1);
	ERR_STARTS("PASSKEY_ATTESTATION: expected none or direct");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true", NULL), -1);
	ERR_STARTS("PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true needs PASSKEY_ATTESTATION=direct");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION=direct", "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=yes",
	                 NULL),
	    -1);
	ERR_STARTS("PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true needs PASSKEY_TRUST_ANCHORS_FILE");
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=maybe", NULL), -1);
	ERR_STARTS("PASSKEY_ATTESTATION_REQUIRE_TRUSTED: expected true or false");

	/* the policies */
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_USER_VERIFICATION=Required", "PASSKEY_ATTESTATION=direct", NULL),
	    0);
	CHECK_EQ_INT(cfg.passkey_user_verification, CONFIG_UV_REQUIRED);
	CHECK(cfg.passkey_attestation_direct);
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_USER_VERIFICATION=discouraged", NULL), 0);
	CHECK_EQ_INT(cfg.passkey_user_verification, CONFIG_UV_DISCOURAGED);

	/* trust anchors: read at start, at least one certificate */
	char path[] = "/tmp/test_config_passkeys_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "not a certificate\n", 18), 18);
	char file_var[80];
	snprintf(file_var, sizeof(file_var), "PASSKEY_TRUST_ANCHORS_FILE=%s", path);
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION=direct", "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true",
	                 file_var, NULL),
	    -1);
	ERR_STARTS("PASSKEY_TRUST_ANCHORS_FILE: no PEM certificate in");
	CHECK_EQ_INT(ftruncate(fd, 0), 0);
	CHECK_EQ_INT(pwrite(fd, test_root_pem, strlen(test_root_pem), 0), (long)strlen(test_root_pem));
	close(fd);
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), "PASSKEY_ATTESTATION=direct", "PASSKEY_ATTESTATION_REQUIRE_TRUSTED=true",
	                 file_var, NULL),
	    0);
	CHECK(cfg.passkey_attestation_require_trusted);
	CHECK(cfg.passkey_trust_anchors_pem && strstr(cfg.passkey_trust_anchors_pem, "BEGIN CERTIFICATE"));
	unlink(path);
	CHECK_EQ_INT(config_test_load_only(passkey_vars, err, sizeof(err), file_var, NULL), -1);
	ERR_STARTS("PASSKEY_TRUST_ANCHORS_FILE: cannot open");

	config_free();
	return CHECK_DONE();
}
