#!/usr/bin/env bash
# Make a Docker engine with buildx (bake named contexts) and compose available,
# then make sure dockerd is running. Idempotent: does nothing that is already done.
#
# Debian bookworm's docker.io (20.10) is too old for bake's named contexts, so the
# engine, buildx and compose come from Debian trixie, pinned at priority 100 so that
# nothing else is upgraded from trixie.
set -euo pipefail

MIN_ENGINE_MAJOR=${MIN_ENGINE_MAJOR:-23}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_SECONDS=${WAIT_SECONDS:-60}

log() { printf 'install-docker: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

engine_ok() {
    command -v dockerd >/dev/null 2>&1 || return 1
    local v major
    v=$(dockerd --version 2>/dev/null | sed -n 's/^Docker version \([0-9][0-9]*\)\..*/\1/p')
    major=${v:-0}
    [ "$major" -ge "$MIN_ENGINE_MAJOR" ] || return 1
    docker buildx version >/dev/null 2>&1 || return 1
    docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || return 1
}

install_from_trixie() {
    # shellcheck disable=SC1091
    . /etc/os-release
    if [ "${VERSION_CODENAME:-}" != "trixie" ] && ! grep -rqs 'trixie' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "adding Debian trixie as an apt source (pinned at 100)"
        as_root tee /etc/apt/sources.list.d/trixie.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    if [ ! -f /etc/apt/preferences.d/trixie-pin ]; then
        as_root tee /etc/apt/preferences.d/trixie-pin >/dev/null <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    fi
    log "installing docker.io docker-buildx docker-compose from trixie"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq -t trixie \
        docker.io docker-buildx docker-compose >/dev/null
    hash -r
}

engine_running() { timeout 10 docker info >/dev/null 2>&1; }

start_dockerd() {
    if pgrep -x dockerd >/dev/null 2>&1; then
        log "dockerd process exists; waiting for it"
    elif command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        as_root systemctl start docker
    else
        log "starting dockerd (log: $DOCKERD_LOG)"
        as_root sh -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 &"
    fi

    for _ in $(seq "$WAIT_SECONDS"); do
        if engine_running; then return 0; fi
        sleep 1
    done
    log "dockerd did not become ready in ${WAIT_SECONDS}s; last log lines:"
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    return 1
}

if ! engine_ok; then
    install_from_trixie
    engine_ok || { log "engine still missing or too old after install"; exit 1; }
fi
if ! engine_running; then
    start_dockerd
fi
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker buildx version | head -n1)"
