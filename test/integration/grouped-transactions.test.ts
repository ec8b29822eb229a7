// Many conditional writes per transaction: an entry refused by its own condition is reported and
// the others are written; a refused shared item refuses the whole write, leaving nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { writeGrouped, type GroupedWrite } from '../../shared/store/grouped-transactions';
import { clients } from '../../shared/store/clients';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('grouped');
});
afterAll(async () => table.drop());

const claim = (owner: string, gate: string): GroupedWrite<string> => ({
  itemsOf: (id) => [
    {
      Update: {
        TableName: clients.tableName,
        Key: { PK: `T#${id}`, SK: 'T' },
        UpdateExpression: 'SET #owner = :o',
        ConditionExpression: 'attribute_not_exists(#owner)',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':o': owner },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    { Put: { TableName: clients.tableName, Item: { PK: `M#${owner}`, SK: id } } },
  ],
  shared: () => [
    {
      ConditionCheck: {
        TableName: clients.tableName,
        Key: { PK: 'GATE', SK: gate },
        ConditionExpression: 'attribute_not_exists(closedAt)',
      },
    },
  ],
  sharedRefused: () => new Error('closed'),
});

const ownerOf = async (id: string) =>
  (await clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: { PK: `T#${id}`, SK: 'T' } }))).Item
    ?.owner;
const memberOf = async (owner: string, id: string) =>
  (await clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: { PK: `M#${owner}`, SK: id } }))).Item;

describe('writeGrouped', () => {
  it('writes every entry it can, across several transactions, and names the ones their own condition refused with the item as it was', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `e${i}`);
    // Three are taken already, in different transactions of five.
    for (const id of ['e1', 'e6', 'e7'])
      await clients.dynamo.send(
        new PutCommand({ TableName: clients.tableName, Item: { PK: `T#${id}`, SK: 'T', owner: 'other' } }),
      );
    const refused = await writeGrouped(ids, claim('me', 'g1'), 5);
    expect([...refused.keys()].sort()).toEqual(['e1', 'e6', 'e7']);
    expect(refused.get('e6')?.Item?.owner).toEqual({ S: 'other' });
    for (const id of ids) {
      const mine = !refused.has(id);
      expect(await ownerOf(id)).toBe(mine ? 'me' : 'other');
      expect(Boolean(await memberOf('me', id))).toBe(mine);
    }
  });

  it('throws what the caller names when a shared item refuses, and writes nothing of that transaction', async () => {
    await clients.dynamo.send(
      new PutCommand({ TableName: clients.tableName, Item: { PK: 'GATE', SK: 'g2', closedAt: 'now' } }),
    );
    await expect(writeGrouped(['x1', 'x2'], claim('late', 'g2'), 5)).rejects.toThrow('closed');
    expect(await ownerOf('x1')).toBeUndefined();
    expect(await memberOf('late', 'x2')).toBeUndefined();
  });

  it('sends a keyed item once per key and transaction, and its refusal refuses only the entries of its key', async () => {
    // Entries of two "partitions"; partition b is claimed by someone else.
    await clients.dynamo.send(
      new PutCommand({ TableName: clients.tableName, Item: { PK: 'CLAIM', SK: 'b', selectedBy: 'other' } }),
    );
    const ids = ['a1', 'a2', 'b1', 'b2', 'a3'];
    const keyed: GroupedWrite<string> = {
      ...claim('keyed', 'g3'),
      keyedOf: (id) => ({
        key: id[0]!,
        item: {
          ConditionCheck: {
            TableName: clients.tableName,
            Key: { PK: 'CLAIM', SK: id[0]! },
            ConditionExpression: 'attribute_not_exists(selectedBy)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      }),
    };
    // Five entries of two items each and two keyed items fit one transaction of 12 items: DynamoDB
    // refuses a transaction that names one item twice, so a repeated key would fail every entry.
    const refused = await writeGrouped(ids, keyed, 10);
    expect([...refused.keys()].sort()).toEqual(['b1', 'b2']);
    expect(refused.get('b1')?.Item?.selectedBy).toEqual({ S: 'other' });
    for (const id of ids) expect(await ownerOf(id)).toBe(id.startsWith('a') ? 'keyed' : undefined);
  });
});
