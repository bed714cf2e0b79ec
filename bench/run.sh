#!/usr/bin/env bash
# npm run bench: every benchmark, each printing its ratio against a baseline
# measured in the same run. Exit 1 when any misses its goal (all still run).
set -u
cd "$(dirname "$0")/.."
status=0
for bench in bench/tenantLookup.ts bench/decrypt.ts bench/applyPaths.ts bench/cliLatency.ts bench/audit.ts bench/tenantConnections.ts; do
  node "$bench" || status=1
done
exit $status
