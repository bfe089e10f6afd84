#!/usr/bin/env bash
# Installs the real Prometheus, promtool, Alertmanager and VictoriaMetrics single-node (Debian
# packages; victoria-metrics also brings vmalert) that the integration tests, the benchmarks and the
# demo run on loopback ports, and Chromium for the status page's browser test (--without-chromium
# leaves it out). --with-vmalert is accepted for older scripts: vmalert is always installed now.
# Idempotent, needs no systemd, and leaves no package-started daemon running.
set -euo pipefail

usage() {
  echo "usage: $0 [--without-chromium]"
  echo "  installs Debian packages prometheus prometheus-alertmanager victoria-metrics [chromium] when missing"
}

WITH_CHROMIUM=1
for arg in "$@"; do
  case "$arg" in
    --with-vmalert) ;; # the default now (the tests query VictoriaMetrics too)
    --without-chromium) WITH_CHROMIUM=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: not root and sudo is not available" >&2; exit 1
  fi
fi

# have NAME: the binary is on PATH, in /usr/bin or in /usr/sbin.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ] || [ -x "/usr/sbin/$1" ]; }

# missing_packages: prints the Debian packages whose binaries are missing.
missing_packages() {
  { have prometheus && have promtool; } || echo prometheus
  { have prometheus-alertmanager || have alertmanager; } || echo prometheus-alertmanager
  # Debian's chromium (large: only when missing); the browser test drives it with playwright-core, which never downloads one.
  if [ "$WITH_CHROMIUM" = 1 ]; then have chromium || echo chromium; fi
  { have victoria-metrics && have vmalert; } || echo victoria-metrics
}

print_versions() {
  local b path pkg ver
  for b in prometheus promtool prometheus-alertmanager chromium victoria-metrics vmalert; do
    if have "$b"; then
      path="$(command -v "$b" 2>/dev/null || ls /usr/bin/"$b" /usr/sbin/"$b" 2>/dev/null | head -n1)"
      pkg="$(dpkg-query -S "$path" 2>/dev/null | cut -d: -f1 | head -n1 || true)"
      ver=""
      if [ -n "$pkg" ]; then ver="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"; fi
      echo "$b: $path (${pkg:-unknown package} ${ver:-?})"
    fi
  done
}

# apt_busy: another apt/dpkg run is in progress (e.g. a background install).
apt_busy() { pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; }

wait_for_other_apt() {
  local deadline=$((SECONDS + 1200))
  if apt_busy; then
    echo "another apt/dpkg run is in progress (see /tmp/apt-install.log); waiting for it..."
  fi
  while apt_busy; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: apt/dpkg still busy after 20 minutes" >&2; exit 1
    fi
    sleep 3
  done
}

# package_binaries: absolute paths of the daemons the packages may start.
DAEMON_BINS=(/usr/bin/prometheus /usr/bin/prometheus-alertmanager /usr/bin/prometheus-node-exporter
  /usr/bin/victoria-metrics /usr/bin/vmalert /usr/bin/vmagent /usr/bin/vmauth)

# daemon_pids: pids of running processes whose executable is one of DAEMON_BINS.
daemon_pids() {
  local p exe b
  for p in /proc/[0-9]*; do
    exe="$(readlink "$p/exe" 2>/dev/null || true)"
    [ -n "$exe" ] || continue
    for b in "${DAEMON_BINS[@]}"; do
      if [ "$exe" = "$b" ]; then echo "${p#/proc/}"; fi
    done
  done
}

POLICY=/usr/sbin/policy-rc.d
POLICY_CREATED=0
cleanup_policy() {
  if [ "$POLICY_CREATED" = 1 ]; then $SUDO rm -f "$POLICY"; fi
}

MISSING="$(missing_packages | tr '\n' ' ')"
if [ -z "${MISSING// /}" ]; then
  echo "system deps already installed"
  print_versions
  exit 0
fi

wait_for_other_apt
# A background install may just have brought them.
MISSING="$(missing_packages | tr '\n' ' ')"
if [ -z "${MISSING// /}" ]; then
  echo "system deps installed (by a concurrent apt run)"
  print_versions
  exit 0
fi
echo "installing Debian packages: $MISSING"

BEFORE_PIDS=" $(daemon_pids | tr '\n' ' ') "

# Keep maintainer scripts from starting services (no systemd needed): policy-rc.d exit 101.
if [ ! -e "$POLICY" ]; then
  trap cleanup_policy EXIT
  $SUDO sh -c "printf '#!/bin/sh\nexit 101\n' > $POLICY && chmod 755 $POLICY"
  POLICY_CREATED=1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)

# needs_update: some package has no install candidate in the current lists.
needs_update() {
  local pkg cand
  for pkg in $MISSING; do
    cand="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then return 0; fi
  done
  return 1
}

UPDATED=0
if needs_update; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update
  UPDATED=1
fi
# shellcheck disable=SC2086
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" $MISSING; then
  if [ "$UPDATED" = 1 ]; then exit 1; fi
  echo "install failed; retrying after apt-get update"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" $MISSING
fi

# Stop whatever the packages started anyway (systemd present, or an existing permissive policy).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
      echo "stopping package-started service $svc"
      $SUDO systemctl stop "$svc" || true
    fi
  done
fi
NEW_PIDS=()
for pid in $(daemon_pids); do
  case "$BEFORE_PIDS" in *" $pid "*) ;; *) NEW_PIDS+=("$pid") ;; esac
done
if [ "${#NEW_PIDS[@]}" -gt 0 ]; then
  echo "stopping package-started daemons: ${NEW_PIDS[*]}"
  $SUDO kill -TERM "${NEW_PIDS[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${NEW_PIDS[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${NEW_PIDS[@]}"; do
    if [ -d "/proc/$pid" ]; then $SUDO kill -KILL "$pid" 2>/dev/null || true; fi
  done
fi

MISSING="$(missing_packages | tr '\n' ' ')"
if [ -n "${MISSING// /}" ]; then
  echo "error: binaries still missing after install (packages: $MISSING)" >&2
  exit 1
fi
print_versions
