#!/usr/bin/env bash
# Installs what dreamauth needs to build, run and test on Debian 12 (as root).
# Idempotent: skips apt when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev llvm
  libevent-dev libssl-dev libpq-dev libmsgpack-dev libjansson-dev libcbor-dev
  libsecp256k1-dev libargon2-dev libhttp-parser-dev libbsd-dev libseccomp-dev libutf8proc-dev
  postgresql postgresql-contrib)
if [ "${1:-}" = "--test" ]; then
  PKGS+=(nginx wrk curl procps iproute2 valgrind strace)
  # Node runs the real-client tests; keep an existing install (it ships npm).
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a system PostgreSQL cluster on install; dreamauth never uses it.
