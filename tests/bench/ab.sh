#!/usr/bin/env bash
# A/B of two builds in the same run, alternating so that machine noise falls
# on both: forward-auth (/api/verify vs nginx), password sign-ins flat out,
# the token endpoint (client_credentials and authorization-code exchanges)
# and idle memory. Run by hand (as root):
#   BASE_BIN=/path/to/old/dreamauth NEW_BIN=build-release/dreamauth \
#     DREAMAUTH_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash tests/bench/ab.sh
# Knobs: ROUNDS (default 2), BENCH_SECONDS (default 5).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
: "${BASE_BIN:?set BASE_BIN}" "${NEW_BIN:?set NEW_BIN}" "${DREAMAUTH_TEST_DATABASE_URL:?set DREAMAUTH_TEST_DATABASE_URL}"
ROUNDS=${ROUNDS:-2}
export BENCH_SECONDS=${BENCH_SECONDS:-5}
OUT=$(mktemp -d /tmp/dreamauth-ab.XXXXXX)
for round in $(seq 1 "$ROUNDS"); do
	for side in base new; do
		bin=$BASE_BIN; [ "$side" = new ] && bin=$NEW_BIN
		echo "== round $round: $side ($bin)" >&2
		BENCH_BIN=$bin bash "$HERE/verify.sh" > "$OUT/verify-$side-$round.txt" 2>&1 || echo "verify.sh failed ($side)" >&2
		DREAMAUTH_BIN=$bin DURATION=$BENCH_SECONDS RUNS=1 CODES=40000 bash "$HERE/oidc_token_bench.sh" \
			> "$OUT/token-$side-$round.txt" 2>&1 || echo "oidc_token_bench.sh failed ($side)" >&2
	done
done
BASELINE_BIN=$BASE_BIN BENCH_BIN=$NEW_BIN IDLE_PSS_LIMIT_MIB=${IDLE_PSS_LIMIT_MIB:-24} bash "$HERE/idle_memory.sh" \
	> "$OUT/idle-memory.txt" 2>&1 || echo "idle_memory.sh: over the limit or failed" >&2
for f in "$OUT"/*.txt; do
	echo "---- $(basename "$f")"
	grep -Ei 'req/s|grants|exchanges|ratio|sign-in|PSS|total|MiB|%' "$f" | tail -25
done
echo "(full outputs in $OUT)"
