#!/usr/bin/env bash
# The README's demo (bad deploy → automatic rollback in a simulated cluster): installs Debian's prometheus and prometheus-alertmanager if missing, builds,
# and runs the narrated scenario on loopback. Exits by itself and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh --without-chromium
npx tsc -p tsconfig.json
# The simulated cluster: the test suite's fake Kubernetes API server, built for the demo into .demo/fake-kube.
npx tsc -p test/fixtures/kube/tsconfig.build.json
exec node dist/demo/main.js
