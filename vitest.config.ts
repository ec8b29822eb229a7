import { defineConfig } from 'vitest/config';

// The AWS SDK warns on Node 20 (our machines); Lambdas run Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const shared = { setupFiles: ['test/support/setup-env.ts'], testTimeout: 60_000, hookTimeout: 60_000 };
/** One DynamoDB Local (a real server) for every project that needs it. */
const withDynamoDb = { ...shared, globalSetup: ['test/support/global-setup.ts'] };

export default defineConfig({
  test: {
    // No globalSetup here: the root's would run for every project, `npm run test:unit` included.
    projects: [
      // Pure tests: no server, no runner, no Java. `npm run test:unit`.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], ...shared } },
      // Against DynamoDB Local, the real ASL in the local runner, and the synthesized CDK stack.
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/infra/**/*.test.ts'],
          ...withDynamoDb,
        },
      },
      // The real ASL in the local runner: `npm test` runs these on Node 22 (infra/ops/test-on-node22.sh).
      { test: { name: 'workflow', include: ['test/workflow/**/*.test.ts'], ...withDynamoDb } },
      // Slow: the benchmarks at smoke sizes, the local stack end to end, `npm start` as a process.
      { test: { name: 'slow', include: ['test/smoke/**/*.test.ts', 'test/e2e/**/*.test.ts'], ...withDynamoDb } },
    ],
    // Reported, not gated: `npm test` prints it (CI's output included).
    coverage: {
      provider: 'v8',
      include: ['shared/**/*.ts', 'functions/**/*.ts', 'infra/**/*.ts'],
      reporter: ['text-summary', ['text', { skipFull: true, maxCols: 160 }]],
      reportsDirectory: '.local/coverage',
    },
  },
});
