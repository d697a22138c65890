#!/usr/bin/env bash
# Fetch AWS's Runtime Interface Emulator (aws-lambda-rie) from the aws-sam-cli wheel on
# the package index (version and hash pinned in requirements/rie.txt) and cache it.
# Prints the path of the cached binary. Idempotent: a cached binary is reused.
#
#   RIE=$(scripts/fetch-rie.sh)            # this machine's architecture
#   RIE_ARCH=arm64 scripts/fetch-rie.sh    # another one
#   RIE_CACHE=/some/dir scripts/fetch-rie.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
spec=$root/requirements/rie.txt
version=$(sed -n 's/^aws-sam-cli==\([^ ]*\).*/\1/p' "$spec")
arch=${RIE_ARCH:-$(uname -m)}
case "$arch" in
    x86_64|amd64) arch=x86_64 ;;
    arm64|aarch64) arch=arm64 ;;
    *) echo "fetch-rie: unsupported architecture $arch" >&2; exit 1 ;;
esac
cache=${RIE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/queuefirst/rie/$version}
dest=$cache/aws-lambda-rie-$arch

if [ ! -x "$dest" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
        -r "$spec" -d "$tmp" >&2
    python3 "$root/scripts/extract-rie.py" "$tmp"/aws_sam_cli-*.whl "$arch" "$dest"
fi
echo "$dest"
