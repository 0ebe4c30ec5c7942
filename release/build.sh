#!/usr/bin/env bash
# Builds freshtoken's release: an archive per system (Linux, macOS and
# Windows, amd64 and arm64) holding the binary, shell completions, manual
# pages and the README; a .deb and an .rpm for Linux; and SHA256SUMS.
#
#   release/build.sh                 # everything, into dist/
#   SNAPSHOT=1 release/build.sh      # Linux amd64 only (what CI checks)
#   VERSION=1.2.3 release/build.sh   # the version to stamp (default: from git)
set -euo pipefail
cd "$(dirname "$0")/.."

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo 0.0.0)}
version=${version#v}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
nfpm="go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0"
targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
if [ -n "${SNAPSHOT:-}" ]; then
	targets=(linux/amd64)
	version="0.0.0~snapshot.${commit}"
fi
dist=dist
rm -rf "$dist"
mkdir -p "$dist"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

echo "release: manual pages" >&2
mkdir -p "$stage/man"
go run ./release/man "$stage/man"

ldflags="-s -w -X github.com/freshtoken/freshtoken/internal/cli.version=${version} -X github.com/freshtoken/freshtoken/internal/cli.commit=${commit}"
for target in "${targets[@]}"; do
	goos=${target%/*} goarch=${target#*/}
	echo "release: $goos/$goarch" >&2
	dir="$stage/freshtoken_${version}_${goos}_${goarch}"
	mkdir -p "$dir/completions" "$dir/man"
	exe=freshtoken
	[ "$goos" = windows ] && exe=freshtoken.exe
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/freshtoken
	# Completions come from a binary that runs here.
	go run ./cmd/freshtoken completion bash >"$dir/completions/freshtoken.bash"
	go run ./cmd/freshtoken completion zsh >"$dir/completions/_freshtoken"
	go run ./cmd/freshtoken completion fish >"$dir/completions/freshtoken.fish"
	cp "$stage"/man/*.1 "$dir/man/"
	cp README.md "$dir/"
	name=$(basename "$dir")
	if [ "$goos" = windows ]; then
		go run ./release/zip "$dist/$name.zip" "$stage" "$name"
	else
		tar -C "$stage" -czf "$dist/$name.tar.gz" "$name"
	fi
	if [ "$goos" = linux ]; then
		sed -e "s|\${NFPM_ARCH}|$goarch|; s|\${NFPM_VERSION}|$version|; s|\${NFPM_STAGE}|$dir|" release/nfpm.yaml >"$stage/nfpm.yaml"
		for packager in deb rpm; do
			$nfpm package --config "$stage/nfpm.yaml" --packager "$packager" --target "$dist/" >&2
		done
	fi
done
(cd "$dist" && sha256sum -- * >SHA256SUMS)
echo "release: $(ls "$dist" | wc -l) files in $dist/" >&2
ls -1 "$dist"
