#!/usr/bin/env bash
# `npm run test:node22`: the tests that drive the local ASL runner (aws-local-stepfunctions 3,
# which declares Node 22) and the local stack, on Node 22 as Lambda runs it. The machine's Node
# runs everything else. Node 22 comes from the npm registry's `node` package, once, into .local/.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.local/node22
if [ ! -x "$dir/node_modules/node/bin/node" ]; then
  echo "fetching Node 22 (npm package node@22.23.3) into $dir…"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node@22.23.3 >/dev/null
fi
export PATH="$PWD/$dir/node_modules/node/bin:$PATH"
echo "running the workflow and end-to-end tests on Node $(node --version)"
exec npx vitest run test/workflow test/e2e test/unit/state-machines.test.ts "$@"
