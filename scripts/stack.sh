#!/usr/bin/env bash
# The local relutune stack without Docker: the Temporal dev server (built once
# from the Go module proxy and cached), Postgres and NATS JetStream (started or
# installed when missing), the controller, two workers and the dashboard.
#
#   scripts/stack.sh up      start what is not running (idempotent)
#   scripts/stack.sh down    stop what `up` started, by PID file, nothing else
#   scripts/stack.sh status  show what runs
#   scripts/stack.sh services  only Temporal, Postgres and NATS (what tests need)
#
# Settings (environment):
#   RELUTUNE_STATE_DIR   logs, PID files, Temporal's database (default ~/.local/state/relutune)
#   RELUTUNE_CACHE_DIR   cached Temporal CLI binary (default ~/.cache/relutune)
#   RELUTUNE_WORKERS     workers to start (default 2)
#   RELUTUNE_DATABASE_URL, RELUTUNE_NATS_URL, RELUTUNE_TEMPORAL_ADDRESS, RELUTUNE_TEMPORAL_NAMESPACE
#   RELUTUNE_READER_URL  what `tunectl sql` and the dashboard log in with (checked by `up`)
#   RELUTUNE_DASHBOARD   host:port the dashboard serves on (default 127.0.0.1:8080)
set -euo pipefail

