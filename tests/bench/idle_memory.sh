#!/usr/bin/env bash
# Idle memory: PSS of the dreamauth process tree (master, workers, signer,
# kdf; PostgreSQL excluded) right after a start with the defaults and
# WORKERS=2, summed from /proc/<pid>/smaps_rollup. PSS splits each shared
# page among the processes that map it, so the sum is what the tree costs.
# Fails if the total exceeds IDLE_PSS_LIMIT_MIB (default 24). Run by hand
# (as root: smaps of other users' processes): bash tests/bench/idle_memory.sh
#
#   BASELINE_REF=main    also build that git ref (Release, in a temporary
#                        directory) and measure it first, in the same run;
#                        it is reported, not held to the limit
#   BASELINE_BIN=path    the same with a binary built already
#   IDLE_SETTLE_SECONDS  wait after healthy before measuring (default 3:
#                        worker 1's revocation listener clears the cache)
# and those of tests/bench/lib.sh (BENCH_BIN, BENCH_DATABASE_URL, SKIP_BUILD...).
source "$(dirname "$0")/lib.sh"
LIMIT_MIB=${IDLE_PSS_LIMIT_MIB:-24}
SETTLE=${IDLE_SETTLE_SECONDS:-3}

# Builds BASELINE_REF from its git tree into $BENCH_TMP; prints the binary.
build_baseline_ref() {
	local src="$BENCH_TMP/baseline-src" out="$BENCH_TMP/baseline-build"
	mkdir -p "$src"
	git -C "$ROOT" archive "$BASELINE_REF" | tar -x -C "$src"
	echo "building $BASELINE_REF (Release) into $out ..." >&2
	cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$out" -j"$CORES" --target dreamauth >/dev/null
	echo "$out/dreamauth"
}

# descendants PID: every process below PID, depth first.
descendants() {
	local child
	for child in $(ps --ppid "$1" -o pid= 2>/dev/null); do
		echo "$child"
		descendants "$child"
	done
}

# smaps_kib PID FIELD: one field of smaps_rollup, in KiB (0 if gone).
smaps_kib() {
	local kib
	kib=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null) || true
	echo "${kib:-0}"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# measure_tree LABEL MASTER_PID: prints a table; sets TOTAL_KIB.
measure_tree() {
	local label=$1 pid title pss shmem anon
	TOTAL_KIB=0
	echo
	echo "$label:"
	printf '  %-8s %-28s %9s %11s %9s\n' pid process "PSS MiB" "of it shm" "anon"
	for pid in "$2" $(descendants "$2"); do
		[ -r "/proc/$pid/smaps_rollup" ] || continue	# gone meanwhile
		case $(cat "/proc/$pid/comm" 2>/dev/null || true) in postgres*) continue ;; esac
		title=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | sed 's/ *$//') || true
		pss=$(smaps_kib "$pid" Pss)
		shmem=$(smaps_kib "$pid" Pss_Shmem)
		anon=$(smaps_kib "$pid" Pss_Anon)
		printf '  %-8s %-28.28s %9s %11s %9s\n' "$pid" "${title:-?}" \
			"$(mib "$pss")" "$(mib "$shmem")" "$(mib "$anon")"
		TOTAL_KIB=$((TOTAL_KIB + pss))
	done
	printf '  %-37s %9s MiB\n' "total" "$(mib "$TOTAL_KIB")"
}

# idle_pss LABEL BINARY PORT: start with the defaults, wait, measure, stop.
idle_pss() {
	local label=$1 port=$3
	BIN=$2
	# lib.sh pins KDF_THREADS=1; give back the default (one per core).
	start_dreamauth "$port" 2 "" KDF_THREADS="$CORES"
	for _ in $(seq 1 100); do
		curl -fs "http://127.0.0.1:$port/api/health" | grep -q '"workers":2,' && break
		sleep 0.1
	done
	sleep "$SETTLE"
	measure_tree "$label ($BIN)" "$DA_PID"
	stop_pid "$DA_PID"
}

build_release
THIS_BIN=$BIN
start_pg
results=()
if [ -n "${BASELINE_REF:-}" ] && [ -z "${BASELINE_BIN:-}" ]; then
	BASELINE_BIN=$(build_baseline_ref)
fi
if [ -n "${BASELINE_BIN:-}" ]; then
	idle_pss "baseline${BASELINE_REF:+ $BASELINE_REF}" "$BASELINE_BIN" "$PORT_BASE"
	results+=("baseline${BASELINE_REF:+ ($BASELINE_REF)}: $(mib "$TOTAL_KIB") MiB")
fi
idle_pss "this build" "$THIS_BIN" $((PORT_BASE + 1))
results+=("this build: $(mib "$TOTAL_KIB") MiB")

echo
echo "idle PSS, WORKERS=2, defaults: $(date -u '+%Y-%m-%d %H:%M UTC'), $CORES cores, limit $LIMIT_MIB MiB"
printf '  %s\n' "${results[@]}"
if [ "$TOTAL_KIB" -gt $((LIMIT_MIB * 1024)) ]; then
	echo "FAIL: $(mib "$TOTAL_KIB") MiB > $LIMIT_MIB MiB" >&2
	exit 1
fi
echo "ok: $(mib "$TOTAL_KIB") MiB <= $LIMIT_MIB MiB"
