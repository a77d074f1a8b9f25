#!/usr/bin/env bash
# The whole test suite, as CI runs it (as root on Debian 12):
#   1. install dependencies (apt, npm) — scripts/install-deps.sh --test
#   2. gcc build with -Werror, C unit tests (CTest) against a real PostgreSQL
#   3. clang build with ASan/UBSan, the same unit tests
#   4. every libFuzzer target briefly (fuzz_ipc for 60 s), ASan/UBSan
#   5. integration tests: the real binary over loopback, real PostgreSQL,
#      real nginx, real OIDC client libraries (node:test); then most of them
#      again on the ASan/UBSan binary
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
IPC_FUZZ_SECONDS=${IPC_FUZZ_SECONDS:-60}

bash scripts/install-deps.sh --test
(cd tests && npm ci --no-audit --no-fund --silent)

# --- a throwaway PostgreSQL cluster (initdb refuses root: run it as postgres)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGTMP=$(mktemp -d /tmp/dreamauth-pg.XXXXXX)
chmod 755 "$PGTMP"; chown postgres "$PGTMP"
PGPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 55432)
cleanup() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap cleanup EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$PGTMP/db" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/db" -l "$PGTMP/pg.log" \
  -o "-k $PGTMP -p $PGPORT -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" -w start >/dev/null
export DREAMAUTH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
echo "test PostgreSQL on port $PGPORT"

echo "=== gcc build (-Werror) + unit tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS" >/dev/null
(cd build && ctest --output-on-failure -j"$JOBS")

echo "=== clang build with ASan/UBSan + unit tests"
CC=clang cmake -S . -B build-asan -DDREAMAUTH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$JOBS" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS")

echo "=== fuzz targets (libFuzzer + ASan/UBSan)"
CC=clang cmake -S . -B build-fuzz -DDREAMAUTH_FUZZ=ON -DDREAMAUTH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$JOBS" >/dev/null
for target in build-fuzz/fuzz_*; do
  name=$(basename "$target")
  secs=$FUZZ_SECONDS
  [ "$name" = fuzz_ipc ] && secs=$IPC_FUZZ_SECONDS
  work=$(mktemp -d)
  echo "fuzzing $name for ${secs}s"
  "$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/" \
    "$work" "fuzz/corpus/$name" > "$work/log" 2>&1 || { tail -50 "$work/log"; echo "FUZZ FAILURE in $name"; exit 1; }
  grep -E "stat::number_of_executed_units" "$work/log" || true
  rm -rf "$work"
done

echo "=== integration tests (real binary, PostgreSQL, nginx, OIDC clients)"
export DREAMAUTH_BIN="$ROOT/build/dreamauth"
node --test --test-concurrency=1 tests/integration/

echo "=== integration tests again on the ASan/UBSan binary (hostile input, OIDC, keys, nginx)"
# Every server the harness stops is checked for sanitizer reports. The
# runtime tests (kill -9 timings, the embedded cluster) stay on the gcc build.
DREAMAUTH_BIN="$ROOT/build-asan/dreamauth" ASAN_OPTIONS=detect_leaks=1 node --test --test-concurrency=1 \
  tests/integration/http.test.mjs tests/integration/accounts.test.mjs tests/integration/oidc.test.mjs \
  tests/integration/keys.test.mjs tests/integration/proxy.test.mjs tests/integration/nginx.test.mjs \
  tests/integration/caddy.test.mjs tests/integration/hostile.test.mjs \
  tests/integration/siwe.test.mjs tests/integration/passkeys.test.mjs tests/integration/two_factor.test.mjs \
  tests/integration/admin.test.mjs tests/integration/admin_console.test.mjs tests/integration/mail.test.mjs \
  tests/integration/audit.test.mjs tests/integration/metrics.test.mjs \
  tests/integration/cors.test.mjs tests/integration/config.test.mjs tests/integration/spa.test.mjs \
  tests/integration/sdk.test.mjs
