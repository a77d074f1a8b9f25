/* One store operation on one connection (see store_run.h). */
#include "store/store_run.h"
#include "store/audit.h"
#include "common/db.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_FN_DECL_(name, fn, args, shape) \
	void fn(PGconn *db, const struct store_request *req, struct store_result *res);
STORE_OPS(STORE_FN_DECL_)
#undef STORE_FN_DECL_

#define STORE_FN_ENTRY_(name, fn, args, shape) [STORE_OP_##name] = fn,
static const store_op_fn op_functions[STORE_OP_MAX] = { STORE_OPS(STORE_FN_ENTRY_) };
#undef STORE_FN_ENTRY_

struct shm_region *store_shm;

void store_result_clear(struct store_result *res)
{
	free(res->reply.cells);
	PQclear(res->pg);
	memset(res, 0, sizeof(*res));
}

void store_run(PGconn *db, const struct store_request *req, struct store_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!store_op_spec(req->op) || !op_functions[req->op]) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	if (!db || PQstatus(db) != CONNECTION_OK) {
		res->reply.status = STORE_UNAVAILABLE;
		return;
	}
	op_functions[req->op](db, req, res);
}

int store_exec(PGconn *db, uint32_t op, const struct store_value *args, unsigned n_args, struct store_reply *out)
{
	struct store_request req = { .op = op, .n_args = n_args };
	struct store_result res;
	static _Thread_local uint8_t buf[256 * 1024];
	long len;

	memset(out, 0, sizeof(*out));
	if (n_args > STORE_MAX_ARGS) {
		out->status = STORE_REFUSED;
		return out->status;
	}
	if (n_args)
		memcpy(req.args, args, n_args * sizeof(*args));	/* args may be NULL with none */
	/* The same checks a worker's request gets: arity and types. */
	len = store_request_encode(&req, buf, sizeof(buf));
	if (len < 0) {
		out->status = STORE_REFUSED;
		return out->status;
	}
	store_run(db, &req, &res);
	/* An owned copy through the wire format: the CLI reads what a worker would. */
	len = store_reply_encode(op, &res.reply, buf, sizeof(buf));
	if (len < 0 || store_reply_decode(op, buf, (size_t)len, out) < 0)
		out->status = STORE_TOO_LARGE;
	store_result_clear(&res);
	return out->status;
}

/* ---- helpers for the operation functions ---- */

PGresult *store_query_values(PGconn *db, const char *sql, const struct store_value *values, unsigned n)
{
	const char *params[STORE_MAX_ARGS];
	char numbers[STORE_MAX_ARGS][24];

	if (n > STORE_MAX_ARGS)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		switch (values[i].kind) {
		case STORE_NULL: params[i] = NULL; break;
		case STORE_TEXT: params[i] = values[i].text; break;
		case STORE_BOOL: params[i] = values[i].i ? "t" : "f"; break;
		case STORE_INT:
			snprintf(numbers[i], sizeof(numbers[i]), "%" PRId64, values[i].i);
			params[i] = numbers[i];
			break;
		}
	}
	return db_query_prepared(db, sql, (int)n, params);
}

PGresult *store_query(PGconn *db, const char *sql, const struct store_request *req)
{
	return store_query_values(db, sql, req->args, req->n_args);
}

int store_failure_status(PGconn *db)
{
	if (PQstatus(db) != CONNECTION_OK)
		return STORE_UNAVAILABLE;
	return strcmp(db_last_sqlstate(), "23505") == 0 ? STORE_CONFLICT : STORE_ERROR;
}

static bool cell_from_pg(PGresult *r, int row, int field, char type, struct store_value *v)
{
	bool nullable = type >= 'A' && type <= 'Z';
	char base = nullable ? (char)(type - 'A' + 'a') : type;
	const char *text;

	memset(v, 0, sizeof(*v));
	if (PQgetisnull(r, row, field)) {
		v->kind = STORE_NULL;
		return nullable;
	}
	text = PQgetvalue(r, row, field);
	switch (base) {
	case 't':
		v->kind = STORE_TEXT;
		v->text = text;
		v->len = (size_t)PQgetlength(r, row, field);
		return v->len <= STORE_MAX_TEXT;
	case 'i': {
		char *end;
		v->kind = STORE_INT;
		v->i = strtoll(text, &end, 10);
		return *text && !*end;
	}
	case 'b':
		v->kind = STORE_BOOL;
		v->i = text[0] == 't';
		return text[0] == 't' || text[0] == 'f';
	default: return false;
	}
}

