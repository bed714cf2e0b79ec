#!/usr/bin/env bash
# npm run example -- <number> [args]: runs examples/<number>_*.ts under the
# project's Node (npm scripts put node_modules/.bin first on PATH), on
# DATABASE_URL when it is set, else on the quick start's control plane
# (npm run env's settings: its database, started if need be, and key ring).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  echo "error: name an example: npm run example -- 01 (examples: $(cd examples && ls *.ts | cut -d_ -f1 | tr '\n' ' '))" >&2
  exit 2
fi
file=$(ls examples/"$1"_*.ts 2>/dev/null | head -n1 || true)
if [ -z "$file" ]; then
  echo "error: there is no example $1 in examples/ (examples: $(cd examples && ls *.ts | cut -d_ -f1 | tr '\n' ' '))" >&2
  exit 2
fi
shift
if [ -z "${DATABASE_URL:-}" ]; then
  settings=$(node cli/src/quickstart/env.ts) || exit $?
  eval "$settings"
fi
exec node "$file" "$@"
