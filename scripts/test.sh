#!/usr/bin/env bash
# Every check k3sync has, as CI runs them (.ci/run calls this script, so the two cannot drift):
# fmt, clippy, the docs' links, the compose file, the whole test suite, then the tests that restart
# RabbitMQ and MariaDB and those that run a three-node RabbitMQ cluster (scripts/cluster.sh),
# alone and one at a time.
#
#   scripts/test.sh [--no-restarts]
#
# On a machine without them it first installs, with apt-get (root or sudo): gcc (the linker Rust
# needs), MariaDB (and creates k3sync's MySQL account, see scripts/lib/services.sh), RabbitMQ,
# python3-venv (the test that runs Kingdee's own Python SDK against the mock), Prometheus and
# Alertmanager (the alert rules' checks and e2e tests) and docker-compose
# (to check docker-compose.yml; skipped where the package is unavailable); with cargo:
# cargo-nextest. It starts MariaDB and RabbitMQ when they are stopped. It needs the Rust
# toolchain (rustup) already installed.
#
# --no-restarts leaves out the last two steps, for machines where other work uses the same services.
set -euo pipefail
cd "$(dirname "$0")/.."

restarts=1
case ${1:-} in
  '') ;;
  --no-restarts) restarts=0 ;;
  -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown argument $1" >&2; exit 2 ;;
esac

log() { printf '\n== %s\n' "$*"; }

# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

ensure_rust() {
  command -v cargo >/dev/null 2>&1 && return 0
  echo "test.sh: cargo not found; install Rust with rustup (README: Prerequisites)" >&2
  exit 1
}

ensure_python_venv() {
  # The SDK compatibility test installs Kingdee's official Python SDK into a virtualenv. Debian's
  # python3 has the venv module but not ensurepip, without which a venv cannot be created: ask
  # for ensurepip (python3-venv brings it).
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_install python3-venv
}

ensure_tools() {
  command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose || true
}

# Prometheus and Alertmanager (Debian packages) for the alert rules' checks and the alert e2e
# tests (tests/e2e/alerts.rs runs both as child processes on free ports; no service is started).
ensure_monitoring() {
  { command -v prometheus && command -v promtool; } >/dev/null 2>&1 || apt_install prometheus
  { command -v prometheus-alertmanager && command -v amtool; } >/dev/null 2>&1 ||
    apt_install prometheus-alertmanager
}

check_alerting() {
  log "promtool and amtool: configuration, alert rules and their unit tests"
  promtool check config deploy/prometheus/prometheus.yml
  promtool check rules deploy/prometheus/alerts.yml
  promtool test rules deploy/prometheus/alerts_test.yml
  amtool check-config deploy/alertmanager/alertmanager.yml
}

ensure_rust
ensure_c_compiler
ensure_mariadb
ensure_rabbitmq
ensure_python_venv
ensure_tools
ensure_monitoring

export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

# The walk in common/src/lib.rs and the module docs link to the types they name: a link that no
# longer resolves fails here, so the docs cannot drift from the code.
log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

if command -v docker-compose >/dev/null 2>&1; then
  log "docker-compose config"
  docker-compose -f docker-compose.yml config -q
  docker-compose -f docker-compose.yml --profile cluster config -q
else
  log "docker-compose config: skipped (no docker-compose on this machine)"
fi

check_alerting

# The tests that restart RabbitMQ and MariaDB are #[ignore]d: this run reports them as skipped.
log "tests"
cargo nextest run --workspace --no-fail-fast

if [ "$restarts" = 1 ]; then
  # They disturb every other test on the machine: alone, one at a time, after the main suite.
  # K3SYNC_CHAOS_RESTARTS=1 is their second guard: without it they fail instead of restarting.
  log "tests that restart RabbitMQ and MariaDB"
  K3SYNC_CHAOS_RESTARTS=1 cargo nextest run -p k3sync-tests --no-fail-fast -j 1 \
    --run-ignored only -E 'test(/_restart_/)'
  # Three extra broker nodes on 5681-5683 beside the machine's own; each test starts the cluster
  # with scripts/cluster.sh and stops it (deleting its data) at its end.
  log "tests through a three-node RabbitMQ cluster"
  K3SYNC_CHAOS_RESTARTS=1 cargo nextest run -p k3sync-tests --no-fail-fast -j 1 \
    --run-ignored only -E 'test(/_cluster_/)'
fi
