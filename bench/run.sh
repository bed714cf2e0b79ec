#!/usr/bin/env bash
# npm run bench: every benchmark, each printing its ratio against a baseline
# measured in the same run. Exit 1 when any misses its goal (all still run).
# bench/fleet.ts provisions 1,200 tenant databases on the local server (about
# 9 GB, dropped at the end) and takes several minutes; BENCH_FLEET_THROUGHPUT=0
# leaves out its 1,000-database part.
set -u
cd "$(dirname "$0")/.."
status=0
for bench in bench/tenantLookup.ts bench/decrypt.ts bench/applyPaths.ts bench/lint.ts bench/cliLatency.ts bench/audit.ts bench/tenantConnections.ts bench/provisioning.ts bench/fleet.ts; do
  node "$bench" || status=1
done
exit $status
