#!/usr/bin/env bash
# A local three-node RabbitMQ cluster beside the machine's own broker, for the cluster tests and
# for trying k3sync past one node. The machine's broker (rabbit@localhost on 5672) is untouched:
# each node has its own name, AMQP port, distribution port, config file and data folder.
#
#   scripts/cluster.sh start            # start (and join) the three nodes; idempotent
#   scripts/cluster.sh stop             # stop all three and delete their data
#   scripts/cluster.sh status           # the cluster's view of itself
#   scripts/cluster.sh stop-node N      # stop node N (1-3) cleanly
#   scripts/cluster.sh start-node N     # start node N again (it rejoins with its data)
#   scripts/cluster.sh kill-node N      # SIGKILL node N's Erlang VM
#   scripts/cluster.sh urls             # the AMQP urls, comma-separated (K3SYNC__AMQP__URL)
#   scripts/cluster.sh ctl N ARGS…      # rabbitmqctl ARGS… against node N (list_queues name leader members)
#
# Nodes: k3sync-c<N>@localhost, AMQP 127.0.0.1:568<N>, distribution 2568<N>, data under
# $K3SYNC_CLUSTER_DIR (default /var/tmp/k3sync-cluster), owned by the `rabbitmq` user whose
# Erlang cookie they share with the machine's broker. Runs as root (or through sudo).
set -euo pipefail

dir=$(realpath -m "${K3SYNC_CLUSTER_DIR:-/var/tmp/k3sync-cluster}")
bin=/usr/lib/rabbitmq/bin
nodes=(1 2 3)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

name() { echo "k3sync-c$1@localhost"; }
amqp_port() { echo "568$1"; }

# as_rabbitmq N COMMAND…: COMMAND as the `rabbitmq` user, in the environment that makes node N
# its own broker. It runs in `/`: Erlang looks for its modules in the working folder first, and
# where the `rabbitmq` user may not read it (a checkout under /root) every node and rabbitmqctl
# print an error report per module, rabbitmqctl's on stdout among its answers.
as_rabbitmq() {
  local n=$1 home="$dir/n$1"
  shift
  cd /
  as_root runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq \
    RABBITMQ_NODENAME="$(name "$n")" \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT="2568$n" \
    RABBITMQ_CONFIG_FILE="$home/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$home/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$home/mnesia" \
    RABBITMQ_MNESIA_DIR="$home/mnesia/$(name "$n")" \
    RABBITMQ_LOG_BASE="$home/log" \
    RABBITMQ_PID_FILE="$home/pid" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$@"
}

ctl() { local n=$1; shift; as_rabbitmq "$n" "$bin/rabbitmqctl" -n "$(name "$n")" "$@"; }

running() { ctl "$1" -q ping >/dev/null 2>&1; }

prepare() {
  local n=$1 home="$dir/n$1"
  as_root mkdir -p "$home/mnesia" "$home/log"
  as_root tee "$home/rabbitmq.conf" >/dev/null <<EOF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
loopback_users.guest = true
# A node that loses its peers pauses instead of diverging (three nodes: the majority goes on).
cluster_partition_handling = pause_minority
EOF
  echo '[].' | as_root tee "$home/enabled_plugins" >/dev/null
  as_root chown -R rabbitmq:rabbitmq "$dir"
}

start_node() {
  local n=$1
  running "$n" && return 0
  prepare "$n"
  as_rabbitmq "$n" "$bin/rabbitmq-server" -detached
  ctl "$n" -q wait --timeout 60 "$dir/n$n/pid" >/dev/null
}

joined() { ctl "$1" -q cluster_status 2>/dev/null | grep -q "$(name 1)"; }

start() {
  start_node 1
  for n in 2 3; do
    start_node "$n"
    if ! joined "$n"; then
      ctl "$n" -q stop_app
      ctl "$n" -q join_cluster "$(name 1)"
      ctl "$n" -q start_app
    fi
  done
  ctl 1 -q await_online_nodes 3 --timeout 60 >/dev/null 2>&1 || true
  echo "cluster up: $(urls)"
}

stop_node() { running "$1" && ctl "$1" -q stop "$dir/n$1/pid" || true; }

kill_node() {
  local pid
  pid=$(as_root cat "$dir/n$1/pid" 2>/dev/null) || return 0
  as_root kill -9 "$pid" 2>/dev/null || true
}

stop() {
  for n in "${nodes[@]}"; do stop_node "$n"; done
  # A node that would not stop cleanly (one paused in a minority, say) is killed.
  for n in "${nodes[@]}"; do kill_node "$n"; done
  as_root rm -rf "$dir"
  echo "cluster stopped"
}

status() {
  for n in "${nodes[@]}"; do
    if running "$n"; then
      echo "== $(name "$n") (amqp $(amqp_port "$n")): running"
    else
      echo "== $(name "$n") (amqp $(amqp_port "$n")): down"
    fi
  done
  for n in "${nodes[@]}"; do
    if running "$n"; then ctl "$n" cluster_status; return 0; fi
  done
}

urls() {
  local out=() n
  for n in "${nodes[@]}"; do out+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/%2f"); done
  (IFS=,; echo "${out[*]}")
}

node_arg() {
  case ${1:-} in 1 | 2 | 3) ;; *) echo "cluster.sh: node must be 1, 2 or 3" >&2; exit 2 ;; esac
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  urls) urls ;;
  stop-node) node_arg "${2:-}"; stop_node "$2" ;;
  start-node) node_arg "${2:-}"; start_node "$2" ;;
  kill-node) node_arg "${2:-}"; kill_node "$2" ;;
  ctl) node_arg "${2:-}"; n=$2; shift 2; ctl "$n" "$@" ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: cluster.sh start|stop|status|urls|stop-node N|start-node N|kill-node N|ctl N ARGS…" >&2; exit 2 ;;
esac
