#!/usr/bin/env bash
# Installs everything the project needs from the registries, and nothing by
# hand: npm packages (Node 24 among them, as the `node` package, which npm
# scripts then run under), the schema engine (engine/) and the pinned Atlas
# build in .bin/. Fast when nothing changed, so every npm script that needs
# it can call it.
set -euo pipefail
cd "$(dirname "$0")/.."
export ATLAS_NO_UPDATE_NOTIFIER=1 ATLAS_NO_UPGRADE_SUGGESTIONS=1
quiet=false
npm_only=false # --npm-only: the npm packages alone (what `npm run build` needs), no Go tools
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=true ;;
    --npm-only) npm_only=true ;;
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
$npm_only && exit 0

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

# Atlas: an `atlas` on PATH at or above the pin wins; otherwise build the pin.
pin=$(grep -o 'ariga.io/atlas/cmd/atlas v[0-9.]*' tools/atlas/go.mod | cut -d' ' -f2)
version_ok() { # $1 = a version string such as v0.38.2
  [ "$(printf '%s\n%s\n' "$pin" "$1" | sort -V | head -n1)" = "$pin" ]
}
if system_version=$(atlas version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -n1) && [ -n "$system_version" ] && version_ok "$system_version"; then
  say "using atlas $system_version from PATH"
  exit 0
fi
go_sum=$(cat tools/atlas/go.mod tools/atlas/go.sum | sha256sum | cut -d' ' -f1)
if [ ! -x .bin/atlas ] || [ "$(cat .bin/.atlas-stamp 2>/dev/null)" != "$go_sum" ]; then
  command -v go >/dev/null || { echo "setup: Go is needed to build Atlas $pin (or put an official atlas on PATH)" >&2; exit 1; }
  say "building atlas $pin from the Go module proxy into .bin/ (about a minute, once)"
  mkdir -p .bin
  quiet_build sh -c "cd tools/atlas && CGO_ENABLED=1 go build -trimpath -o ../../.bin/atlas ariga.io/atlas/cmd/atlas"
  echo "$go_sum" > .bin/.atlas-stamp
fi
