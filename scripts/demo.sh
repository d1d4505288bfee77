#!/usr/bin/env bash
# Runs the whole k3sync job on the demo settings (config/k3sync.toml) without Docker:
# MariaDB/MySQL on 127.0.0.1:3306 (account k3sync/k3sync, created as root over the socket when
# missing) and RabbitMQ on 127.0.0.1:5672 (guest/guest), started or installed when missing, as
# scripts/test.sh does. Then it builds the binaries, migrates the database `k3sync_demo`, starts
# kingdee-mock and two workers, runs one producer pass, waits until the work queue is drained and
# the table stops growing, prints `ctl status` and a few rows, and stops everything it started
# (also on Ctrl-C or a failure).
#
#   scripts/demo.sh [--release] [--rows N] [--mode incremental|full|new] [--fresh] [--timeout S]
#
# Logs of the started processes: target/demo/*.log. A second run works too: incremental mode
# then finds nothing new (the mock's data set is the same), `--mode full` reads everything again,
# `--fresh` starts from an empty database.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- settings (the database, mock address and worker ports match config/k3sync.toml) ---------
CONFIG=config/k3sync.toml
JOB=materials
DB=k3sync_demo
MOCK_LISTEN=127.0.0.1:8090
WORKER_LISTENS=(127.0.0.1:9102 127.0.0.1:9103)
LOG_DIR=target/demo
PROBE=deploy/http-probe
BINARIES=(producer worker ctl kingdee-mock)

profile=debug
rows=20000
mode=
fresh=0
drain_timeout=600

# Processes this script started, stopped in reverse order on exit.
started_pids=()
started_names=()

# --- output ----------------------------------------------------------------------------------
step() { printf '\n== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
fail() {
  printf '\ndemo: FAILED: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --release) profile=release ;;
      --rows) rows=${2:?--rows needs a number}; shift ;;
      --mode) mode=${2:?--mode needs incremental, full or new}; shift ;;
      --fresh) fresh=1 ;;
      --timeout) drain_timeout=${2:?--timeout needs seconds}; shift ;;
      -h | --help) usage 0 ;;
      *) echo "demo: unknown argument $1" >&2; usage 2 >&2 ;;
    esac
    shift
  done
  [[ $rows =~ ^[0-9]+$ ]] || fail "--rows must be a number, got '$rows'"
  [[ $drain_timeout =~ ^[0-9]+$ ]] || fail "--timeout must be seconds, got '$drain_timeout'"
  case $mode in '' | incremental | full | new) ;; *) fail "--mode must be incremental, full or new" ;; esac
}

# --- waiting ---------------------------------------------------------------------------------
# wait_for WHAT SECONDS PID COMMAND...: polls COMMAND every second until it succeeds. Returns 1
# (saying why) after SECONDS, or as soon as process PID (when not empty) has exited.
wait_for() {
  local what=$1 timeout=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      printf '   %s: the process exited\n' "$what" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf '   %s: not within %s s\n' "$what" "$timeout" >&2
      return 1
    fi
    sleep 1
  done
}

# --- services: shared with .ci/run ---------------------------------------------------------
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

ensure_clients() {
  command -v jq >/dev/null 2>&1 || apt_install jq
  sql_client >/dev/null
}

# The demo database through k3sync's account, as the binaries reach it.
sql() { k3sync_sql "$@"; }

# --- the k3sync processes --------------------------------------------------------------------
bin() { printf '%s/%s/%s' "${CARGO_TARGET_DIR:-target}" "$profile" "$1"; }

build() {
  step "Building ${BINARIES[*]} ($profile)"
  local args=(build)
  [ "$profile" = release ] && args+=(--release)
  for b in "${BINARIES[@]}"; do args+=(-p "$b"); done
  cargo "${args[@]}"
}

ctl() { "$(bin ctl)" --config "$CONFIG" "$@"; }

