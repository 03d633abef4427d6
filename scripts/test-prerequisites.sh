#!/usr/bin/env bash
# Brings up what `npm test` needs (it runs as the `pretest` script), so the suite passes on a fresh
# Debian/Ubuntu machine by itself. As root it installs and starts what is missing; as anyone else it
# changes nothing outside the checkout, prints each missing piece with the command that fixes it,
# and exits 1. Idempotent; when everything is there it only probes (no apt, no network).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null # never prompt, also under CI=true
export DEBIAN_FRONTEND=noninteractive

started=${EPOCHREALTIME/,/.} # a comma in some locales
# What the tests use: test/support/services.ts, test/integration/sandbox-docker.test.ts.
PG_URL='host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3'
IMAGE='devteam-sandbox:test'
LOG_DIR=/var/log/devteam-test
# Each tool the suite (or this script) runs, and the apt package that has it.
TOOLS=(git:git strace:strace unshare:util-linux ip:iproute2 bwrap:bubblewrap redis-server:redis-server redis-cli:redis-server
  psql:postgresql pg_isready:postgresql pg_ctlcluster:postgresql pg_lsclusters:postgresql docker:docker.io chromium:chromium)
# How to start a daemon that does not answer: the distribution's unit where systemd runs, else the
# daemon itself, detached, logging under $LOG_DIR. Constant strings: both run by root and printed.
if [ -d /run/systemd/system ]; then
  REDIS_START='systemctl start redis-server'
  DOCKERD_START='systemctl start docker'
else
  REDIS_START="mkdir -p $LOG_DIR /var/lib/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no --dir /var/lib/redis --logfile $LOG_DIR/redis.log"
  # vfs and no bridge/iptables: works inside a container without overlayfs or NAT.
  DOCKERD_START="mkdir -p $LOG_DIR && cd / && setsid -f dockerd --storage-driver=vfs --iptables=false --bridge=none >>$LOG_DIR/dockerd.log 2>&1 </dev/null"
fi

root=0
[ "$(id -u)" = 0 ] && root=1
missing=() # what is still missing: "what — command", one line each
did=()     # what this run installed or started

