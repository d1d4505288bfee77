# shellcheck shell=bash
# Makes sure the services k3sync needs on this machine are up: MariaDB/MySQL on 127.0.0.1:3306 and
# RabbitMQ on 127.0.0.1:5672. Started when stopped, installed with apt-get when missing.
# Sourced by .ci/run and scripts/demo.sh.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS COMMAND...: polls COMMAND every second; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

services_apt_updated=0
apt_install() {
  if [ "$services_apt_updated" = 0 ]; then apt-get update -qq; services_apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

ensure_mariadb() {
  if port_open 3306; then return 0; fi
  printf '== starting MariaDB\n'
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_until 90 port_open 3306 || { echo "MariaDB did not open port 3306 within 90 s" >&2; return 1; }
}

ensure_rabbitmq() {
  if port_open 5672; then return 0; fi
  printf '== starting RabbitMQ\n'
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  rabbitmq-server -detached
  wait_until 90 port_open 5672 || { echo "RabbitMQ did not open port 5672 within 90 s" >&2; return 1; }
  # The port opens before the broker accepts logins.
  wait_until 60 rabbitmq-diagnostics -q ping || { echo "RabbitMQ does not answer a ping" >&2; return 1; }
}
