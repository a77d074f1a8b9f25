#!/usr/bin/env bash
# Installs what is missing, builds, and runs dreamauth on its embedded default
# (a private PostgreSQL under DATA_DIR, /var/lib/dreamauth as root, ./data otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
echo "dreamauth built: ./build-release/dreamauth"
exec ./build-release/dreamauth serve
