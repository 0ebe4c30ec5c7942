# Shared by the bench scripts (sourced, not run): a work folder removed at
# the end, the processes started (listed in pids) stopped however the script
# ends, and setting up an environment "bench" logged in to the dev provider.

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# wait_http URL: until something answers there, for at most 10 seconds.
wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "nothing answers at $1" >&2
	return 1
}

# start_bench_env PROVIDER_PORT REDIRECT_PORT: builds freshtoken into
# $work/freshtoken (also $ft) as release/build.sh does (static, no symbol
# table), so what is measured is what users run, starts the dev provider with no rate limit,
# and logs environment "bench" in; its access token goes into $token.
start_bench_env() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/freshtoken" ./cmd/freshtoken
	ft="$work/freshtoken"
	export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" DEV_SECRET=dev-client-secret
	"$ft" dev-provider --listen "127.0.0.1:$1" --auto-approve --requests-per-minute -1 2>"$work/provider.log" &
	pids+=($!)
	wait_http "http://127.0.0.1:$1/"
	"$ft" init -e bench --provider freeagent --api-url "http://127.0.0.1:$1/" --client-id dev-client-id \
		--client-secret-env DEV_SECRET --redirect-uri "http://127.0.0.1:$2/callback" >/dev/null 2>&1
	BROWSER="curl -s -o /dev/null -L" "$ft" -e bench login 2>/dev/null
	token=$("$ft" -e bench token)
}
