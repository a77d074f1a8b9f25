#!/usr/bin/env bash
# The HTTP layer alone: nginx `return 200` (1 worker) vs dreamauth WORKERS=1
# on /api/health/live (a handler that does nothing), same machine, same run.
# Server on core 0, wrk on core 1; wrk -t1 -c32, BENCH_SECONDS (10) per run,
# two rounds each, alternating. Run by hand (as root): bash tests/bench/http_layer.sh
source "$(dirname "$0")/lib.sh"
build_release
start_pg
NGINX_PORT=$PORT_BASE
DA_PORT=$((PORT_BASE + 1))
start_nginx "$NGINX_PORT" 1
start_dreamauth "$DA_PORT" 1 "$SERVER_CPU"

nginx_url="http://127.0.0.1:$NGINX_PORT/"
da_url="http://127.0.0.1:$DA_PORT/api/health/live"
warm "$nginx_url"; warm "$da_url"
results=()
for round in 1 2; do
	results+=("$(run_wrk "nginx-return-200#$round" "$nginx_url" 32)")
	results+=("$(run_wrk "dreamauth-live#$round" "$da_url" 32)")
done

echo
echo "HTTP layer: $(date -u '+%Y-%m-%d %H:%M UTC'), $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), wrk -t1 -c32 -d${SECONDS_PER_RUN}s"
header "server (1 process, core 0)"
best_n=0; best_d=0
for r in "${results[@]}"; do
	set -- $r
	row "$1" "$2" "$3" "$4" "$5"
	case $1 in
	nginx*) awk -v a="$2" -v b="$best_n" 'BEGIN { exit !(a > b) }' && best_n=$2 ;;
	dreamauth*) awk -v a="$2" -v b="$best_d" 'BEGIN { exit !(a > b) }' && best_d=$2 ;;
	esac
done
echo
echo "best dreamauth / best nginx: $(ratio "$best_d" "$best_n")"
