#!/usr/bin/env bash
# The second half of `npm test` (alone: `npm run test:node22`): the workflow tests, which drive the
# real ASL in the local runner (aws-local-stepfunctions 3 declares Node 22), and the end-to-end
# tests, on Node 22 as Lambda runs them. The workflow tests run here only; the end-to-end ones also
# on the machine's Node, where `npm start` runs. Node 22 comes from the npm registry's `node`
# package, once, into .local/.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.local/node22
if [ ! -x "$dir/node_modules/node/bin/node" ]; then
  echo "fetching Node 22 (npm package node@22.23.3) into $dir…"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node@22.23.3 >/dev/null
fi
export PATH="$PWD/$dir/node_modules/node/bin:$PATH"
echo "running the workflow and end-to-end tests on Node $(node --version)"
exec npx vitest run --coverage --coverage.reportsDirectory=.local/coverage-node22 \
  test/workflow test/e2e test/unit/state-machines.test.ts "$@"