void store_result_take(struct store_result *res, PGconn *db, const struct store_request *req, PGresult *r)
{
	const struct store_op_spec *spec = store_op_spec(req->op);
	int fields[STORE_MAX_COLS];
	int rows;

	res->pg = r;
	if (!r) {
		res->reply.status = store_failure_status(db);
		return;
	}
	rows = PQntuples(r);
	if (rows > STORE_MAX_ROWS) {
		res->reply.status = STORE_TOO_LARGE;
		return;
	}
	for (unsigned c = 0; c < spec->n_cols; c++) {
		fields[c] = PQfnumber(r, spec->cols[c].name);
		if (fields[c] < 0) {
			log_warnx("store %s: no column \"%s\" in its result", spec->name, spec->cols[c].name);
			res->reply.status = STORE_ERROR;
			return;
		}
	}
	res->reply.n_rows = (unsigned)rows;
	res->reply.n_cols = spec->n_cols;
	if (rows && spec->n_cols) {
		res->reply.cells = calloc((size_t)rows * spec->n_cols, sizeof(*res->reply.cells));
		if (!res->reply.cells) {
			res->reply.status = STORE_ERROR;
			return;
		}
	}
	for (int row = 0; row < rows; row++)
		for (unsigned c = 0; c < spec->n_cols; c++)
			if (!cell_from_pg(r, row, fields[c], spec->cols[c].type,
			        &res->reply.cells[(size_t)row * spec->n_cols + c])) {
				log_warnx("store %s: column \"%s\" does not fit its type", spec->name, spec->cols[c].name);
				res->reply.status = STORE_ERROR;
				return;
			}
	res->reply.status = STORE_OK;
}

bool store_begin(PGconn *db)
{
	store_audit_transaction_end(false);	/* nothing of an earlier transaction is left to say */
	return db_exec(db, "BEGIN", 0, NULL);
}

/* The audit log's JSON lines (AUDIT_LOG=stdout) go out only for what committed. */
bool store_commit(PGconn *db, bool ok)
{
	if (ok && PQtransactionStatus(db) == PQTRANS_INTRANS && db_exec(db, "COMMIT", 0, NULL)) {
		store_audit_transaction_end(true);
		return true;
	}
	if (PQtransactionStatus(db) != PQTRANS_IDLE)
		db_exec(db, "ROLLBACK", 0, NULL);
	store_audit_transaction_end(false);
	return false;
}

void store_commit_take(struct store_result *res, PGconn *db, const struct store_request *req, bool ok, PGresult *r,
    bool conflict_is_callers)
{
	int failure = ok ? STORE_OK : store_failure_status(db);	/* before the ROLLBACK clears it */

	if (store_commit(db, ok)) {
		store_result_take(res, db, req, r);
		return;
	}
	PQclear(r);
	if (conflict_is_callers) {
		res->reply.status = failure != STORE_OK ? failure : store_failure_status(db);
	} else {
		res->reply.status = store_failure_status(db);
		if (res->reply.status == STORE_CONFLICT)
			res->reply.status = STORE_ERROR;
	}
}

bool store_log_revocation(PGconn *db, const char *payload)
{
	const char *params[] = { payload };
	return db_exec(db, "INSERT INTO revocation_log (payload) VALUES ($1)", 1, params);
}

bool store_log_user_changed(PGconn *db, const char *user_id)
{
	char payload[80];
	snprintf(payload, sizeof(payload), "user:%s", user_id);
	return store_log_revocation(db, payload);
}

bool store_step(PGconn *db, const char *sql, const struct store_value *values, unsigned n, PGresult **out)
{
	PGresult *r = store_query_values(db, sql, values, n);
	if (out)
		*out = r;
	else
		PQclear(r);
	return r != NULL;
}

bool store_cell_true(PGresult *r, int row, int col)
{
	return PQntuples(r) > row && !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}
