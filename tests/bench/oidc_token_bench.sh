#!/usr/bin/env bash
# Token endpoint benchmark (run by hand, not part of the suite):
#   client_credentials grants/s and authorization-code exchanges/s over
#   loopback with ES256 access (and ID) tokens, next to the raw OpenSSL ES256
#   sign rate measured in the same run; prints the ratios.
# Needs: a built binary, wrk, psql, openssl, and a PostgreSQL URL whose role
# may CREATE DATABASE:
#   DREAMAUTH_BIN=build/dreamauth DREAMAUTH_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     tests/bench/oidc_token_bench.sh
# Knobs: DURATION (s, default 10), CONNECTIONS (default 64), WORKERS (default nproc), CODES (default 150000),
#   RUNS (default 3: raw sign rate and grant rate alternate, the median ratio is the result),
#   WRK_THREADS (default 1: on a 2-core machine every wrk thread takes CPU from the server;
#   measured here, one thread drove 16.3 k grants/s where two drove 11.9 k),
#   BENCH_TOP=file: a `top` snapshot during the client_credentials run (where the CPU goes).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${DREAMAUTH_BIN:-$HERE/../../build/dreamauth}
ADMIN=${DREAMAUTH_TEST_DATABASE_URL:?set DREAMAUTH_TEST_DATABASE_URL}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${WORKERS:-$(nproc)}
CODES=${CODES:-150000}
RUNS=${RUNS:-3}
WRK_THREADS=${WRK_THREADS:-1}
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
DB="bench_$$"
WORK=$(mktemp -d)
chmod 755 "$WORK"
URL=${ADMIN%/*}/$DB
REDIRECT=http://localhost:9999/cb
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM

psql "$ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -n "${BENCH_TOP:-}" ] && (sleep 14; top -b -n1 -d2 | head -20 > "${BENCH_TOP}") &

LISTEN=127.0.0.1:$PORT AUTH_URL=http://localhost:$PORT DATABASE_URL=$URL AUTH_SECRET=bench-secret-0123456789abcdef0123456789 \
AUTO_MIGRATE=true WORKERS=$WORKERS KDF_THREADS=1 LOG_LEVEL=warn ENABLE_OIDC_PROVIDER=true SIGNING_ALG=ES256 \
OIDC_CLIENTS='[{"clientId":"bench","clientSecret":"bench-secret-1234","redirectURLs":["'$REDIRECT'"],"skipConsent":true,
 "idTokenSignedResponseAlg":"ES256","accessTokenSignedResponseAlg":"ES256",
 "grantTypes":["authorization_code","refresh_token","client_credentials"]}]' \
  "$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/jwks" >/dev/null

# Codes for the exchange run, straight into the table (as /oauth2/authorize stores them: SHA-256, PKCE S256).
psql "$URL" -q >/dev/null <<SQL
INSERT INTO users (id, email, email_normalized, name) VALUES ('00000000-0000-4000-8000-000000000001', 'bench@example.com', 'bench@example.com', 'Bench');
INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time, amr, expires_at)
SELECT sha256(convert_to('bench-code-' || i, 'UTF8')), 'bench', '00000000-0000-4000-8000-000000000001', '$REDIRECT',
       'openid profile email', 'n', '$CHALLENGE', 'S256', now(), 'pwd', now() + interval '1 hour'
FROM generate_series(0, $CODES - 1) i;
SQL

AUTH="Basic $(printf 'bench:bench-secret-1234' | base64)"
cat > "$WORK/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$AUTH"
LUA
cat > "$WORK/code.lua" <<LUA
-- Each wrk thread takes its own slice of the pre-stored codes.
local counter = 0
local threads = 0
function setup(thread)
  thread:set("base", threads * 1000000)
  threads = threads + 1
end
function init(args)
  stride = math.floor($CODES / $WRK_THREADS)
  n = 0
end
request = function()
  local i = (base / 1000000) * stride + n
  n = n + 1
  local body = "grant_type=authorization_code&code=bench-code-" .. i ..
    "&redirect_uri=" .. "http%3A%2F%2Flocalhost%3A9999%2Fcb" .. "&code_verifier=$VERIFIER"
  return wrk.format("POST", "/oauth2/token", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "$AUTH"}, body)
end
LUA

# Sanity: one of each must succeed.
curl -sf -X POST -H "Authorization: $AUTH" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth2/token" | grep -q access_token
sign_rate() { openssl speed -seconds 5 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}'; }
run() { # name script
  local out; out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$2" "http://127.0.0.1:$PORT/oauth2/token")
  local rps errs; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$out" | grep -E "Latency|Requests/sec|Non-2xx|Socket errors" | sed 's/^/  /' >&2
  # Only 2xx count as grants.
  local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
  local secs; secs=$(echo "$out" | awk '/requests in/ {gsub("s,","",$4); print $4}')
  python3 -c "t=$total; e=${errs:-0}; s=float('$secs'); print(f'{(t-e)/s:.0f}')"
}
# The VM's speed drifts between runs (the raw sign rate moved 2.6x between
# two days here): raw rate and grant rate alternate, the median ratio counts.
RATIOS=()
for r in $(seq "$RUNS"); do
  SIGN=$(sign_rate)
  echo "== run $r: raw OpenSSL ES256 (ecdsap256) sign rate, 1 core: $SIGN/s"
  echo "== run $r: client_credentials (ES256 access token), $CONNECTIONS keep-alive connections, $WORKERS workers, wrk -t$WRK_THREADS"
  CC_RATE=$(run cc "$WORK/cc.lua")
  RATIO=$(python3 -c "print(f'{$CC_RATE / $SIGN * 100:.1f}')")
  echo "client_credentials grants/s: $CC_RATE = $RATIO % of the raw sign rate"
  RATIOS+=("$RATIO")
done
echo "== authorization_code exchanges (PKCE S256, ES256 access + ID token)"
CODE_RATE=$(run code "$WORK/code.lua")
echo "authorization-code exchanges/s: $CODE_RATE"
python3 - <<PY
ratios = sorted(float(x) for x in "${RATIOS[*]}".split())
sign = float("$SIGN"); code = float("$CODE_RATE")
print(f"ratio client_credentials / raw sign, median of {len(ratios)}: {ratios[len(ratios) // 2]:.1f} %  (runs: {ratios}; target >= 50 %)")
print(f"ratio code exchange / raw sign:      {code / sign * 100:.1f} %  (two signatures per exchange: {2 * code / sign * 100:.1f} % of sign capacity)")
PY
