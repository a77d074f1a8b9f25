/*
 * `dreamauth user two-factor-off <email>`: for a user who lost both the
 * authenticator app and the recovery codes. Removes the TOTP and the recovery
 * codes (the same store operation as /api/auth/two-factor/disable), so the
 * next sign-in asks for the password alone; the user can enroll again. A
 * passkey second factor is the user's to turn off (or the passkey's removal).
 */
#include "master/cli.h"
#include "common/log.h"
#include "master/master.h"
#include "proto/email.h"
#include "store/store_run.h"

#include <stdio.h>
#include <string.h>

int cli_user_two_factor_off(const char *email)
{
	char normalized[EMAIL_MAX_LEN + 1], user_id[40];
	struct store_reply r;
	int pg_pid, rc = 1;
	PGconn *db;

	if (email_normalize(email, strlen(email), normalized, sizeof(normalized)) < 0) {
		fprintf(stderr, "dreamauth: not a valid email address: %s\n", email);
		return 1;
	}
	db = cli_connect(&pg_pid);
	if (!db) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	const struct store_value find[] = { STORE_V_TEXT(normalized) };
	if (store_exec(db, STORE_OP_USER_FIND_BY_EMAIL, find, 1, &r) != STORE_OK) {
		fprintf(stderr, "dreamauth: the database failed: %s\n", store_status_text(r.status));
	} else if (r.n_rows != 1) {
		fprintf(stderr, "dreamauth: no user %s\n", normalized);
	} else {
		snprintf(user_id, sizeof(user_id), "%s", store_text(&r, 0, USER_CREDENTIALS_ID));
		store_reply_free(&r);
		const struct store_value off[] = { STORE_V_TEXT(user_id) };
		if (store_exec(db, STORE_OP_TWO_FACTOR_DISABLE, off, 1, &r) != STORE_OK) {
			fprintf(stderr, "dreamauth: the database failed: %s\n", store_status_text(r.status));
		} else {
			printf("%s: %s\n", normalized, store_int(&r, 0, COUNT_N) ? "TOTP and recovery codes removed" :
			    "had no TOTP");
			log_info("user %s: two-factor turned off from the command line", user_id);
			rc = 0;
		}
	}
	store_reply_free(&r);
	PQfinish(db);
	master_stop_embedded_pg(pg_pid);
	return rc;
}
