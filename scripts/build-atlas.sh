#!/usr/bin/env bash
# Builds the pinned community Atlas CLI (tools/atlas, ariga.io/atlas/cmd/atlas
# v0.13.1) into .bin/atlas, for the compatibility test only
# (`npm run test:compat`): nothing else in the project runs it. Rebuilt when
# tools/atlas/go.mod or go.sum change; 6-10 minutes cold on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true
say() { $quiet || echo "build-atlas: $*" >&2; }

pin=$(grep -o 'ariga.io/atlas/cmd/atlas v[0-9.]*' tools/atlas/go.mod | cut -d' ' -f2)
go_sum=$(cat tools/atlas/go.mod tools/atlas/go.sum | sha256sum | cut -d' ' -f1)
if [ ! -x .bin/atlas ] || [ "$(cat .bin/.atlas-stamp 2>/dev/null)" != "$go_sum" ]; then
  command -v go >/dev/null || { echo "build-atlas: Go is needed to build Atlas $pin" >&2; exit 1; }
  say "building atlas $pin from the Go module proxy into .bin/atlas (minutes, once)"
  mkdir -p .bin
  log=$(mktemp)
  if ! (cd tools/atlas && CGO_ENABLED=1 go build -trimpath -o ../../.bin/atlas ariga.io/atlas/cmd/atlas) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  echo "$go_sum" > .bin/.atlas-stamp
fi
