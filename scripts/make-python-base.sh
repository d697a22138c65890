#!/usr/bin/env bash
# Print the Python base image to build on (the bake variable PYTHON_BASE), making it
# first if needed. Idempotent.
#
#   1. If $PYTHON_BASE (default python:3.12-slim) is present locally, use it.
#   2. Else try to pull it (bounded by PULL_TIMEOUT seconds).
#   3. Else make $LOCAL_BASE (default queuefirst/python-base:local) with debootstrap
#      from Debian $SUITE (bookworm: Python 3.11) unless it already exists.
#
# Usage: PYTHON_BASE=$(scripts/make-python-base.sh)
set -euo pipefail

PYTHON_BASE=${PYTHON_BASE:-python:3.12-slim}
LOCAL_BASE=${LOCAL_BASE:-queuefirst/python-base:local}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PULL_TIMEOUT=${PULL_TIMEOUT:-20}

log() { printf 'make-python-base: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$PYTHON_BASE"; then
    echo "$PYTHON_BASE"; exit 0
fi
if [ "${SKIP_PULL:-0}" != 1 ] && timeout "$PULL_TIMEOUT" docker pull -q "$PYTHON_BASE" >/dev/null 2>&1; then
    echo "$PYTHON_BASE"; exit 0
fi
if have_image "$LOCAL_BASE"; then
    log "$PYTHON_BASE cannot be pulled; using existing $LOCAL_BASE"
    echo "$LOCAL_BASE"; exit 0
fi

log "$PYTHON_BASE cannot be pulled; making $LOCAL_BASE from Debian $SUITE"
command -v debootstrap >/dev/null 2>&1 || {
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >/dev/null
}
root=$(mktemp -d /tmp/python-base.XXXXXX)
trap 'as_root rm -rf "$root"' EXIT
as_root debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates "$SUITE" "$root" "$MIRROR" >&2
# Trim what a function image never needs: apt lists and caches, docs, man pages, locales.
as_root chroot "$root" apt-get clean
as_root rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/var/log/* "$root"/tmp/*
as_root tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$LOCAL_BASE" >/dev/null
log "made $LOCAL_BASE ($(docker image inspect -f '{{.Size}}' "$LOCAL_BASE") bytes)"
echo "$LOCAL_BASE"
