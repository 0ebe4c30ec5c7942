#!/usr/bin/env bash
# Checks what release/build.sh made in dist/: the checksums, the archive's
# binary, and the .deb's metadata, files and binary, which must run
# `freshtoken version` and say the version it was stamped with.
set -euo pipefail
cd "$(dirname "$0")/../dist"
fail() { echo "release check: $*" >&2; exit 1; }

sha256sum --quiet -c SHA256SUMS || fail "checksums do not match"
deb=$(ls freshtoken_*.deb | head -1)
[ -n "$deb" ] || fail "no .deb"
ls freshtoken-*.rpm >/dev/null || fail "no .rpm"
info=$(dpkg-deb --info "$deb")
grep -q '^ Package: freshtoken$' <<<"$info" || fail "the .deb is not the freshtoken package"
version=$(sed -n 's/^ Version: //p' <<<"$info")
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/freshtoken ./usr/share/bash-completion/completions/freshtoken ./usr/share/zsh/vendor-completions/_freshtoken \
	./usr/share/fish/vendor_completions.d/freshtoken.fish ./usr/share/man/man1/freshtoken.1 ./usr/share/man/man1/freshtoken-token.1; do
	grep -q " $f\$" <<<"$contents" || fail "the .deb lacks $f"
done
grep -q '^-rwxr-xr-x .* ./usr/bin/freshtoken$' <<<"$contents" || fail "/usr/bin/freshtoken is not executable"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb --extract "$deb" "$root/deb"
said=$("$root/deb/usr/bin/freshtoken" version)
[[ $said == "freshtoken $version (commit "* ]] || fail "the .deb's binary says \"$said\", not version $version"
tar -C "$root" -xzf freshtoken_*_linux_amd64.tar.gz
"$root"/freshtoken_*_linux_amd64/freshtoken --version | grep -q "^freshtoken $version " || fail "the archive's binary has another version"
echo "release check: $deb ($version) and its archive are sound; the binary says: $said"