say() { printf 'test prerequisites: %s\n' "$*"; }
lack() { missing+=("$1 — $2"); }
have() { command -v "$1" >/dev/null 2>&1; }
# Polls a probe until it succeeds or the seconds run out.
wait_for() {
  local seconds=$1
  shift
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  "$@"
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q -t 2; }
pg_trusts() { psql "$PG_URL" -w -Atqc 'select 1' >/dev/null 2>&1; }
# "<version> <name>" of the packaged cluster on port 5432.
pg_cluster() { pg_lsclusters --no-header 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }'; }
redis_up() { [ "$(timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
docker_up() { timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# Not root, and the local engine's socket is there but closed to this user.
docker_denied() { [ "$root" = 0 ] && [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && [ ! -w /var/run/docker.sock ]; }

# Installs (root) or names (others) the apt packages whose tools are missing; one `apt-get update`.
install_tools() {
  local entry tool pkg packages=()
  local -A tools_of=()
  for entry in "${TOOLS[@]}"; do
    tool=${entry%%:*} pkg=${entry#*:}
    have "$tool" && continue
    [ -n "${tools_of[$pkg]:-}" ] || packages+=("$pkg")
    tools_of[$pkg]="${tools_of[$pkg]:+${tools_of[$pkg]}, }$tool"
  done
  # The engine may run elsewhere (docker-ce, a remote DOCKER_HOST); dockerd is needed only if not.
  if have docker && ! have dockerd && ! docker_denied && ! docker_up; then
    [ -n "${tools_of[docker.io]:-}" ] || packages+=(docker.io)
    tools_of[docker.io]="${tools_of[docker.io]:+${tools_of[docker.io]}, }dockerd"
  fi
  [ ${#packages[@]} = 0 ] && return 0
  if [ "$root" = 0 ]; then
    for pkg in "${packages[@]}"; do lack "${tools_of[$pkg]}: not installed" "sudo apt-get install -y $pkg"; done
    return 0
  fi
  have apt-get || { lack "${packages[*]} (no apt-get here)" "install them with this system's package manager"; return 0; }
  mkdir -p "$LOG_DIR"
  say "installing ${packages[*]} (apt-get, log $LOG_DIR/apt.log)"
  if ! { apt-get update -q && apt-get install -y -q "${packages[@]}"; } >>"$LOG_DIR/apt.log" 2>&1; then
    tail -n 20 "$LOG_DIR/apt.log" >&2
    lack "${packages[*]}: apt-get failed (see $LOG_DIR/apt.log)" "apt-get install -y ${packages[*]}"
    return 0
  fi
  did+=("installed ${packages[*]}")
}

# npm ci when node_modules does not hold what package-lock.json pins (a fresh clone, a pulled lock).
# The file times are the fast path; the contents decide when a lock looks newer (one node start for
# both checks: it is most of the time this script takes).
stale_installs() {
  local dir compare=()
  for dir in . test/agents; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ]; then
      echo "$dir"
    elif [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      compare+=("$dir")
    fi
  done
  [ ${#compare[@]} = 0 ] || node scripts/installed-matches-lock.mjs "${compare[@]}"
}

node_packages() {
  local stale
  stale=$(stale_installs)
  if [[ $'\n'"$stale"$'\n' == *$'\n.\n'* ]]; then
    if [ -L node_modules ]; then
      # A worktree sharing another checkout's install: npm ci here would rewrite that one.
      lack "node_modules (a link to $(readlink node_modules)) does not match package-lock.json" "npm ci in the checkout it links to"
    else
      say "installing node_modules (npm ci)"
      npm ci --no-audit --no-fund --loglevel=error
      did+=("installed node_modules")
    fi
  fi
  # The coding-agent CLIs the acceptance tests drive (~400 MB).
  if [[ $'\n'"$stale"$'\n' == *$'\ntest/agents\n'* ]]; then
    say "installing the test agents into test/agents (npm install)"
    npm install --prefix test/agents --no-audit --no-fund --loglevel=error
    did+=("installed test/agents")
  fi
}

# Starts (root) or names (others) the daemons that do not answer; they start in parallel and are
# waited for in check_services.
start_services() {
  if have pg_isready && have pg_lsclusters && ! pg_up; then
    local cluster
    cluster=$(pg_cluster)
    if [ -z "$cluster" ]; then
      lack "no Postgres cluster on port 5432 (pg_lsclusters)" "sudo pg_createcluster --port 5432 --start <version> main"
    elif [ "$root" = 1 ]; then
      say "starting Postgres $cluster on 127.0.0.1:5432 (log under /var/log/postgresql)"
      read -r -a cluster_argv <<<"$cluster"
      pg_ctlcluster "${cluster_argv[@]}" start
      did+=("started Postgres")
      started_pg=1
    else
      lack "Postgres does not answer on 127.0.0.1:5432" "sudo pg_ctlcluster $cluster start"
    fi
  fi
  if have redis-cli && have redis-server && ! redis_up; then
    if [ "$root" = 1 ]; then
      say "starting Redis on 127.0.0.1:6379 ($REDIS_START)"
      sh -c "$REDIS_START"
      did+=("started Redis")
      started_redis=1
    else
      lack "Redis does not answer on 127.0.0.1:6379" "sudo sh -c \"$REDIS_START\""
    fi
  fi
  if have docker && ! docker_up; then
    if docker_denied; then
      lack "docker engine: user $(id -un) may not use /var/run/docker.sock" "sudo usermod -aG docker $(id -un) (then log in again)"
    elif ! have dockerd; then
      : # named by install_tools
    elif [ "$root" = 1 ]; then
      say "starting the docker engine ($DOCKERD_START)"
      sh -c "$DOCKERD_START"
      did+=("started dockerd")
      started_docker=1
    else
      lack "the docker engine does not answer" "sudo sh -c '$DOCKERD_START'"
    fi
  fi
}

# Waits for what start_services started.
started_pg=0 started_redis=0 started_docker=0
check_services() {
  [ "$started_pg" = 0 ] || wait_for 30 pg_up || lack "Postgres did not come up on 127.0.0.1:5432" "see /var/log/postgresql"
  [ "$started_redis" = 0 ] || wait_for 10 redis_up || lack "Redis did not come up on 127.0.0.1:6379" "see $LOG_DIR/redis.log"
  [ "$started_docker" = 0 ] || wait_for 60 docker_up || lack "the docker engine did not come up within 60 s" "see $LOG_DIR/dockerd.log"
}

# Lets user postgres in over 127.0.0.1 without a password, as the tests connect (Debian's packaged
# cluster asks for one: scram-sha-256).
postgres_trust() {
  have psql || return 0
  pg_trusts && return 0
  pg_up || return 0
  local cluster hba
  cluster=$(pg_cluster)
  hba="/etc/postgresql/${cluster/ //}/pg_hba.conf"
  if [ -z "$cluster" ] || [ ! -f "$hba" ]; then
    lack "Postgres on 127.0.0.1:5432 does not let user postgres in without a password" "allow it in that server's pg_hba.conf: host all postgres 127.0.0.1/32 trust"
  elif [ "$root" = 1 ]; then
    say "letting user postgres in over 127.0.0.1 without a password ($hba)"
    local rest
    rest=$(cat "$hba")
    # Prepended: the first matching line wins. Written in place to keep the file's owner and mode.
    printf '# devteam test suite: user postgres over 127.0.0.1 without a password\nhost all postgres 127.0.0.1/32 trust\n%s\n' "$rest" >"$hba"
    read -r -a cluster_argv <<<"$cluster"
    pg_ctlcluster "${cluster_argv[@]}" reload
    wait_for 10 pg_trusts || lack "Postgres still asks user postgres for a password" "check $hba"
    did+=("trusted postgres@127.0.0.1")
  else
    lack "Postgres on 127.0.0.1:5432 asks user postgres for a password" "sudo sed -i '1i host all postgres 127.0.0.1/32 trust' $hba && sudo pg_ctlcluster $cluster reload"
  fi
}

sandbox_image() {
  have docker || return 0
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  docker_up || return 0
  if [ "$root" = 1 ]; then
    say "building the sandbox image $IMAGE"
    scripts/sandbox-image.sh "$IMAGE" >/dev/null
    did+=("built $IMAGE")
  else
    lack "the sandbox image $IMAGE is not built" "scripts/sandbox-image.sh $IMAGE"
  fi
}

# The local sandbox's tests set cgroup limits, which only root may.
[ "$root" = 1 ] || lack "not root: the local sandbox tests set cgroup limits" "sudo npm test"
install_tools
start_services
node_packages
check_services
postgres_trust
sandbox_image

seconds=$(awk -v a="$started" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$root" = 1 ]; then say "still missing:" >&2; else say "missing (nothing was changed outside this checkout):" >&2; fi
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ ${#did[@]} = 0 ]; then
  say "everything is present (node_modules, test agents, git, strace, unshare, ip, bwrap, chromium, Postgres, Redis, docker engine, $IMAGE) in ${seconds} s"
else
  say "ready in ${seconds} s ($(IFS=,; printf '%s' "${did[*]}" | sed 's/,/, /g'))"
fi
