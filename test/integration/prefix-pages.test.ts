// A prefix read returns exactly the items whose sort key starts with the prefix, page by page from
// any start key: not the key just past the prefix, not the keys before it, not the start key
// again, and the same items whether the start key still exists or was deleted between pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from '../../shared/store/clients';
import { queryAll, queryPrefix } from '../../shared/store/query-all';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('prefix');
  // Around the prefix MEM#: keys just before it, the key just past it (MEM$), one inside it that
  // is not ASCII; the same sort keys in two more partitions, one read with a filter, one losing
  // keys as it is read.
  const keysOf = [
    'MEL#9',
    'MEM',
    ...Array.from({ length: 23 }, (_, i) => `MEM#${String(i).padStart(3, '0')}`),
    'MEM#\u00e9t\u00e9',
    'MEM$',
    'MEM$#1',
    'MEN#1',
  ];
  const items = [
    ...keysOf.map((SK, i) => ({ PK: 'P#1', SK, n: i })),
    ...keysOf.map((SK, i) => ({ PK: 'P#2', SK, n: i })),
    ...keysOf.map((SK, i) => ({ PK: 'P#3', SK, n: i })),
  ];
  for (let i = 0; i < items.length; i += 25)
    await clients.dynamo.send(
      new BatchWriteCommand({
        RequestItems: { [clients.tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
});
afterAll(async () => table.drop());

const inside = [...Array.from({ length: 23 }, (_, i) => `MEM#${String(i).padStart(3, '0')}`), 'MEM#\u00e9t\u00e9'];

/** Every page of `limit` from the first, each from the last page's LastEvaluatedKey. */
async function pages(
  pk: string,
  prefix: string,
  limit: number,
  between?: (start: Record<string, unknown>) => Promise<void>,
) {
  const seen: string[][] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await queryPrefix({ pk, prefix, limit, start });
    seen.push((res.Items ?? []).map((it) => it.SK as string));
    start = res.LastEvaluatedKey;
    if (start && between) await between(start);
  } while (start);
  return seen;
}

describe('prefix reads', () => {
  it('reads every key with the prefix and no other, in one read', async () => {
    expect((await queryAll('P#1', 'MEM#')).map((it) => it.SK)).toEqual(inside);
  });

  it('pages through the prefix from each LastEvaluatedKey without repeating or losing a key', async () => {
    for (const limit of [1, 5, 7, 24, 50]) {
      const seen = await pages('P#1', 'MEM#', limit);
      expect(seen.flat()).toEqual(inside);
      expect(seen.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
  });

  it('goes on from the start key after it was deleted, without skipping the next one', async () => {
    const deleted: string[] = [];
    const seen = await pages('P#3', 'MEM#', 4, async (start) => {
      deleted.push(start.SK as string);
      await clients.dynamo.send(new DeleteCommand({ TableName: clients.tableName, Key: start }));
    });
    expect(seen.flat()).toEqual(inside);
    expect(seen.every((p) => p.length <= 4)).toBe(true);
    expect(deleted.length).toBeGreaterThan(3);
  });

  it('applies a filter to the page read', async () => {
    const res = await queryPrefix({
      pk: 'P#2',
      prefix: 'MEM#',
      filter: { expression: 'n > :n', names: {}, values: { ':n': 20 } },
    });
    expect((res.Items ?? []).map((it) => it.SK)).toEqual(inside.slice(-5));
  });

  it('reads a prefix whose last character has no ASCII successor the plain way', async () => {
    expect((await queryAll('P#2', 'MEM#\u00e9')).map((it) => it.SK)).toEqual(['MEM#\u00e9t\u00e9']);
  });
});
