#!/usr/bin/env bash
# npm run bench: every benchmark, each printing its ratio against a baseline
# measured in the same run. Exit 1 when any misses its goal (all still run).
# bench/fleet.ts provisions 1,200 tenant databases on the local server (about
# 9 GB, dropped at the end) and takes several minutes; BENCH_FLEET_THROUGHPUT=0
# leaves out its 1,000-database part.
#
# --smoke: each benchmark once at the smallest sizes (about a minute in all),
# for CI: the figures mean nothing at these sizes and a missed goal is not a
# failure; a benchmark that no longer runs (exit code 2, see
# bench/support/runBenchmark.ts) is.
set -u
cd "$(dirname "$0")/.."
smoke=false
case "${1:-}" in
  --smoke) smoke=true ;;
  "") ;;
  *) echo "usage: bash bench/run.sh [--smoke]" >&2; exit 2 ;;
esac
if $smoke; then
  export BENCH_ROUNDS=1 BENCH_OPS=40 BENCH_CREATES=20 BENCH_EVENTS=1000 BENCH_CHANGES=5 \
    BENCH_TENANTS=2 BENCH_FLEET_COMPARE=4 BENCH_FLEET_THROUGHPUT=0 BENCH_SETUP_CONCURRENCY=2
fi
status=0
for bench in bench/tenantLookup.ts bench/decrypt.ts bench/applyPaths.ts bench/lint.ts bench/cliLatency.ts bench/audit.ts bench/tenantConnections.ts bench/provisioning.ts bench/fleet.ts; do
  node "$bench"
  code=$?
  if $smoke; then
    [ "$code" -le 1 ] || { echo "$bench did not run to the end (exit code $code)" >&2; status=1; }
  else
    [ "$code" -eq 0 ] || status=1
  fi
done
exit $status
