#!/usr/bin/env bash
# Proves the README on a clean machine: builds a minimal Debian 12 root with debootstrap (from the
# Debian mirror this machine's apt uses), gives it this machine's Rust toolchain read-only (and
# nothing else: no cargo-nextest, no crates, no MariaDB, no RabbitMQ), clones the repository's
# current commit into it, and runs the README's two commands there as root, one after the other:
#
#   scripts/demo.sh      then      scripts/test.sh
#
# reporting each one's exit code and time (and the size of target/). The root's MariaDB and
# RabbitMQ need this machine's ports 3306 and 5672, so this machine's own servers are stopped for
# the duration and started again afterwards, also on failure or Ctrl-C.
#
#   sudo scripts/fresh-machine.sh [--root DIR] [--keep-going]
#
# --root DIR     where to build the root (default /var/tmp/k3sync-fresh; emptied first)
# --keep-going   run scripts/test.sh even when scripts/demo.sh failed
#
# Logs: DIR/root/fresh-logs/{debootstrap,demo,test}.log; the root stays for inspection (it is
# emptied at the next run). Needs root, network access to the Debian mirror and crates.io, and
# about 6 GB of disk.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=/var/tmp/k3sync-fresh
SUITE=bookworm
keep_going=0

while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=${2:?--root needs a folder}; shift ;;
    --keep-going) keep_going=1 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'fresh-machine: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run it as root (sudo): it uses debootstrap, chroot and mount"
ROOT=$(realpath -m "$ROOT")
case $ROOT in / | /usr | /var | /var/tmp | /tmp | /root | /home) fail "--root $ROOT is not a folder of its own" ;; esac
LOGS=$ROOT/root/fresh-logs
CLONE=/root/k3sync
SYSROOT=$(rustc --print sysroot) || fail "no Rust toolchain on this machine (rustc --print sysroot)"

# --- the mirror ------------------------------------------------------------------------------
# The first Debian archive (not -security) that serves SUITE, from the deb822 sources
# (/etc/apt/sources.list.d/*.sources) or the one-line format (sources.list and *.list).
debian_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (uris != "" && index(" " suites " ", " " suite " ")) { print uris; found = 1; exit } }
      /^[[:space:]]*$/ { flush(); uris = ""; suites = ""; next }
      /^URIs:/   { uris = $2 }
      /^Suites:/ { $1 = ""; suites = $0 }
      END { if (!found) flush() }
    ' "$file"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++; if ($(i + 1) == suite) print $i }'
}

# --- this machine's servers ------------------------------------------------------------------
host_mariadb_args=()
# How this machine's servers were stopped, so they are started the same way: '' (they were not
# running), systemd, or by hand.
host_mariadb_stopped=
host_rabbitmq_stopped=

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 want=$2 deadline=$((SECONDS + 90))
  while :; do
    if [ "$want" = open ] && port_open "$port"; then return 0; fi
    if [ "$want" = closed ] && ! port_open "$port"; then return 0; fi
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# The arguments the running mariadbd of this machine (not of the root) was started with.
host_mariadbd_pid() {
  local pid
  for pid in $(pidof mariadbd 2>/dev/null); do
    [ "$(readlink "/proc/$pid/root")" = / ] && { echo "$pid"; return 0; }
  done
  return 1
}

