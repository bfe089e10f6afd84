#!/usr/bin/env bash
# The whole test suite: installs what the integration tests need (Debian's prometheus,
# prometheus-alertmanager and victoria-metrics), type-checks and builds, lints and checks formatting, then runs every tap test.
# Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh || { echo "system dependencies could not be installed"; echo "0 passed, 1 failed"; exit 1; }

echo "== type-check and build (tests run dist/main.js, the demo and its simulated cluster as processes)"
if ! npx tsc -p tsconfig.json || ! npx tsc -p test/tsconfig.json --noEmit || ! npx tsc -p test/fixtures/kube/tsconfig.build.json; then
  echo "type-check failed"
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== lint (ESLint, type-aware) and format (Prettier)"
if ! npm run --silent lint; then
  echo "lint or format check failed (npm run format fixes formatting)"
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== import graph of src/ (no cycles)"
if ! node scripts/check-import-cycles.mjs; then
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== engine boundary (only src/engine and src/runtime reach mutable engine state)"
if ! node scripts/check-engine-boundary.mjs; then
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== tests"
mkdir -p test-output
# tap takes a folder's files by extension, and .ts is not one it knows without its TypeScript plugin (the tests load
# through scripts/ts-loader instead): a folder argument (npm test -- test/engine) becomes its test files here.
args=()
for arg in "$@"; do
  if [ -d "$arg" ]; then
    mapfile -t found < <(find "$arg" -name '*.test.ts' | sort)
    args+=("${found[@]}")
  else
    args+=("$arg")
  fi
done
# tap builds its plugin set into node_modules, and a test process's node arguments come from the set tap was built
# with when the run starts. After a fresh `npm ci` that is tap's default set, whose TypeScript plugin (ts-node) would
# then transpile the loader's output once more and map coverage to that JavaScript instead of the .ts sources.
if ! npx tap build >/dev/null; then
  echo "tap could not build its plugin set"
  echo "0 passed, 1 failed"
  exit 1
fi
npx tap "${args[@]}" 2>&1 | tee test-output/tap.log
status=${PIPESTATUS[0]}

# tap prints "# { total: N, pass: N, fail: N, ... }" last; turn it into the plain summary line.
summary=$(grep -E '^# \{ total: ' test-output/tap.log | tail -n 1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
pass=${pass:-0}
fail=${fail:-0}
# A subset run (npm test -- test/engine) covers only part of the tree; check the core on full runs.
if [ "$#" -eq 0 ] && ! node scripts/check-core-coverage.mjs; then
  fail=$((fail + 1))
  status=1
fi
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  # A non-zero exit without failed asserts: coverage below threshold, a crashed file, or no tests.
  fail=1
fi
# tap reports a failure where it happens, thousands of lines up; list them again next to the summary.
if [ "$fail" -gt 0 ]; then
  node scripts/failed-tests.mjs test-output/tap.log || true
fi
echo "${pass} passed, ${fail} failed"
exit "$status"