TEMPORAL_VERSION=v1.5.1 # newer versions do not build from the module proxy
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${RELUTUNE_STATE_DIR:-$HOME/.local/state/relutune}
CACHE=${RELUTUNE_CACHE_DIR:-$HOME/.cache/relutune}
BIN=$ROOT/bin
TEMPORAL=$CACHE/bin/temporal-$TEMPORAL_VERSION
WORKERS=${RELUTUNE_WORKERS:-2}
DB_URL=${RELUTUNE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/relutune?sslmode=disable}
NATS_URL=${RELUTUNE_NATS_URL:-nats://127.0.0.1:4222}
TEMPORAL_ADDR=${RELUTUNE_TEMPORAL_ADDRESS:-127.0.0.1:7233}
DASHBOARD_ADDR=${RELUTUNE_DASHBOARD:-127.0.0.1:8080}
mkdir -p "$STATE/log" "$STATE/pid"

say() { printf '%s\n' "$*" >&2; }
die() { say "stack: $*"; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
host_of() { local hp=${1#*://}; hp=${hp#*@}; hp=${hp%%/*}; echo "${hp%%:*}"; }
port_of() { local hp=${1#*://}; hp=${hp#*@}; hp=${hp%%/*}; hp=${hp%%\?*}; [[ $hp == *:* ]] && echo "${hp##*:}" || echo "$2"; }

wait_port() { # HOST PORT WHAT SECONDS
  local i
  for ((i = 0; i < $4 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
  die "$3 did not come up on $1:$2 within $4 s"
}

alive() { [[ -f $STATE/pid/$1.pid ]] && kill -0 "$(cat "$STATE/pid/$1.pid")" 2>/dev/null; }

ensure_temporal_binary() {
  [[ -x $TEMPORAL ]] && return 0
  say "building the Temporal CLI $TEMPORAL_VERSION (first time only; several minutes)..."
  mkdir -p "$CACHE/bin"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION")
  mv "$tmp/temporal" "$TEMPORAL"
  rm -rf "$tmp"
}

start_temporal() {
  local host port; host=${TEMPORAL_ADDR%%:*}; port=${TEMPORAL_ADDR##*:}
  if port_open "$host" "$port"; then return 0; fi
  ensure_temporal_binary
  say "starting Temporal dev server on $TEMPORAL_ADDR (UI on :8233)"
  # The two dynamic-config values cut task dispatch latency from ~40 ms to ~24 ms.
  nohup "$TEMPORAL" server start-dev \
    --ip "$host" --port "$port" --ui-port 8233 \
    --db-filename "$STATE/temporal.db" \
    --log-level warn \
    --search-attribute RelutuneStudy=Keyword \
    --search-attribute RelutuneActivation=Keyword \
    --search-attribute RelutuneBest=Double \
    --search-attribute RelutuneStatus=Keyword \
    --dynamic-config-value history.transferProcessorMaxPollRPS=2000 \
    --dynamic-config-value system.enableActivityEagerExecution=true \
    >"$STATE/log/temporal.log" 2>&1 &
  echo $! >"$STATE/pid/temporal.pid"
  wait_port "$host" "$port" "Temporal" 60
  # The frontend accepts connections before the namespace is ready.
  local i
  for ((i = 0; i < 100; i++)); do
    "$TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDR" default >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "Temporal's default namespace is not ready; see $STATE/log/temporal.log"
}

ensure_postgres() {
  local host port; host=$(host_of "$DB_URL"); port=$(port_of "$DB_URL" 5432)
  if port_open "$host" "$port"; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      say "installing PostgreSQL (apt-get install postgresql)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      die "PostgreSQL is not running on $host:$port and not installed: install it (Debian: sudo apt-get install postgresql) or set RELUTUNE_DATABASE_URL"
    fi
  fi
  say "starting PostgreSQL"
  local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start
  wait_port "$host" "$port" "PostgreSQL" 30
}

ensure_nats() {
  local host port; host=$(host_of "$NATS_URL"); port=$(port_of "$NATS_URL" 4222)
  if port_open "$host" "$port"; then return 0; fi
  if [[ ! -x /usr/sbin/nats-server ]] && ! command -v nats-server >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      say "installing NATS (apt-get install nats-server)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    else
      die "NATS is not running on $host:$port and not installed: install nats-server (Debian: sudo apt-get install nats-server) or set RELUTUNE_NATS_URL"
    fi
  fi
  local exe=/usr/sbin/nats-server; [[ -x $exe ]] || exe=$(command -v nats-server)
  say "starting NATS with JetStream on $host:$port"
  if [[ $(id -u) -eq 0 ]]; then
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec "$exe" -- -a "$host" -p "$port" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  else
    nohup "$exe" -a "$host" -p "$port" -js -sd "$STATE/nats" >"$STATE/log/nats.log" 2>&1 &
    echo $! >"$STATE/pid/nats.pid"
  fi
  wait_port "$host" "$port" "NATS" 30
}

# build compiles the binaries and replaces those in bin/ only when they
# changed, so an unchanged tree leaves running processes alone.
build() {
  local tmp b
  tmp=$(mktemp -d)
  (cd "$ROOT" && go build -o "$tmp/" ./cmd/controller ./cmd/worker ./cmd/tunectl)
  mkdir -p "$BIN"
  for b in controller worker tunectl; do
    cmp -s "$tmp/$b" "$BIN/$b" || mv "$tmp/$b" "$BIN/$b"
  done
  rm -rf "$tmp"
}

# start_proc NAME BINARY ARGS...: start unless running with an unchanged binary.
# STARTED is 1 after start_proc started a process, 0 when it was running.
STARTED=0
start_proc() {
  local name=$1 exe=$2; shift 2
  STARTED=0
  if alive "$name"; then
    if [[ $exe -nt $STATE/pid/$name.pid ]]; then
      say "restarting $name (binary changed)"
      stop_proc "$name"
    else
      return 0
    fi
  fi
  STARTED=1
  say "starting $name"
  nohup "$exe" "$@" >>"$STATE/log/$name.log" 2>&1 &
  echo $! >"$STATE/pid/$name.pid"
}

stop_proc() {
  local name=$1 f=$STATE/pid/$1.pid pid i
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    say "stopped $name"
  fi
  rm -f "$f"
}

services() {
  ensure_postgres
  ensure_nats
  start_temporal
}

up() {
  services
  build
  # Only what a controller started now writes counts: the log is appended
  # to across restarts.
  local logged=0
  [[ -f $STATE/log/controller.log ]] && logged=$(stat -c %s "$STATE/log/controller.log")
  start_proc controller "$BIN/controller" --log-level info
  ((STARTED)) || logged=0
  # The controller creates the database and applies migrations: wait for it,
  # so that tunectl can be used as soon as `up` returns.
  local i
  for ((i = 0; i < 300; i++)); do
    tail -c +$((logged + 1)) "$STATE/log/controller.log" 2>/dev/null | grep -q "controller running" && break
    alive controller || die "the controller exited; see $STATE/log/controller.log"
    sleep 0.1
  done
  check_reader
  for ((w = 1; w <= WORKERS; w++)); do
    start_proc "worker-$w" "$BIN/worker" --name "$(hostname)-worker-$w" --log-level info
  done
  start_proc dashboard "$BIN/tunectl" dashboard --listen "$DASHBOARD_ADDR"
  local d
  for ((d = 0; d < 100; d++)); do port_open "${DASHBOARD_ADDR%:*}" "${DASHBOARD_ADDR##*:}" && break; sleep 0.1; done
  port_open "${DASHBOARD_ADDR%:*}" "${DASHBOARD_ADDR##*:}" ||
    say "note: the dashboard is not answering on $DASHBOARD_ADDR; see $STATE/log/dashboard.log"
  say "relutune is up: Temporal UI http://127.0.0.1:8233, dashboard http://$DASHBOARD_ADDR/, logs in $STATE/log"
}

# check_reader: `tunectl sql` logs in as relutune_reader, which the
# controller's migrations create without a password. With trust or peer
# authentication (a local development server) that is all it needs; where the
# server asks for a password, say how to give the role one.
check_reader() {
  local err db=${DB_URL##*/}
  err=$("$BIN/tunectl" sql --timeout 10s --output csv "SELECT 1" 2>&1 >/dev/null) && return 0
  say "note: tunectl sql cannot log in as relutune_reader: ${err#tunectl: error: }"
  say "  as the database owner: ALTER ROLE relutune_reader PASSWORD '<password>';"
  say "  then: export RELUTUNE_READER_URL='postgres://relutune_reader:<password>@$(host_of "$DB_URL"):$(port_of "$DB_URL" 5432)/${db%%\?*}?sslmode=disable'"
}

down() {
  local f
  for f in "$STATE"/pid/worker-*.pid; do [[ -e $f ]] && stop_proc "$(basename "$f" .pid)"; done
  stop_proc dashboard
  stop_proc controller
  stop_proc temporal
  stop_proc nats
}

status() {
  local f name
  for f in "$STATE"/pid/*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    if alive "$name"; then echo "$name running (pid $(cat "$f"))"; else echo "$name not running (stale pid file)"; fi
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  services) services ;;
  build) build ;;
  temporal-binary) ensure_temporal_binary; echo "$TEMPORAL" ;;
  *) die "usage: $0 up|down|status|services|build|temporal-binary" ;;
esac