# start NAME [VAR=VALUE…] -- COMMAND…: runs COMMAND in the background, logging to LOG_DIR/NAME.log;
# its pid is left in last_pid.
last_pid=
start() {
  local name=$1
  shift
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env "${vars[@]}" "$@" >"$LOG_DIR/$name.log" 2>&1 &
  last_pid=$!
  started_pids+=("$last_pid")
  started_names+=("$name")
  info "started $name (pid $last_pid, log $LOG_DIR/$name.log)"
}

show_log() {
  [ -f "$LOG_DIR/$1.log" ] || return 0
  printf '   --- last lines of %s/%s.log\n' "$LOG_DIR" "$1" >&2
  tail -n 15 "$LOG_DIR/$1.log" | sed 's/^/   | /' >&2
}

# fail_with_log NAME MESSAGE: shows the end of NAME's log, then fails.
fail_with_log() {
  show_log "$1"
  fail "$2"
}

# Stops what this script started: SIGTERM, up to 30 s for a clean exit, then SIGKILL.
# A process that was still meant to run but ends with an error makes the demo fail.
stop_started() {
  local rc=$1 i pid name status
  [ ${#started_pids[@]} -gt 0 ] || return "$rc"
  step "Stopping what the demo started"
  for pid in "${started_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 30))
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
    pid=${started_pids[i]}
    name=${started_names[i]}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      info "$name did not stop within 30 s: killed"
      rc=1
    fi
    status=0
    wait "$pid" 2>/dev/null || status=$?
    if [ "$status" = 0 ]; then
      info "$name stopped"
    else
      info "$name exited with status $status"
      show_log "$name"
      rc=1
    fi
  done
  started_pids=()
  return "$rc"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_started "$rc" || rc=$?
  if [ "$rc" = 0 ]; then printf '\ndemo: OK\n'; else printf '\ndemo: exit status %s\n' "$rc" >&2; fi
  exit "$rc"
}

check_ports_free() {
  local addr
  for addr in "$MOCK_LISTEN" "${WORKER_LISTENS[@]}"; do
    if port_open "${addr##*:}"; then
      fail "port ${addr##*:} is in use (a kingdee-mock or worker from an earlier run?); stop it first"
    fi
  done
}

prepare_database() {
  step "Database $DB"
  if [ "$fresh" = 1 ]; then
    sql -e "DROP DATABASE IF EXISTS \`$DB\`"
    info "dropped (--fresh)"
  fi
  sql -e "CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  ctl migrate | sed 's/^/   /'
}

start_mock() {
  step "Starting kingdee-mock with $rows rows on $MOCK_LISTEN"
  start kingdee-mock -- "$(bin kingdee-mock)" --listen "$MOCK_LISTEN" --rows "$rows"
  wait_for "kingdee-mock on $MOCK_LISTEN" 180 "$last_pid" bash "$PROBE" "$MOCK_LISTEN/_mock/health" ||
    fail_with_log kingdee-mock "kingdee-mock did not come up"
}

start_workers() {
  step "Starting ${#WORKER_LISTENS[@]} workers"
  local i name listen pids=()
  for i in "${!WORKER_LISTENS[@]}"; do
    start "worker-$((i + 1))" K3SYNC__WORKER__LISTEN="${WORKER_LISTENS[i]}" -- \
      "$(bin worker)" --config "$CONFIG" --job "$JOB"
    pids+=("$last_pid")
  done
  # Ready = connected to RabbitMQ (queues declared) and MySQL answers.
  for i in "${!WORKER_LISTENS[@]}"; do
    name=worker-$((i + 1))
    listen=${WORKER_LISTENS[i]}
    wait_for "$name /readyz on $listen" 60 "${pids[i]}" bash "$PROBE" "$listen/readyz" ||
      fail_with_log "$name" "$name did not become ready"
    info "$name ready (metrics on http://$listen/metrics)"
  done
}

run_producer() {
  local args=(sync --job "$JOB" --once) label="the job's default mode"
  if [ -n "$mode" ]; then
    args+=(--mode "$mode")
    label=$mode
  fi
  step "Producer: one pass ($label)"
  local started=$SECONDS
  "$(bin producer)" --config "$CONFIG" "${args[@]}" >"$LOG_DIR/producer.log" 2>&1 ||
    fail_with_log producer "the producer pass failed"
  info "pass finished in $((SECONDS - started)) s (log $LOG_DIR/producer.log)"
}

workers_alive() {
  local i
  for i in "${!started_names[@]}"; do
    kill -0 "${started_pids[i]}" 2>/dev/null ||
      fail_with_log "${started_names[i]}" "${started_names[i]} exited while the queue was draining"
  done
}

# Messages delivered to a worker and not acked yet, when the local broker can be asked
# (rabbitmqctl as root); prints nothing otherwise. `ctl status` cannot tell: it needs no
# management plugin, and AMQP reports only ready messages.
unacked() {
  rabbitmqctl -q list_queues name messages_unacknowledged 2>/dev/null |
    awk -v q="$1" '$1 == q { print $2 }' || true
}

# Drained: the work queue has nothing ready (nor unacked, where that can be known) and the
# table's row count has not moved for three polls in a row.
wait_until_drained() {
  step "Waiting until the workers have drained the queue (at most $drain_timeout s)"
  local deadline=$((SECONDS + drain_timeout)) status queue ready pending rows last_rows=-1 stable=0 line
  while :; do
    workers_alive
    status=$(ctl status --json --job "$JOB") || fail "ctl status failed"
    queue=$(jq -r '.jobs[0].work.name' <<<"$status")
    ready=$(jq -r '.jobs[0].work.ready // "unknown"' <<<"$status")
    rows=$(jq -r '.jobs[0].target.rows // "unknown"' <<<"$status")
    pending=$(unacked "$queue")
    line="$queue: $ready ready${pending:+, $pending unacked} · $(jq -r '.jobs[0].target.table' <<<"$status"): $rows rows"
    if [ "$ready" = 0 ] && [ "${pending:-0}" = 0 ] && [ "$rows" = "$last_rows" ]; then
      stable=$((stable + 1))
    else
      stable=0
      info "$line"
    fi
    if [ "$stable" -ge 3 ]; then
      info "drained: $line"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      jq -r '.broker_error // empty, .database_error // empty' <<<"$status" | sed 's/^/   /'
      fail "the queue was not drained within $drain_timeout s ($line)"
    fi
    last_rows=$rows
    sleep 2
  done
}

report() {
  step "ctl status"
  ctl status --job "$JOB"
  step "A few rows of the target table"
  local table
  table=$(ctl status --json --job "$JOB" | jq -r '.jobs[0].target.table')
  sql "$DB" -t -e "SELECT data_id, code, name, specification_model, material_group, base_unit,
                          document_status, modify_date
                     FROM \`$table\` ORDER BY modify_date DESC, data_id DESC LIMIT 5"
}

check_result() {
  local status rows last dead
  status=$(ctl status --json --job "$JOB")
  rows=$(jq -r '.jobs[0].target.rows // 0' <<<"$status")
  last=$(jq -r '.jobs[0].runs[0] | "\(.mode) pass \(.status): \(.records) records in \(.pages) pages"' <<<"$status")
  dead=$(jq -r '[.jobs[0].unresolved_dead_letters // {} | .[]] | add // 0' <<<"$status")
  step "Result"
  info "last run: $last"
  info "rows in the target table: $rows"
  info "unresolved dead letters: $dead (ctl --config $CONFIG dlq list)"
  [ "$(jq -r '.jobs[0].runs[0].status' <<<"$status")" = succeeded ] || fail "the last run did not succeed"
  [ "$rows" -gt 0 ] || fail "the target table is empty"
}

main() {
  parse_args "$@"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$LOG_DIR"

  step "Services"
  ensure_mariadb
  ensure_rabbitmq
  ensure_clients
  ensure_c_compiler
  build
  check_ports_free
  prepare_database
  start_mock
  start_workers
  run_producer
  wait_until_drained
  report
  check_result
}

main "$@"
