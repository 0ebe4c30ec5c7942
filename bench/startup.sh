#!/usr/bin/env bash
# Start-up time of `freshtoken token` with a valid token (no renewal, no
# network) beside a Go hello-world program built by the same Go, and the
# ratio of the two. Uses hyperfine when it is installed (apt-get install
# hyperfine), else times a loop of runs with bash's own clock. Not run by CI.
#
#   bench/startup.sh              # 200 runs each
#   RUNS=500 bench/startup.sh
set -euo pipefail

RUNS=${RUNS:-200}
PORT=${PORT:-18901}
command -v go >/dev/null || { echo "bench/startup.sh needs go" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

cd "$(dirname "$0")/.."
go build -o "$work/freshtoken" ./cmd/freshtoken
mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'GO'
package main

import "fmt"

func main() { fmt.Println("hello, world") }
GO
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$work/hello-world" .)

ft="$work/freshtoken"
export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" DEV_SECRET=dev-client-secret
"$ft" dev-provider --listen "127.0.0.1:$PORT" --auto-approve 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.1
done
"$ft" init -e bench --provider freeagent --api-url "http://127.0.0.1:$PORT/" --client-id dev-client-id \
	--client-secret-env DEV_SECRET --redirect-uri "http://127.0.0.1:$((PORT + 1))/callback" >/dev/null 2>&1
BROWSER="curl -s -o /dev/null -L" "$ft" -e bench login 2>/dev/null
"$ft" -e bench token >/dev/null # valid for an hour: the runs below renew nothing

if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$work/times.json" \
		"$work/hello-world" "$ft -e bench token" >&2
	read -r hello token < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["mean"], r[1]["mean"])' "$work/times.json")
else
	echo "hyperfine is not installed (apt-get install hyperfine); timing $RUNS runs with bash" >&2
	mean() {
		local start end
		start=$(date +%s%N)
		for _ in $(seq "$RUNS"); do "$@" >/dev/null; done
		end=$(date +%s%N)
		echo "scale=6; ($end - $start) / $RUNS / 1000000000" | bc
	}
	hello=$(mean "$work/hello-world")
	token=$(mean "$ft" -e bench token)
fi
awk -v h="$hello" -v t="$token" 'BEGIN { printf "hello-world %.2f ms, freshtoken token %.2f ms, ratio %.2f\n", h*1000, t*1000, t/h }'
