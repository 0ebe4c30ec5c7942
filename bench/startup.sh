#!/usr/bin/env bash
# Start-up time of `freshtoken token` with a valid token (no renewal, no
# network) beside a Go hello-world program built by the same Go, and the
# ratio of the two. Uses hyperfine when it is installed (apt-get install
# hyperfine), else times a loop of runs with bash's own clock. Not run by CI.
#
#   bench/startup.sh              # 200 runs each, in 9 alternating rounds
#   RUNS=500 ROUNDS=5 bench/startup.sh
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

# This VM's speed drifts from minute to minute, so the two programs are timed
# in alternating rounds, and the ratio reported is the median of the rounds'
# ratios of medians.
ROUNDS=${ROUNDS:-9}
per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
if command -v hyperfine >/dev/null; then
	# round: the median seconds of hello-world and of token, on one line.
	round() {
		hyperfine -N --warmup 10 --runs "$per_round" --export-json "$work/times.json" \
			"$work/hello-world" "$ft -e bench token" >/dev/null 2>&1
		grep -o '"median": *[0-9.e-]*' "$work/times.json" | grep -o '[0-9.e-]*$' | paste -sd ' '
	}
else
	echo "hyperfine is not installed (apt-get install hyperfine); timing with bash's clock" >&2
	# mean CMD…: the mean seconds a run of CMD takes.
	mean() {
		local start end
		start=$EPOCHREALTIME
		for _ in $(seq "$per_round"); do "$@" >/dev/null; done
		end=$EPOCHREALTIME
		awk -v s="$start" -v e="$end" -v n="$per_round" 'BEGIN { print (e - s) / n }'
	}
	"$work/hello-world" >/dev/null && "$ft" -e bench token >/dev/null # warm the page cache
	round() { echo "$(mean "$work/hello-world") $(mean "$ft" -e bench token)"; }
fi
for _ in $(seq "$ROUNDS"); do round; done >"$work/rounds"
# The middle round of each column, and of the ratios.
middle() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
hello_s=$(cut -d' ' -f1 "$work/rounds" | middle)
token_s=$(cut -d' ' -f2 "$work/rounds" | middle)
ratio=$(awk '{ print $2 / $1 }' "$work/rounds" | middle)
awk -v h="$hello_s" -v t="$token_s" -v r="$ratio" -v n="$ROUNDS" 'BEGIN { printf "hello-world %.2f ms, freshtoken token %.2f ms, ratio %.2f (median of %d rounds)\n", h*1000, t*1000, r, n }'
