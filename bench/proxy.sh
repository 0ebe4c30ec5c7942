#!/usr/bin/env bash
# Requests per second to the dev provider's API over loopback, measured with
# wrk: called directly with a token, through `freshtoken proxy`, and through
# nginx configured as a reverse proxy that injects the same Authorization
# header (the yardstick). Two requests by default: a small answer
# (/v2/users/me, 156 bytes) and a page of 42 contacts (10 KB, chunked, with a
# Link header to rewrite), as a paginated read gets. Prints a Markdown table
# for each, for docs/performance.md.
# Besides requests per second, which on a small machine depends on how wrk,
# the provider and the proxy share the CPUs, it reports the CPU time the proxy
# process itself spent per request: its own cost, and the steadier number.
#
#   bench/proxy.sh                       # 10 s per run, 32 connections, 2 wrk threads
#   DURATION=30s CONNECTIONS=64 bench/proxy.sh
#   ENDPOINTS=/v2/company bench/proxy.sh  # other requests, separated by spaces
#   BASELINE=/tmp/freshtoken-old bench/proxy.sh   # also an older build's proxy
#
# Needs go, wrk, nginx and curl (apt-get install wrk nginx curl). Everything
# listens on 127.0.0.1 only, and every process it starts is stopped when it
# ends, however it ends. Not run by CI.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PROVIDER_PORT=${PROVIDER_PORT:-18900}
PROXY_PORT=${PROXY_PORT:-18787}
NGINX_PORT=${NGINX_PORT:-18788}
BASELINE_PORT=${BASELINE_PORT:-18789}
BASELINE=${BASELINE:-}
ENDPOINTS=${ENDPOINTS:-/v2/users/me /v2/contacts?per_page=100}

for tool in go wrk nginx curl; do
	command -v "$tool" >/dev/null || { echo "bench/proxy.sh needs $tool (apt-get install wrk nginx curl)" >&2; exit 2; }
done
for port in "$PROVIDER_PORT" "$PROXY_PORT" "$NGINX_PORT" "$BASELINE_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; set PROVIDER_PORT, PROXY_PORT, NGINX_PORT or BASELINE_PORT" >&2
		exit 2
	fi
done

cd "$(dirname "$0")/.."
. bench/lib.sh
start_bench_env "$PROVIDER_PORT" "$PROXY_PORT"
api="http://127.0.0.1:$PROVIDER_PORT/"

"$ft" proxy --listen "127.0.0.1:$PROXY_PORT" 2>"$work/proxy.log" &
pids+=($!)
proxy_pid=$!
if [ -n "$BASELINE" ]; then
	"$BASELINE" proxy --listen "127.0.0.1:$BASELINE_PORT" 2>"$work/baseline.log" &
	pids+=($!)
	baseline_pid=$!
fi

mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	upstream api {
		server 127.0.0.1:$PROVIDER_PORT;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location /bench/ {
			proxy_pass http://api/;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host 127.0.0.1:$PROVIDER_PORT;
			proxy_set_header Authorization "Bearer $token";
		}
	}
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
nginx_pid=$!

wait_http "http://127.0.0.1:$PROXY_PORT/"
wait_http "http://127.0.0.1:$NGINX_PORT/"
if [ -n "$BASELINE" ]; then
	wait_http "http://127.0.0.1:$BASELINE_PORT/"
fi

# cpu_ticks PID...: the user and system CPU time the processes have used.
cpu_ticks() {
	local total=0 pid fields
	for pid in "$@"; do
		read -ra fields <"/proc/$pid/stat"
		total=$((total + fields[13] + fields[14]))
	done
	echo "$total"
}

# measure NAME URL PIDS [wrk args]: one warm-up run, then the measured one,
# with the CPU time PIDS (a quoted list, or "") used per request.
measure() {
	local name=$1 url=$2 accounted=$3
	shift 3
	wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s "$@" "$url" >/dev/null
	local out before after
	before=$(cpu_ticks $accounted)
	out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency "$@" "$url")
	after=$(cpu_ticks $accounted)
	if grep -q "Non-2xx" <<<"$out"; then
		echo "$name: some answers were not 2xx:" >&2
		echo "$out" >&2
		exit 1
	fi
	local rps p50 p99 requests cpu="–"
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	if [ -n "$accounted" ]; then
		cpu="$(((after - before) * 1000000 / $(getconf CLK_TCK) / requests)) µs"
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$cpu"
}

echo "wrk -t $THREADS -c $CONNECTIONS -d $DURATION, $(nproc) CPUs ($(uname -m)), $(go version | cut -d' ' -f3), $(nginx -v 2>&1 | cut -d' ' -f3)"
read -ra endpoints <<<"$ENDPOINTS"
for endpoint in "${endpoints[@]}"; do
	direct="${api%/}$endpoint"
	through_proxy="http://127.0.0.1:$PROXY_PORT/bench$endpoint"
	through_nginx="http://127.0.0.1:$NGINX_PORT/bench$endpoint"
	through_baseline="http://127.0.0.1:$BASELINE_PORT/bench$endpoint"
	curl -sf -o /dev/null -H "Authorization: Bearer $token" "$direct"
	curl -sf -o /dev/null "$through_proxy"
	curl -sf -o /dev/null "$through_nginx"
	echo
	echo "GET $endpoint ($(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $token" "$direct") bytes)"
	echo
	echo "| path | requests/s | latency p50 | latency p99 | proxy CPU per request |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	measure "direct to the dev provider" "$direct" "" -H "Authorization: Bearer $token"
	measure "through freshtoken proxy" "$through_proxy" "$proxy_pid"
	if [ -n "$BASELINE" ]; then
		curl -sf -o /dev/null "$through_baseline"
		measure "through the baseline's proxy ($BASELINE)" "$through_baseline" "$baseline_pid"
	fi
	measure "through nginx (header-injecting reverse proxy)" "$through_nginx" "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
done
