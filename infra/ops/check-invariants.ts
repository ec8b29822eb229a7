// `npm run check-invariants`: scans a table (the local stack's by default, or AWS with TABLE_NAME
// and credentials) and reports every violation of the guarantees (README, Decisions); exits 1 when there is any.
//   local:  npm run check-invariants                       (DYNAMODB_ENDPOINT defaults to the local stack's)
//   AWS:    TABLE_NAME=<table> AWS_REGION=<region> DYNAMODB_ENDPOINT= npm run check-invariants
import { checkTable } from '../../shared/store/invariants';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.TABLE_NAME ??= 'usage-corrections';
if (process.env.DYNAMODB_ENDPOINT === undefined)
  process.env.DYNAMODB_ENDPOINT = `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? 8000}`;
if (process.env.DYNAMODB_ENDPOINT === '') delete process.env.DYNAMODB_ENDPOINT;

console.error(
  `checking table ${process.env.TABLE_NAME} at ${process.env.DYNAMODB_ENDPOINT ?? `AWS (${process.env.AWS_REGION ?? 'default region'})`}`,
);
const violations = await checkTable((what) => console.error(`checked: ${what}`));
for (const v of violations) console.log(`${v.rule}\t${v.subscriptionId ?? v.accountId ?? ''}\t${v.detail}`);
console.log(violations.length === 0 ? 'no violations' : `${violations.length} violation(s)`);
process.exitCode = violations.length === 0 ? 0 : 1;
