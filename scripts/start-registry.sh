#!/usr/bin/env bash
# Start a local OCI registry (Debian's docker-registry, i.e. distribution) on
# 127.0.0.1:5000 to push function images to. Idempotent: does nothing when the
# registry already answers. Docker treats localhost registries as insecure (plain
# HTTP) by default, so no daemon configuration is needed.
set -euo pipefail

ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
DATA=${REGISTRY_DATA:-/var/lib/queuefirst-registry}
LOG=${REGISTRY_LOG:-/var/log/queuefirst-registry.log}
CONF=${REGISTRY_CONF:-/etc/queuefirst-registry.yml}

log() { printf 'start-registry: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
answers() { curl -fsS -o /dev/null "http://$ADDR/v2/" 2>/dev/null; }

if answers; then log "registry already answers on $ADDR"; exit 0; fi

if ! command -v docker-registry >/dev/null 2>&1; then
    as_root apt-get update -qq
    # --no-install-recommends; do not let the package's own service grab :5000.
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        docker-registry >/dev/null
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
    answers && { log "registry already answers on $ADDR"; exit 0; }
fi

as_root mkdir -p "$DATA"
as_root tee "$CONF" >/dev/null <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DATA
  delete:
    enabled: true
http:
  addr: $ADDR
YML
log "starting docker-registry on $ADDR (log: $LOG)"
as_root sh -c "nohup docker-registry serve '$CONF' >>'$LOG' 2>&1 &"
for _ in $(seq 30); do
    if answers; then log "ready"; exit 0; fi
    sleep 0.5
done
log "registry did not answer on $ADDR; last log lines:"; tail -n 20 "$LOG" >&2 || true
exit 1
