#!/usr/bin/env bash
# Soak of the long-running proxy: it runs for DURATION seconds against the
# dev provider (10 s access tokens), with two environments keeping token
# files and a [notify] webhook that accepts and never answers, while loops
# abuse it: keep-alive and one-shot requests, requests cut mid-body and
# mid-answer, the status page, log-ins through the proxy, config edits every
# few seconds (an environment added and removed, the file moved away and
# back), uploads stopped half-way by clients that stay, and the dev
# provider restarted (every grant ended: notices to the
# hung webhook, then log-ins again). Every SAMPLE seconds it prints the
# proxy's open files, VmRSS, threads and goroutines, and the counts of what
# was done. The goroutines are read from net/http/pprof, which only the
# binary built here serves (on PPROF_PORT, added by go build -overlay: the
# proxy has none); their profile at the end is kept in KEEP if set.
# A leak is a column that grows with the requests or edits, not with time.
#
#   bench/soak.sh                      # 300 s, sample every 15 s
#   DURATION=600 SAMPLE=30 KEEP=/tmp/soak bench/soak.sh
#
# Needs go, curl and python3. Listens on 127.0.0.1 only. Not run by CI.
set -euo pipefail

DURATION=${DURATION:-300}
SAMPLE=${SAMPLE:-15}
PROVIDER_PORT=${PROVIDER_PORT:-54520}
PROXY_PORT=${PROXY_PORT:-54521}
HOOK_PORT=${HOOK_PORT:-54522}
PPROF_PORT=${PPROF_PORT:-54523}
KEEP=${KEEP:-}

