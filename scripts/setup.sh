#!/usr/bin/env bash
# Installs everything the project needs from the registries, and nothing by
# hand: npm packages (Node 24 among them, as the `node` package, which npm
# scripts then run under), the CLI's bundle (cli/dist/) and the schema engine
# (engine/, built into .bin/); with --tests also actionlint (tools/actionlint,
# which only the workflow test runs).
# Fast when nothing changed, so every npm script that needs it can call it.
# The pinned community Atlas CLI is not built here: only the compatibility
# test needs it (`npm run test:compat` builds it with scripts/build-atlas.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=false
npm_only=false # --npm-only: the npm packages and the CLI's bundle (no Go: what `npm run build` and the quick start's stop/env need)
tests=false    # --tests: also what only the test suite runs (npm test and .ci/run pass it)
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=true ;;
    --npm-only) npm_only=true ;;
    --tests) tests=true ;;
  esac
done
say() { $quiet || echo "setup: $*" >&2; }

# npm packages, reinstalled when package-lock.json changes.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm packages (Node 24 included)"
  # `npm install`, not `npm ci`: the lock records only this platform's binaries
  # of squawk-cli (the registry here serves no others), which `npm ci` refuses.
  if $quiet; then
    npm install --no-audit --no-fund --loglevel=error >/dev/null
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
  echo "$lock_sum" > node_modules/.setup-stamp
fi

# Runs a build quietly: its output (go's download lines) is shown only when it fails.
quiet_build() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  $quiet || cat "$log" >&2
  rm -f "$log"
}

# The CLI's bundle (cli/dist/, esbuild, about a second), which the npm scripts
# run because it starts several times faster than the TypeScript sources:
# rebuilt when anything it is built from changes (the library and CLI
# sources, the build script, cli/package.json, tsconfig.json, the installed
# packages; names and contents are hashed). `npm pack ./cli` packs the same
# bundle (its prepack runs this with --npm-only), so packing never rebuilds
# it under a running command. Tests and `node cli/src/...` run the sources.
bundle_sum=$({ find src cli/src -type f -print; printf '%s\n' cli/build.ts cli/firstConnectionSleep.ts cli/package.json tsconfig.json package-lock.json; } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
bundle_stale() { [ ! -f cli/dist/main.js ] || [ "$(cat cli/dist/.build-stamp 2>/dev/null)" != "$bundle_sum" ]; }
if bundle_stale; then
  # One build at a time where flock exists (npm scripts run side by side, as
  # in the tests): the others wait for it, then find the bundle fresh.
  exec 9>node_modules/.cli-bundle.lock
  if command -v flock >/dev/null; then flock 9; fi
  if bundle_stale; then
    say "bundling the CLI into cli/dist/"
    quiet_build sh -c 'cd cli && ../node_modules/.bin/node build.ts'
    echo "$bundle_sum" > cli/dist/.build-stamp
  fi
  exec 9>&-
fi
$npm_only && exit 0

# The schema engine (engine/, its own Go module): rebuilt when go.mod, go.sum
# or a non-test .go file changes (names and contents are hashed).
engine_sum=$(cd engine && find . -maxdepth 1 \( -name go.mod -o -name go.sum -o \( -name '*.go' ! -name '*_test.go' \) \) -print | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ ! -x .bin/control-plane-engine ] || [ "$(cat .bin/.engine-stamp 2>/dev/null)" != "$engine_sum" ]; then
  command -v go >/dev/null || { echo "setup: Go is needed to build the schema engine (engine/)" >&2; exit 1; }
  say "building the schema engine into .bin/control-plane-engine (a few minutes the first time)"
  mkdir -p .bin
  quiet_build sh -c 'cd engine && CGO_ENABLED=1 go build -trimpath -o ../.bin/control-plane-engine .'
  echo "$engine_sum" > .bin/.engine-stamp
fi

$tests || exit 0

# actionlint (tools/actionlint pins it), which the workflow test runs: built
# here rather than by the test, since compiling it from the module proxy's
# sources takes about 30 s of CPU on a machine whose Go build cache lacks it.
# Rebuilt when tools/actionlint/go.mod or go.sum changes.
actionlint_sum=$(cat tools/actionlint/go.mod tools/actionlint/go.sum | sha256sum | cut -d' ' -f1)
if [ ! -x .bin/actionlint ] || [ "$(cat .bin/.actionlint-stamp 2>/dev/null)" != "$actionlint_sum" ]; then
  say "building actionlint into .bin/actionlint"
  mkdir -p .bin
  quiet_build sh -c 'cd tools/actionlint && CGO_ENABLED=0 go build -trimpath -o ../../.bin/actionlint github.com/rhysd/actionlint/cmd/actionlint'
  echo "$actionlint_sum" > .bin/.actionlint-stamp
fi
