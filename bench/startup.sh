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
for tool in go curl; do
	command -v "$tool" >/dev/null || { echo "bench/startup.sh needs $tool" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
. bench/lib.sh
mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'GO'
package main

import "fmt"

func main() { fmt.Println("hello, world") }
GO
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$work/hello-world" .)

start_bench_env "$PORT" "$((PORT + 1))" # the token is valid for an hour: the runs below renew nothing

if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$work/times.json" \
		"$work/hello-world" "$ft -e bench token" >&2
	# The two means, in seconds, in the order run.
	read -r hello_s token_s < <(grep -o '"mean": *[0-9.e-]*' "$work/times.json" | grep -o '[0-9.e-]*$' | paste -sd ' ')
else
	echo "hyperfine is not installed (apt-get install hyperfine); timing $RUNS runs with bash's clock" >&2
	# mean CMD…: the mean seconds a run of CMD takes.
	mean() {
		local start end
		start=$EPOCHREALTIME
		for _ in $(seq "$RUNS"); do "$@" >/dev/null; done
		end=$EPOCHREALTIME
		awk -v s="$start" -v e="$end" -v n="$RUNS" 'BEGIN { print (e - s) / n }'
	}
	"$work/hello-world" >/dev/null && "$ft" -e bench token >/dev/null # warm the page cache
	hello_s=$(mean "$work/hello-world")
	token_s=$(mean "$ft" -e bench token)
fi
awk -v h="$hello_s" -v t="$token_s" 'BEGIN { printf "hello-world %.2f ms, freshtoken token %.2f ms, ratio %.2f\n", h*1000, t*1000, t/h }'