cd "$(dirname "$0")/.."
. bench/lib.sh
ft="$work/freshtoken"
stop="$work/stop"
soak_cleanup() {
	touch "$stop"
	kill "$(cat "$work/provider.pid" 2>/dev/null)" 2>/dev/null || true
	cleanup
}
trap soak_cleanup EXIT INT TERM
cat >"$work/pprof.go" <<'GO'
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("FRESHTOKEN_SOAK_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
GO
printf '{"Replace": {"%s": "%s"}}' "$PWD/cmd/freshtoken/soak_pprof.go" "$work/pprof.go" >"$work/overlay.json"
CGO_ENABLED=0 go build -trimpath -overlay "$work/overlay.json" -o "$ft" ./cmd/freshtoken
export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" DEV_SECRET=dev-client-secret
conf="$XDG_CONFIG_HOME/freshtoken/config.toml"
proxy="http://127.0.0.1:$PROXY_PORT"

start_provider() {
	"$ft" dev-provider --listen "127.0.0.1:$PROVIDER_PORT" --auto-approve --access-ttl 10s --requests-per-minute -1 2>>"$work/provider.log" &
	provider_pid=$!
	echo "$provider_pid" >"$work/provider.pid" # a restart's, for the cleanup
	wait_http "http://127.0.0.1:$PROVIDER_PORT/"
}
start_provider

# The hung webhook: accepts, reads, never answers.
python3 - "$HOOK_PORT" <<'PY' &
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
pids+=($!)

for env in a b; do
	"$ft" init -e "$env" --provider freeagent --api-url "http://127.0.0.1:$PROVIDER_PORT/" --client-id dev-client-id \
		--client-secret-env DEV_SECRET --redirect-uri "$proxy/callback" >/dev/null 2>&1
done
mkdir -p "$work/tokens"
python3 - "$conf" "$work/tokens" "$HOOK_PORT" <<'PY'
import sys
conf, tokens, port = sys.argv[1:]
text = open(conf).read()
for env in ("a", "b"):
    text = text.replace("[env.%s]\n" % env, "[env.%s]\ntoken_file = \"%s/%s\"\n" % (env, tokens, env), 1)
text += "\n[notify]\nwebhook = \"http://127.0.0.1:%s/hook\"\n" % port
open(conf, "w").write(text)
PY
cp "$conf" "$work/config.base"

FRESHTOKEN_SOAK_PPROF="127.0.0.1:$PPROF_PORT" "$ft" proxy --listen "127.0.0.1:$PROXY_PORT" 2>"$work/proxy.log" &
proxy_pid=$!
pids+=($proxy_pid)
wait_http "$proxy/"
login() { BROWSER="curl -s -o /dev/null -L" timeout 60 "$ft" -e "$1" login >/dev/null 2>>"$work/login.log" || true; }
login a
login b

count="$work/count"
echo 0 >"$count"
loop() { while [ ! -e "$stop" ]; do "$@" || true; done; }

keepalive() { # 20 requests on one connection
	local urls=()
	for _ in $(seq 10); do urls+=("$proxy/a/v2/users/me" "$proxy/b/v2/contacts?per_page=100"); done
	curl -s "${urls[@]}" >/dev/null
	echo k >>"$count"
}
oneshot() {
	curl -s -o /dev/null -H 'Connection: close' "$proxy/a/v2/company"
	curl -s -o /dev/null "$proxy/nosuch/v2/company"
	echo o >>"$count"
}
cutshort() { # a body cut short, an answer left unread, a request line alone
	exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"
	printf 'POST /a/v2/contacts HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: 100000\r\n\r\n{"contact":' "$PROXY_PORT" >&3
	exec 3>&-
	curl -s --max-time 0.05 --limit-rate 1k "$proxy/b/v2/contacts?per_page=100" >/dev/null
	exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"
	printf 'GET /a/v2/users/me HTTP/1.1\r\n' >&3
	exec 3>&-
	echo c >>"$count"
}
stalls() { # five uploads that stop half-way, their client staying 2 minutes
	python3 - "$PROXY_PORT" "$stop" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
held = []
for path in ["/nosuch/v2/contacts", "/a/v2/contacts", "/", "/b/v2/contacts", "/nosuch/x"]:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 100000\r\n\r\n{" % (path.encode(), port))
    held.append(s)
for _ in range(120):
    if os.path.exists(stop):
        break
    time.sleep(1)
PY
	echo t >>"$count"
}
looks() { # the status page, status, and the token files read
	curl -s -o /dev/null "$proxy/"
	curl -s -o /dev/null -H 'Accept: application/json' "$proxy/"
	"$ft" status --json >/dev/null 2>&1
	cat "$work/tokens/a" "$work/tokens/b" >/dev/null 2>&1
	echo s >>"$count"
}
edits() { # every few seconds: add c, remove it, move the file away and back
	sleep 3
	cp "$work/config.base" "$conf.tmp"
	printf '\n[env.c]\nprovider = "freeagent"\napi_url = "http://127.0.0.1:%s/"\nclient_id = "dev-client-id"\nclient_secret_env = "DEV_SECRET"\n' "$PROVIDER_PORT" >>"$conf.tmp"
	mv "$conf.tmp" "$conf"
	sleep 3
	cp "$work/config.base" "$conf.tmp" && mv "$conf.tmp" "$conf"
	sleep 3
	mv "$conf" "$conf.away"
	sleep 3
	mv "$conf.away" "$conf"
	echo e >>"$count"
}
relogin() { # every minute: the provider restarted forgets every grant
	for _ in $(seq 60); do [ -e "$stop" ] && return; sleep 1; done
	kill "$provider_pid"
	while (exec 3<>"/dev/tcp/127.0.0.1/$PROVIDER_PORT") 2>/dev/null; do sleep 0.1; done
	start_provider
	sleep 5
	login a
	login b
	echo l >>"$count"
}

for job in keepalive keepalive oneshot cutshort stalls looks edits relogin; do
	loop "$job" &
	pids+=($!)
done

goroutines() { curl -s "http://127.0.0.1:$PPROF_PORT/debug/pprof/goroutine?debug=1" | awk 'NR == 1 {print $NF}'; }
printf '%6s %8s %5s %9s %7s %10s %6s %6s %6s %5s %5s\n' secs requests fds rss_kB threads goroutines cuts stalls looks edits logins
start=$SECONDS
while [ $((SECONDS - start)) -lt "$DURATION" ]; do
	fds=$(ls "/proc/$proxy_pid/fd" | wc -l)
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$proxy_pid/status")
	thr=$(awk '/Threads/ {print $2}' "/proc/$proxy_pid/status")
	k=$(grep -c k "$count" || true); o=$(grep -c o "$count" || true)
	printf '%6d %8d %5d %9d %7d %10d %6d %6d %6d %5d %5d\n' $((SECONDS - start)) $((k * 20 + o * 2)) "$fds" "$rss" "$thr" "$(goroutines)" \
		"$(grep -c c "$count" || true)" "$(grep -c t "$count" || true)" "$(grep -c s "$count" || true)" "$(grep -c e "$count" || true)" "$(grep -c l "$count" || true)"
	sleep "$SAMPLE"
done
touch "$stop"
sleep 2
echo "at the end, with the abuse stopped: $(ls "/proc/$proxy_pid/fd" | wc -l) files, $(goroutines) goroutines"
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	curl -s "http://127.0.0.1:$PPROF_PORT/debug/pprof/goroutine?debug=1" >"$KEEP/goroutines.txt"
	ls -l "/proc/$proxy_pid/fd" >"$KEEP/fds.txt"
	cp "$work"/*.log "$KEEP/"
fi
