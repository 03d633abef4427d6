#!/usr/bin/env bash
# Prepares a CI machine for the sandbox tests: a running Docker engine, bubblewrap for the local
# driver, and the local sandbox image.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then apt_install docker.io; fi
  # vfs and no bridge/iptables: works inside an unprivileged-ish CI container without overlayfs or NAT.
  nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >/var/log/dockerd-ci.log 2>&1 &
  for _ in $(seq 1 30); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not come up within 30 s; see /var/log/dockerd-ci.log" >&2
    tail -n 50 /var/log/dockerd-ci.log >&2 || true
    exit 1
  fi
fi

if ! command -v bwrap >/dev/null 2>&1; then apt_install bubblewrap; fi

"$here/sandbox-image.sh" "${1:-devteam-sandbox:local}"
