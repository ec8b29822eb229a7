// Every item of a test table, to prove that a refused call wrote nothing.
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TestTable } from './dynamo';

/** The table's items as sorted JSON lines (wire format, so numbers compare exactly). */
export async function tableSnapshot(table: TestTable): Promise<string[]> {
  const lines: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const res = await table.raw.send(
      new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of res.Items ?? [])
      lines.push(JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1)))));
    start = res.LastEvaluatedKey;
  } while (start);
  return lines.sort();
}
