/*
 * CORS_ORIGINS and AUTH_URL's origin (common/config_cors.c): which origins
 * count as first-party. Matching is exact on canonical origins: case and a
 * default port do not matter, a path, another port or a suffix does.
 */
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdlib.h>

int main(void)
{
	char err[512];

	setenv("AUTH_URL", "https://Auth.Example.com:443/base/", 1);
	setenv("CORS_ORIGINS", " https://App.example.com , http://localhost:5173,https://app.example.com:443", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.issuer_origin, "https://auth.example.com");
	CHECK_EQ_INT(cfg.n_cors_origins, 2);
	CHECK(config_origin_first_party("https://auth.example.com"));
	CHECK(config_origin_first_party("https://app.example.com"));
	CHECK(config_origin_first_party("http://localhost:5173"));
	CHECK(!config_origin_first_party("http://localhost:5174"));
	CHECK(!config_origin_first_party("https://app.example.com.evil.com"));
	CHECK(!config_origin_first_party("https://evil-app.example.com"));
	CHECK(!config_origin_first_party("http://app.example.com"));
	CHECK(!config_origin_first_party("https://example.com"));
	CHECK(!config_origin_first_party(""));
	config_free();

	/* Refused at start, naming the variable and the item. */
	setenv("CORS_ORIGINS", "https://ok.example, *", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "CORS_ORIGINS: \"*\" is not allowed") != NULL);
	config_free();
	setenv("CORS_ORIGINS", "https://ok.example/app", 1);
	CHECK_EQ_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "CORS_ORIGINS: item 1 \"https://ok.example/app\"") != NULL);
	config_free();
	unsetenv("CORS_ORIGINS");
	CHECK_EQ_INT(config_load(err, sizeof(err)), 0);
	CHECK_EQ_INT(cfg.n_cors_origins, 0);
	CHECK(config_origin_first_party("https://auth.example.com"));
	CHECK(!config_origin_first_party("https://app.example.com"));
	config_free();
	return CHECK_DONE();
}
