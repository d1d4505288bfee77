# shellcheck shell=bash
# Makes sure the services k3sync needs on this machine are up: MariaDB/MySQL on 127.0.0.1:3306
# with k3sync's own account, and RabbitMQ on 127.0.0.1:5672 (guest/guest). Started when stopped,
# installed with apt-get when missing (as root, or through sudo), like the C compiler a Rust build
# needs. Sourced by scripts/test.sh and scripts/demo.sh.
#
# The account: a stock Debian MariaDB lets `root` in only over its socket (unix_socket auth), so
# k3sync, its tests and its benchmarks log in as `k3sync` (password `k3sync`, hosts 127.0.0.1
# and localhost) with every right on the databases named `k3sync_*` (each test creates its
# own) and, for the chaos tests, CREATE USER, PROCESS and CONNECTION ADMIN (they create a user
# per test and kill its connections). It is created as root over the socket when it is missing.

K3SYNC_DB_USER=k3sync
K3SYNC_DB_PASSWORD=k3sync

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

# as_root COMMAND…: as root, through sudo for a developer who is not.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

services_apt_updated=0
apt_install() {
  if [ "$services_apt_updated" = 0 ]; then as_root apt-get update -qq; services_apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# A C compiler and the C library headers: the linker Rust needs, and ring (TLS) compiles C.
ensure_c_compiler() {
  command -v cc >/dev/null 2>&1 || apt_install gcc libc6-dev
}

# The MariaDB/MySQL command-line client, installed when missing.
sql_client() {
  command -v mariadb 2>/dev/null || command -v mysql 2>/dev/null || {
    apt_install mariadb-client >&2
    command -v mariadb
  }
}

# k3sync_sql [ARGS…]: the client over TCP as k3sync's account (the password through the
# environment, not the command line).
k3sync_sql() {
  MYSQL_PWD=$K3SYNC_DB_PASSWORD "$(sql_client)" --protocol=tcp -h 127.0.0.1 -P 3306 \
    -u "$K3SYNC_DB_USER" "$@"
}

# root_sql [ARGS…]: the client as root over the local socket (how Debian lets root in).
root_sql() { as_root "$(sql_client)" --protocol=socket -u root "$@"; }

# account_sql [PRIVILEGE]: the account's statements. The privilege that lets the chaos tests
# kill a connection is `CONNECTION ADMIN` in MariaDB (the default), `CONNECTION_ADMIN` in MySQL.
account_sql() {
  local admin=${1:-CONNECTION ADMIN} host
  for host in 127.0.0.1 localhost; do
    cat <<SQL
CREATE USER IF NOT EXISTS '$K3SYNC_DB_USER'@'$host' IDENTIFIED BY '$K3SYNC_DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`k3sync\\_%\`.* TO '$K3SYNC_DB_USER'@'$host' WITH GRANT OPTION;
GRANT CREATE USER, PROCESS, $admin ON *.* TO '$K3SYNC_DB_USER'@'$host';
SQL
  done
}

# Makes sure k3sync's account logs in over TCP: used as it is when it does; created as root over
# the local socket when it does not; otherwise a message that says what to do.
ensure_mysql_account() {
  local error
  if error=$(k3sync_sql -e 'SELECT 1' 2>&1 >/dev/null); then return 0; fi
  if root_sql -e 'SELECT 1' >/dev/null 2>&1; then
    printf '== creating the MySQL account %s (rights on the databases k3sync_*)\n' "$K3SYNC_DB_USER"
    local admin='CONNECTION ADMIN'
    root_sql -N -e 'SELECT VERSION()' | grep -qi mariadb || admin=CONNECTION_ADMIN
    account_sql "$admin" | root_sql || return 1
    if error=$(k3sync_sql -e 'SELECT 1' 2>&1 >/dev/null); then return 0; fi
  fi
  cat >&2 <<EOF
The MariaDB/MySQL server on 127.0.0.1:3306 refuses k3sync's account:
  $error
and root cannot log in over the local socket to create it. As an administrator of that server, run
(on MySQL, CONNECTION_ADMIN for CONNECTION ADMIN):
$(account_sql | sed 's/^/  /')
or point k3sync at an account of your own with those rights:
K3SYNC_TEST_MYSQL_URL for the tests, K3SYNC__MYSQL__URL for the binaries, K3SYNC_BENCH_MYSQL_URL
for the benchmarks (mysql://user:password@host:3306).
EOF
  return 1
}

# Where mariadbd writes its errors: the configured log_error, or ours when none is configured
# (a detached server's stderr goes nowhere).
mariadb_error_log() {
  local configured
  configured=$(/usr/sbin/mariadbd --print-defaults 2>/dev/null | tr ' ' '\n' |
    sed -n 's/^--log[-_]error=//p' | tail -n 1)
  printf '%s' "${configured:-/var/log/mysql/error.log}"
}

start_mariadb() {
  printf '== starting MariaDB\n'
  [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  local log
  log=$(mariadb_error_log)
  as_root mkdir -p /run/mysqld "$(dirname "$log")"
  as_root chown mysql:mysql /run/mysqld "$(dirname "$log")" 2>/dev/null || true
  # --user: Debian's configuration leaves `user` commented out, and mariadbd refuses to run as
  # root without it.
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
    --user=mysql --log-error="$log"
  local started=$SECONDS
  until port_open 3306; do
    # Gone after a few seconds means it refused to start; the log says why.
    if ((SECONDS - started >= 90)) || { ((SECONDS - started > 3)) &&
      ! start-stop-daemon --status --exec /usr/sbin/mariadbd; }; then
      printf 'MariaDB did not come up; the end of its error log %s:\n' "$log" >&2
      as_root tail -n 30 "$log" 2>/dev/null | sed 's/^/  | /' >&2
      return 1
    fi
    sleep 1
  done
}

ensure_mariadb() {
  if ! port_open 3306; then start_mariadb || return 1; fi
  ensure_mysql_account
}

ensure_rabbitmq() {
  if port_open 5672; then return 0; fi
  printf '== starting RabbitMQ\n'
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  as_root rabbitmq-server -detached
  wait_until 90 port_open 5672 || { echo "RabbitMQ did not open port 5672 within 90 s" >&2; return 1; }
  # The port opens before the broker accepts logins.
  wait_until 60 as_root rabbitmq-diagnostics -q ping || { echo "RabbitMQ does not answer a ping" >&2; return 1; }
}
