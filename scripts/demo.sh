#!/usr/bin/env bash
# The README's demo: installs Debian's prometheus and prometheus-alertmanager if missing, builds,
# and runs the narrated scenario on loopback. Exits by itself and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npx tsc -p tsconfig.json
exec node dist/demo/main.js
