// `npm start`: the whole system on this machine until Ctrl-C (docs/local-stack.md).
import { join, relative, resolve } from 'node:path';
import { assertJavaPresent, localDir, projectRoot } from './dynamodb-local';
import { buildDashboard } from './dashboard';
import { startLocalStack } from './stack';

// Lambdas run Node 22; on a Node 20 machine the SDK's support warning is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function exit(message: string): never {
  console.error(message);
  process.exit(1);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    exit(`${name} must be a port number (0 for any free port), not "${raw}"`);
  return value;
}

try {
  assertJavaPresent();
} catch (error) {
  exit((error as Error).message);
}

function positive(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) exit(`${name} must be a whole number of at least 1, not "${raw}"`);
  return value;
}

const inMemory = process.env.LOCAL_IN_MEMORY === '1';
const dataDir = process.env.LOCAL_DATA_DIR ? resolve(process.env.LOCAL_DATA_DIR) : join(localDir, 'data');
const ports = {
  api: port('API_PORT', 3000),
  s3: port('S3_PORT', 4569),
  dynamodb: port('DYNAMODB_PORT', 8000),
  sfn: port('SFN_PORT', 8083),
  lambda: port('LAMBDA_PORT', 3001),
  dashboard: port('DASHBOARD_PORT', 3002),
};
const dashboard = await buildDashboard().catch((error: unknown) =>
  exit(`The dashboard did not build: ${(error as Error).message}`),
);
const stack = await startLocalStack({
  ports,
  dashboard: { directory: dashboard },
  inMemory,
  dataDir,
  importRowsPerInvocation: positive('IMPORT_ROWS_PER_INVOCATION'),
  // APPROVAL=on [APPROVAL_MIN_EVENTS=…] [APPROVAL_MIN_CHARGE_CHANGE=…]: four-eyes approval, off by default.
  ...(process.env.APPROVAL === 'on'
    ? {
        approval: {
          ...(positive('APPROVAL_MIN_EVENTS') ? { minEvents: positive('APPROVAL_MIN_EVENTS') } : {}),
          ...(process.env.APPROVAL_MIN_CHARGE_CHANGE
            ? { minChargeChange: process.env.APPROVAL_MIN_CHARGE_CHANGE }
            : {}),
        },
      }
    : {}),
  progress: (step) => console.log(step),
}).catch((error: unknown) => exit(`The local stack did not start: ${(error as Error).message}`));

console.log(
  [
    `Dashboard URL:           ${stack.dashboardUrl}`,
    `API URL:                 ${stack.apiUrl}`,
    `S3 endpoint:             ${stack.s3Endpoint}`,
    `S3 bucket:               ${stack.bucketName}`,
    `DynamoDB endpoint:       ${stack.dynamoEndpoint}`,
    `DynamoDB table:          ${stack.tableName}`,
    `Step Functions endpoint: ${stack.sfnEndpoint}`,
    `Lambda endpoint:         ${stack.lambdaEndpoint}`,
    `API reference:           ${stack.apiUrl}/v1/openapi.json (readable: docs/api.md)`,
    `Data:                    ${inMemory ? 'in memory (LOCAL_IN_MEMORY=1)' : dataDir.startsWith(projectRoot) ? relative(projectRoot, dataDir) : dataDir}`,
    'Ctrl-C stops.',
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  // A second Ctrl-C means "now": the Java server still exits, since its stdin closes with us.
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: stopping the local stack…`);
  stack.stop().then(
    () => process.exit(0),
    (error: unknown) => exit(`stopping failed: ${(error as Error).message}`),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