uses_systemd() { command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$1" 2>/dev/null; }

stop_host_services() {
  local pid
  if port_open 3306; then
    say "Stopping this machine's MariaDB (started again at the end)"
    if uses_systemd mariadb; then
      host_mariadb_stopped=systemd
      systemctl stop mariadb
    else
      pid=$(host_mariadbd_pid) || fail "port 3306 is open but no mariadbd of this machine runs"
      mapfile -d '' -t host_mariadb_args < <(tail -z -n +2 "/proc/$pid/cmdline")
      host_mariadb_stopped=hand
      mariadb-admin -uroot shutdown
    fi
    wait_port 3306 closed || fail "MariaDB did not close port 3306"
  fi
  if port_open 5672; then
    say "Stopping this machine's RabbitMQ (started again at the end)"
    if uses_systemd rabbitmq-server; then
      host_rabbitmq_stopped=systemd
      systemctl stop rabbitmq-server
    else
      host_rabbitmq_stopped=hand
      rabbitmqctl -q stop
    fi
    wait_port 5672 closed || fail "RabbitMQ did not close port 5672"
  fi
}

start_host_services() {
  local rc=0
  if [ -n "$host_mariadb_stopped" ] && ! port_open 3306; then
    say "Starting this machine's MariaDB again"
    if [ "$host_mariadb_stopped" = systemd ]; then
      systemctl start mariadb || rc=1
    else
      # The same arguments; --user too, which a root-started mariadbd needs when the
      # configuration leaves it out.
      local args=("${host_mariadb_args[@]}")
      printf '%s\n' "${args[@]}" | grep -q '^--user=' || args+=(--user=mysql)
      mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- "${args[@]}" || rc=1
    fi
    wait_port 3306 open || { echo "   MariaDB did not come back on 3306" >&2; rc=1; }
  fi
  if [ -n "$host_rabbitmq_stopped" ] && ! port_open 5672; then
    say "Starting this machine's RabbitMQ again"
    if [ "$host_rabbitmq_stopped" = systemd ]; then
      systemctl start rabbitmq-server || rc=1
    else
      rabbitmq-server -detached || rc=1
    fi
    wait_port 5672 open || { echo "   RabbitMQ did not come back on 5672" >&2; rc=1; }
  fi
  return "$rc"
}

# --- the root --------------------------------------------------------------------------------
mounted=()

mount_root() {
  mount -t proc proc "$ROOT/proc" && mounted+=("$ROOT/proc")
  mount -t sysfs sys "$ROOT/sys" && mounted+=("$ROOT/sys")
  mount --bind /dev "$ROOT/dev" && mounted+=("$ROOT/dev")
  mount --bind /dev/pts "$ROOT/dev/pts" && mounted+=("$ROOT/dev/pts")
  mount -t tmpfs shm "$ROOT/dev/shm" && mounted+=("$ROOT/dev/shm")
  # The toolchain only (rustc, cargo, clippy, rustfmt), read-only at the same path; CARGO_HOME
  # inside is empty, so crates and cargo-nextest are fetched as on a new machine.
  mkdir -p "$ROOT$SYSROOT"
  mount --bind "$SYSROOT" "$ROOT$SYSROOT" && mounted+=("$ROOT$SYSROOT")
  mount -o remount,bind,ro "$ROOT$SYSROOT"
}

# Ends every process whose root is the chroot (the servers, mocks and workers started inside).
stop_root_processes() {
  local pid pids=() round
  for round in TERM KILL; do
    pids=()
    for pid in /proc/[0-9]*; do
      [ "$(readlink "$pid/root" 2>/dev/null)" = "$ROOT" ] && pids+=("${pid#/proc/}")
    done
    [ ${#pids[@]} = 0 ] && return 0
    kill "-$round" "${pids[@]}" 2>/dev/null || true
    [ "$round" = TERM ] && sleep 10
  done
}

unmount_root() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  mounted=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  say "Cleaning up"
  stop_root_processes
  unmount_root
  start_host_services || rc=1
  exit "$rc"
}

empty_root() {
  grep -q " $ROOT/" /proc/mounts && fail "something is still mounted under $ROOT (see /proc/mounts)"
  rm -rf --one-file-system "$ROOT"
}

build_root() {
  local mirror
  # (debian_mirror may find no *.list file, and head closes the pipe early: neither is an error.)
  mirror=$(debian_mirror | head -n 1 || true)
  [ -n "$mirror" ] || fail "no Debian mirror for $SUITE in /etc/apt/sources.list*"
  command -v debootstrap >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  }
  say "debootstrap $SUITE from $mirror into $ROOT"
  mkdir -p "$ROOT"
  # ca-certificates: cargo fetches crates over HTTPS. Nothing else: the scripts must install the rest.
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$ROOT" "$mirror" \
    >"$ROOT.debootstrap.log" 2>&1 || { tail -n 30 "$ROOT.debootstrap.log" >&2; fail "debootstrap failed"; }
  mkdir -p "$LOGS"
  mv "$ROOT.debootstrap.log" "$LOGS/debootstrap.log"
  # As on a machine whose services start by hand: packages must not start servers on install
  # (there is no init system in a chroot), the scripts start them.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # This machine's own certificate authorities (here: the egress proxy's) and pip's setting to
  # use the system's bundle, as any machine on this network has them: without them no HTTPS
  # download (crates.io, PyPI) gets through. Nothing of k3sync's is copied.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" /usr/sbin/update-ca-certificates >/dev/null
  fi
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$ROOT/etc/pip.conf"
  cp /etc/hosts "$ROOT/etc/hosts"
  cp /etc/hostname "$ROOT/etc/hostname" 2>/dev/null || hostname >"$ROOT/etc/hostname"
  say "Cloning $(git -C "$REPO" rev-parse --short HEAD) into $CLONE"
  git clone -q --no-hardlinks "$REPO" "$ROOT$CLONE"
  git -C "$ROOT$CLONE" checkout -q --detach "$(git -C "$REPO" rev-parse HEAD)"
}

# in_root COMMAND: runs COMMAND (a shell line) in the clone inside the root, as root, with
# the toolchain on PATH and an empty CARGO_HOME.
in_root() {
  chroot "$ROOT" /usr/bin/env -i \
    HOME=/root USER=root LANG=C.UTF-8 TERM=dumb \
    CARGO_HOME=/root/.cargo \
    PATH="/root/.cargo/bin:$SYSROOT/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    /bin/bash -c "cd $CLONE && $1"
}

results=()

# run_step NAME COMMAND: runs COMMAND in the root, logs it, records its exit code and time.
run_step() {
  local name=$1 command=$2 started=$SECONDS rc=0
  say "$name: $command (log $LOGS/$name.log)"
  in_root "$command" 2>&1 | tee "$LOGS/$name.log" || rc=${PIPESTATUS[0]}
  local took=$((SECONDS - started))
  results+=("$(printf '%-6s exit %-3s %3d min %02d s   %s' "$name" "$rc" $((took / 60)) $((took % 60)) "$command")")
  return "$rc"
}

main() {
  [ -e "$ROOT" ] && empty_root
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  build_root
  mount_root
  stop_host_services
  local demo_rc=0 test_rc=0
  # The services the demo started stay up for the tests, as on a developer's machine.
  run_step demo "scripts/demo.sh" || demo_rc=$?
  if [ "$demo_rc" = 0 ] || [ "$keep_going" = 1 ]; then
    run_step test "scripts/test.sh" || test_rc=$?
  else
    results+=("test   not run (the demo failed; --keep-going runs it anyway)")
  fi
  say "Results (Debian $SUITE root $ROOT, commit $(git -C "$REPO" rev-parse --short HEAD))"
  printf '   %s\n' "${results[@]}"
  printf '   target/ %s, ~/.cargo %s\n' \
    "$(du -sh "$ROOT$CLONE/target" 2>/dev/null | cut -f1)" \
    "$(du -sh "$ROOT/root/.cargo" 2>/dev/null | cut -f1)"
  [ "$demo_rc" = 0 ] && [ "$test_rc" = 0 ]
}

main
