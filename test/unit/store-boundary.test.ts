import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Every TypeScript file under `dir`, with its path from the repository root and its text. */
const sources = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ path: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') }));

/** The lines of the files that match `pattern`, as `path:line: text`. */
const hits = (files: ReturnType<typeof sources>, pattern: RegExp) =>
  files.flatMap(({ path, text }) =>
    text.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
  );

// dependency-cruiser keeps the DynamoDB packages out of services and handlers (.dependency-cruiser.cjs,
// dynamodb-only-in-store); these read what an import rule cannot see.
describe('the store boundary', () => {
  it('reads cancelled transactions only in intents.ts (by label) and errors.ts (by code set), never by position elsewhere', () => {
    const allowed = new Set(['shared/store/intents.ts', 'shared/store/errors.ts']);
    const files = [...sources('shared'), ...sources('functions')].filter((f) => !allowed.has(f.path));
    expect(hits(files, /CancellationReasons|cancellationCodes/)).toEqual([]);
  });

  it('builds DynamoDB requests only in shared/store: no service or handler names a table, condition, update or transaction', () => {
    const files = [...sources('shared'), ...sources('functions')].filter((f) => !f.path.startsWith('shared/store/'));
    expect(
      hits(
        files,
        /\b(TableName|ConditionExpression|UpdateExpression|KeyConditionExpression|TransactItems?|ReturnValuesOnConditionCheckFailure)\b|clients\.(dynamo|tableName)\b/,
      ),
    ).toEqual([]);
  });
});
