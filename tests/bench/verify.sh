#!/usr/bin/env bash
# Forward-auth cost: /api/verify with a valid session cookie vs nginx
# `return 200`; password sign-ins/s flat out vs the argon2id ceiling; verify
# latency while sign-ins run flat out; idle memory (PSS). Run by hand (as
# root): bash tests/bench/verify.sh   (~2.5 minutes with BENCH_SECONDS=10)
# Targets: verify >= 70 % of nginx's req/s and p99 <= 1 ms at 32 connections;
# verify p99 <= 5 ms while sign-ins run flat out.
source "$(dirname "$0")/lib.sh"
build_release
start_pg
EMAIL=bench@example.com
PASSWORD='correct horse battery'
NGINX1=$PORT_BASE; DA1=$((PORT_BASE + 1)); NGINX2=$((PORT_BASE + 2)); DA2=$((PORT_BASE + 3)); DA3=$((PORT_BASE + 4))
machine="$CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
results=()

# ---- 1. one process each, pinned to core 0; wrk on core 1
start_nginx "$NGINX1" 1
start_dreamauth "$DA1" 1 "$SERVER_CPU"
cookie=$(sign_up "$DA1" "$EMAIL" "$PASSWORD")
[ -n "$cookie" ] || { echo "sign-up failed" >&2; cat "$BENCH_TMP/dreamauth-$DA1.log" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$DA1/api/verify")
[ "$code" = 200 ] || { echo "verify with the cookie answered $code" >&2; exit 1; }
warm "http://127.0.0.1:$NGINX1/"; warm "http://127.0.0.1:$DA1/api/verify" -H "Cookie: $cookie"
for round in 1 2; do
	results+=("$(run_wrk "nginx-return-200-w1#$round" "http://127.0.0.1:$NGINX1/" 32)")
	results+=("$(run_wrk "verify-cookie-w1#$round" "http://127.0.0.1:$DA1/api/verify" 32 -H "Cookie: $cookie")")
done
stop_pid "$DA_PID"

# ---- 2. two processes each, not pinned (2 cores in all: wrk, on core 1, competes)
start_nginx "$NGINX2" 2 ""
start_dreamauth "$DA2" 2 ""
cookie2=$(sign_up "$DA2" "$EMAIL" "$PASSWORD")
idle_pss_w2=$(pss_mib "$DA_PID" $(ps --ppid "$DA_PID" -o pid=))
idle_procs_w2=$(( $(ps --ppid "$DA_PID" -o pid= | wc -l) + 1 ))
warm "http://127.0.0.1:$NGINX2/"; warm "http://127.0.0.1:$DA2/api/verify" -H "Cookie: $cookie2"
results+=("$(run_wrk "nginx-return-200-w2" "http://127.0.0.1:$NGINX2/" 32)")
results+=("$(run_wrk "verify-cookie-w2" "http://127.0.0.1:$DA2/api/verify" 32 -H "Cookie: $cookie2")")
stop_pid "$DA_PID"

# ---- 3. password sign-ins flat out: default argon2id, KDF_THREADS=2, not pinned
start_dreamauth "$DA3" 2 "" KDF_THREADS=2 ARGON2_MEMORY_KIB=19456 ARGON2_ITERATIONS=2 ARGON2_PARALLELISM=1
cookie3=$(sign_up "$DA3" "$EMAIL" "$PASSWORD")
pss_before=$(pss_mib "$DA_PID" $(ps --ppid "$DA_PID" -o pid=))
cat > "$BENCH_TMP/signin.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"$EMAIL","password":"$PASSWORD"}'
LUA
gcc -O2 -o "$BENCH_TMP/argon2_single" "$ROOT/tests/bench/argon2_single.c" -largon2
single_ms=$("$BENCH_TMP/argon2_single" 19456 2 1 15)
ceiling=$(awk -v c="$CORES" -v ms="$single_ms" 'BEGIN { printf "%.1f", c * 1000 / ms }')
results+=("$(run_wrk "sign-in-flat-out-c8" "http://127.0.0.1:$DA3/api/auth/sign-in/email" 8 -s "$BENCH_TMP/signin.lua" --timeout 10s)")
# verify while sign-ins run flat out: two wrk at once (both on core 1)
( sleep 0; SECONDS_PER_RUN=$((SECONDS_PER_RUN + 4)) run_wrk "sign-in-background" \
	"http://127.0.0.1:$DA3/api/auth/sign-in/email" 8 -s "$BENCH_TMP/signin.lua" --timeout 10s > "$BENCH_TMP/bg.txt" ) &
bg=$!
sleep 2
results+=("$(run_wrk "verify-during-sign-ins-c32" "http://127.0.0.1:$DA3/api/verify" 32 -H "Cookie: $cookie3")")
wait "$bg"
results+=("$(cat "$BENCH_TMP/bg.txt")")
sleep 2
pss_after=$(pss_mib "$DA_PID" $(ps --ppid "$DA_PID" -o pid=))
stop_pid "$DA_PID"

echo
echo "/api/verify and sign-ins: $(date -u '+%Y-%m-%d %H:%M UTC'), $machine, wrk -t1 -d${SECONDS_PER_RUN}s"
header "run"
declare -A best
for r in "${results[@]}"; do
	set -- $r
	row "$1" "$2" "$3" "$4" "$5"
	key=${1%#*}
	awk -v a="$2" -v b="${best[$key]:-0}" 'BEGIN { exit !(a > b) }' && best[$key]=$2
	case $1 in verify-cookie-w1*) p99_w1="${p99_w1:+$p99_w1 / }$4" ;; esac
done
echo
echo "verify / nginx, 1 process pinned (best of 2): $(ratio "${best[verify-cookie-w1]}" "${best[nginx-return-200-w1]}")  (target >= 70 %); verify p99: $p99_w1 ms (target <= 1 ms)"
echo "verify / nginx, 2 processes:                  $(ratio "${best[verify-cookie-w2]}" "${best[nginx-return-200-w2]}")"
echo "argon2id m=19456 t=2 p=1, one hash: $single_ms ms  ->  ceiling $CORES cores / $single_ms ms = $ceiling hashes/s"
echo "sign-ins/s flat out: ${best[sign-in-flat-out-c8]} = $(ratio "${best[sign-in-flat-out-c8]}" "$ceiling") of the ceiling (wrk and PostgreSQL share the same $CORES cores)"
echo "idle PSS (master + workers + signer + kdf): WORKERS=2: $idle_pss_w2 MiB in $idle_procs_w2 processes; KDF_THREADS=2 instance: $pss_before MiB at start, $pss_after MiB after the sign-in runs"
