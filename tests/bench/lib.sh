# Shared helpers for the hand-run benchmarks in tests/bench/*.sh (sourced,
# not run). Not part of tests/run_all.sh: numbers depend on the machine.
#
# Environment:
#   BENCH_DATABASE_URL  an existing PostgreSQL admin URL (or DREAMAUTH_TEST_DATABASE_URL; a fresh database is
#                       created in it); unset: a throwaway cluster is started
#                       on BENCH_PG_PORT (default 55630) and removed at exit
#   BENCH_PORT_BASE     first of the TCP ports used (default 18080)
#   BENCH_SECONDS       wrk duration per measurement (default 10)
#   SKIP_BUILD=1        reuse build-release/ as it is
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$ROOT/build-release"
BIN=${BENCH_BIN:-$BUILD/dreamauth}	# BENCH_BIN: compare another build
PORT_BASE=${BENCH_PORT_BASE:-18080}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CORES=$(nproc)
BENCH_TMP=$(mktemp -d /tmp/dreamauth-bench.XXXXXX)
chmod 755 "$BENCH_TMP"
PIDS=()
PG_STARTED=""
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
SECRET=bench-secret-0123456789abcdef0123456789abcdef

# server on core 0, wrk on core 1 (when there are at least two cores)
if [ "$CORES" -ge 2 ]; then SERVER_CPU="taskset -c 0"; CLIENT_CPU="taskset -c 1"; else SERVER_CPU=""; CLIENT_CPU=""; fi

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$PG_STARTED" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BENCH_TMP/pg/db" -m immediate stop >/dev/null 2>&1 || true
	fi
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "needs $1 (bash scripts/install-deps.sh --test)" >&2; exit 1; }; }
need wrk; need nginx; need curl; need psql

build_release() {
	if [ -z "${BENCH_BIN:-}" ] && { [ "${SKIP_BUILD:-}" != 1 ] || [ ! -x "$BIN" ]; }; then
		echo "building Release into $BUILD ..." >&2
		cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$BUILD" -j"$CORES" --target dreamauth >/dev/null
	fi
}

# Sets ADMIN_URL to a PostgreSQL admin URL.
start_pg() {
	if [ -n "${BENCH_DATABASE_URL:-${DREAMAUTH_TEST_DATABASE_URL:-}}" ]; then ADMIN_URL=${BENCH_DATABASE_URL:-$DREAMAUTH_TEST_DATABASE_URL}; return; fi
	local port=${BENCH_PG_PORT:-55630}
	mkdir -p "$BENCH_TMP/pg"; chown postgres "$BENCH_TMP/pg"
	runuser -u postgres -- "$PGBIN/initdb" -D "$BENCH_TMP/pg/db" -A trust -U postgres >/dev/null
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BENCH_TMP/pg/db" -l "$BENCH_TMP/pg/log" \
		-o "-k $BENCH_TMP/pg -p $port -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=off" -w start >/dev/null
	PG_STARTED=1
	ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

fresh_db() {
	local name="bench_$$_$RANDOM"
	psql "$ADMIN_URL" -qc "CREATE DATABASE $name" >/dev/null
	echo "${ADMIN_URL%/*}/$name"
}

wait_port() {	# wait_port PORT PATH
	for _ in $(seq 1 200); do
		curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0
		sleep 0.05
	done
	echo "nothing healthy on port $1$2" >&2
	return 1
}

# start_nginx PORT WORKERS [CPU-PREFIX]: `return 200` with a body like /api/health/live's.
start_nginx() {
	local port=$1 workers=$2 cpu=${3-$SERVER_CPU} dir="$BENCH_TMP/nginx-$1"
	mkdir -p "$dir"
	cat > "$dir/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 10000000;
	keepalive_timeout 60s;
	client_body_temp_path $dir/cb; proxy_temp_path $dir/pt; fastcgi_temp_path $dir/ft;
	uwsgi_temp_path $dir/ut; scgi_temp_path $dir/st;
	server {
		listen 127.0.0.1:$port;
		location / { default_type application/json; return 200 '{"status":"ok"}'; }
	}
}
EOF
	$cpu nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' &
	PIDS+=($!)
	wait_port "$port" /
}

# start_dreamauth PORT WORKERS [CPU-PREFIX] [ENV=VALUE ...]; sets DA_PID (the master).
start_dreamauth() {
	local port=$1 workers=$2 cpu=${3-$SERVER_CPU}
	shift 3 || shift $#
	local db; db=$(fresh_db)
	env -i PATH="$PATH" LISTEN="127.0.0.1:$port" AUTH_URL="http://localhost:$port" WORKERS="$workers" \
		KDF_THREADS=1 DATABASE_URL="$db" AUTH_SECRET="$SECRET" AUTO_MIGRATE=true LOG_LEVEL=warn \
		ENABLE_REGISTRATION=true "$@" \
		$cpu "$BIN" serve >"$BENCH_TMP/dreamauth-$port.log" 2>&1 &
	DA_PID=$!
	PIDS+=($DA_PID)
	wait_port "$port" /api/health
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# run_wrk NAME URL CONNECTIONS [extra wrk args...] → "name req/s p50_ms p99_ms non2xx" on stdout
run_wrk() {
	local name=$1 url=$2 conns=$3 out
	shift 3
	out=$($CLIENT_CPU wrk -t1 -c"$conns" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url")
	echo "$out" > "$BENCH_TMP/wrk-$name.txt"
	local rps p50 p99 bad
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
	echo "$name $rps $(to_ms "$p50") $(to_ms "$p99") ${bad:-0}"
}

# wrk prints 812.00us / 1.23ms / 2.10s
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else printf "?" }'
}

warm() {	# warm URL [wrk args...]: 2 s unmeasured
	local url=$1
	shift
	$CLIENT_CPU wrk -t1 -c32 -d2s "$@" "$url" >/dev/null
}

# pss_mib PID...: summed Pss from smaps_rollup, in MiB
pss_mib() {
	local total=0 p kb
	for p in "$@"; do
		kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		total=$((total + ${kb:-0}))
	done
	awk -v k="$total" 'BEGIN { printf "%.1f", k / 1024 }'
}

# sign_up PORT EMAIL PASSWORD → prints the session cookie "name=value"
sign_up() {
	curl -fs -D - -o /dev/null -H 'content-type: application/json' \
		-d "{\"email\":\"$2\",\"password\":\"$3\",\"name\":\"Bench\"}" \
		"http://127.0.0.1:$1/api/auth/sign-up/email" |
		awk 'tolower($1)=="set-cookie:" && $2 ~ /^dreamauth_session=/ { sub(/;.*/, "", $2); print $2 }' | tr -d '\r'
}

row() { printf '| %-40s | %10s | %8s | %8s | %-6s |\n' "$@"; }
header() { row "$1" "req/s" "p50 ms" "p99 ms" "non-2xx"; row "---" "---:" "---:" "---:" "---:"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
