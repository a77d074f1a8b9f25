/*
 * IPC between master, workers, signer, kdf and store: one msgpack array per frame,
 * behind a 4-byte big-endian length. Every message type is listed here and
 * has a fixed shape (checked on decode: arity and field types), like imsg.
 *
 * Wire: u32be len | msgpack [type:uint, rid:uint, fields per type...]
 *
 *   type               fields after rid
 *   IPC_PING           -
 *   IPC_PONG           -
 *   IPC_SIGN_REQ       kind:int, alg:str, claims:str (JSON object)
 *   IPC_SIGN_RESP      status:int, token_or_error:str
 *   IPC_JWKS_REQ       -
 *   IPC_JWKS_RESP      status:int, jwks:str (JSON)
 *   IPC_HASH_REQ       password:bin
 *   IPC_HASH_RESP      status:int, phc:str
 *   IPC_VERIFY_REQ     password:bin, phc:str
 *   IPC_VERIFY_RESP    status:int (0 match, 1 mismatch, <0 error)
 *   IPC_PEER_FD        kind:int (IPC_PEER_*), slot:int  (fd travels as SCM_RIGHTS)
 *   IPC_READY          -
 *   IPC_STORE_REQ      request:bin (proto/store_wire.h: operation and typed arguments)
 *   IPC_STORE_RESP     reply:bin (proto/store_wire.h: status and typed cells)
 *   IPC_KEYS_REQ       kind:int (IPC_KEYS_*), arg:str (alg or kid), proof:str (admin caller)
 *   IPC_KEYS_RESP      status:int (0 or a keystore_result), result:str (JSON)
 */
#ifndef DREAMAUTH_IPC_H
#define DREAMAUTH_IPC_H
#include <stddef.h>
#include <stdint.h>

#define IPC_MAX_FRAME (64 * 1024)	/* whole frame incl. 4-byte prefix */
#define IPC_MAX_STR (48 * 1024)

enum ipc_type {
	IPC_PING = 1,
	IPC_PONG,
	IPC_SIGN_REQ,
	IPC_SIGN_RESP,
	IPC_JWKS_REQ,
	IPC_JWKS_RESP,
	IPC_HASH_REQ,
	IPC_HASH_RESP,
	IPC_VERIFY_REQ,
	IPC_VERIFY_RESP,
	IPC_PEER_FD,
	IPC_READY,
	IPC_STORE_REQ,
	IPC_STORE_RESP,
	IPC_KEYS_REQ,		/* the admin API's key changes, run by the signer (signer/signer_admin.c) */
	IPC_KEYS_RESP,
	IPC_TYPE_MAX
};

enum ipc_peer { IPC_PEER_SIGNER = 1, IPC_PEER_KDF = 2, IPC_PEER_STORE = 3 };

/* token kinds the signer accepts (it checks claims per kind) */
enum ipc_token_kind { TOKEN_ID = 1, TOKEN_ACCESS = 2, TOKEN_LOGOUT = 3 };

/* KEYS_REQ kinds: rotate (arg: "RS256", "ES256", "EdDSA" or "" for all),
 * revoke (arg: the kid) */
enum ipc_keys_kind { IPC_KEYS_ROTATE = 1, IPC_KEYS_REVOKE = 2 };

struct ipc_msg {
	enum ipc_type type;
	uint64_t rid;		/* request id, echoed in the response */
	int64_t status;		/* *_RESP */
	int64_t kind;		/* SIGN_REQ kind, PEER_FD kind */
	int64_t slot;		/* PEER_FD worker slot */
	char *s1;		/* first string/bin field (alg, token, jwks, password, phc) */
	size_t s1_len;
	char *s2;		/* second string field (claims, phc) */
	size_t s2_len;
};

/* Encode m into out as a whole frame (prefix included). Returns the frame
 * length, or -1 if it does not fit cap or exceeds IPC_MAX_FRAME. Strings are
 * read from s1/s1_len, s2/s2_len. */
long ipc_encode(const struct ipc_msg *m, uint8_t *out, size_t cap);

/* Given the start of a stream, tells whether a whole frame is present:
 * returns 1 and sets *frame_len, 0 if more bytes are needed, -1 if the
 * announced length is out of bounds (peer must be dropped). */
int ipc_frame_length(const uint8_t *buf, size_t len, size_t *frame_len);

/* Decode exactly one frame (prefix included, len must equal the prefix + 4).
 * On success fills out, with s1/s2 malloc'd NUL-terminated copies owned by
 * out (free with ipc_msg_free), and returns 0. Returns -1 on any malformed,
 * mistyped, wrong-arity or trailing-bytes input; out is then empty. */
int ipc_decode(const uint8_t *frame, size_t len, struct ipc_msg *out);
void ipc_msg_free(struct ipc_msg *m);
const char *ipc_type_name(enum ipc_type t);
#endif
