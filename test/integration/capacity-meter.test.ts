// The benchmark's capacity meter prices each call as AWS bills it (DynamoDB Local's own figures
// are wrong for transactions), so its write and read units per event can be trusted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  DeleteCommand,
  BatchWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { meterCapacity, type Capacity } from '../bench/capacity';
import { clients } from '../../shared/store/clients';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
let meter: { capacity: Capacity; stop(): void };
beforeAll(async () => {
  table = await useTestTable('capacity');
  meter = meterCapacity(clients.dynamo, { endpoint: table.endpoint, region: 'us-east-1', tableName: table.tableName });
});
afterAll(async () => {
  meter.stop();
  await table.drop();
});

const pad = 'x'.repeat(600);

/** Units one call costs: write and read, as metered. */
async function cost(send: () => Promise<unknown>): Promise<{ write: number; read: number }> {
  const before = { ...meter.capacity };
  await send();
  return { write: meter.capacity.write - before.write, read: meter.capacity.read - before.read };
}

describe('capacity meter', () => {
  it('charges one write unit per started KB of the item, and one more per index entry written', async () => {
    const T = table.tableName;
    expect(
      await cost(() => clients.dynamo.send(new PutCommand({ TableName: T, Item: { PK: 'a', SK: '1', pad } }))),
    ).toEqual({ write: 1, read: 0 });
    expect(
      await cost(() =>
        clients.dynamo.send(new PutCommand({ TableName: T, Item: { PK: 'c', SK: '1', pad: 'y'.repeat(3000) } })),
      ),
    ).toEqual({ write: 3, read: 0 });
    // An item with GSI1 keys has an entry there too.
    expect(
      await cost(() =>
        clients.dynamo.send(
          new PutCommand({ TableName: T, Item: { PK: 'b', SK: '1', GSI1PK: 'g', GSI1SK: '1', pad } }),
        ),
      ),
    ).toEqual({ write: 2, read: 0 });
    // Every index carries keys only: an update that leaves the keys alone writes no entry.
    expect(
      await cost(() =>
        clients.dynamo.send(
          new UpdateCommand({
            TableName: T,
            Key: { PK: 'b', SK: '1' },
            UpdateExpression: 'SET z = :z',
            ExpressionAttributeValues: { ':z': 1 },
          }),
        ),
      ),
    ).toEqual({ write: 1, read: 0 });
    // An entry appears when its keys do.
    expect(
      await cost(() =>
        clients.dynamo.send(
          new UpdateCommand({
            TableName: T,
            Key: { PK: 'b', SK: '1' },
            UpdateExpression: 'SET GSI2PK = :p, GSI2SK = :s',
            ExpressionAttributeValues: { ':p': 'p', ':s': 's' },
          }),
        ),
      ),
    ).toEqual({ write: 2, read: 0 });
    expect(
      await cost(() =>
        clients.dynamo.send(
          new UpdateCommand({
            TableName: T,
            Key: { PK: 'b', SK: '1' },
            UpdateExpression: 'SET z = :z',
            ExpressionAttributeValues: { ':z': 2 },
          }),
        ),
      ),
    ).toEqual({ write: 1, read: 0 });
    // Deleting removes the item and both its index entries.
    expect(
      await cost(() => clients.dynamo.send(new DeleteCommand({ TableName: T, Key: { PK: 'b', SK: '1' } }))),
    ).toEqual({ write: 3, read: 0 });
  });

  it('charges the index entries an update creates with its item, in a transaction too', async () => {
    const T = table.tableName;
    const create = (pk: string) => ({
      TableName: T,
      Key: { PK: pk, SK: '1' },
      UpdateExpression: 'SET GSI1PK = :p, GSI1SK = :s, padding = :pad',
      ExpressionAttributeValues: { ':p': 'g', ':s': pk, ':pad': pad },
    });
    expect(await cost(() => clients.dynamo.send(new UpdateCommand(create('created-1'))))).toEqual({
      write: 2,
      read: 0,
    });
    expect(
      await cost(() =>
        clients.dynamo.send(new TransactWriteCommand({ TransactItems: [{ Update: create('created-2') }] })),
      ),
    ).toEqual({ write: 3, read: 0 });
  });

  it('charges twice per item in a transaction, a condition check included, where DynamoDB Local reports otherwise', async () => {
    const T = table.tableName;
    const before = meter.capacity.reported.write;
    expect(
      await cost(() =>
        clients.dynamo.send(
          new TransactWriteCommand({
            TransactItems: [1, 2, 3].map((i) => ({ Put: { TableName: T, Item: { PK: `t${i}`, SK: '1', pad } } })),
          }),
        ),
      ),
    ).toEqual({ write: 6, read: 0 });
    expect(meter.capacity.reported.write - before).not.toBe(6);
    await clients.dynamo.send(
      new PutCommand({ TableName: T, Item: { PK: 'e', SK: '1', GSI1PK: 'g', GSI1SK: '2', pad } }),
    );
    const mixed = await cost(() =>
      clients.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: T, Item: { PK: 'u1', SK: '1', pad } } },
            {
              Update: {
                TableName: T,
                Key: { PK: 'e', SK: '1' },
                UpdateExpression: 'SET z = :z',
                ExpressionAttributeValues: { ':z': 2 },
              },
            },
            {
              ConditionCheck: { TableName: T, Key: { PK: 'a', SK: '1' }, ConditionExpression: 'attribute_exists(PK)' },
            },
          ],
        }),
      ),
    );
    // Put 2, update 2 (its GSI1 keys unchanged: no entry written), check 2.
    expect(mixed).toEqual({ write: 6, read: 0 });
  });

  it('counts only what a batch write processed', async () => {
    const T = table.tableName;
    const items = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { PK: `w${i}`, SK: '1', pad } } }));
    expect(await cost(() => clients.dynamo.send(new BatchWriteCommand({ RequestItems: { [T]: items } })))).toEqual({
      write: 25,
      read: 0,
    });
  });

  it('charges reads per started 4 KB, half when eventually consistent, and sums a query before rounding', async () => {
    const T = table.tableName;
    expect(
      await cost(() =>
        clients.dynamo.send(new GetCommand({ TableName: T, Key: { PK: 'c', SK: '1' }, ConsistentRead: true })),
      ),
    ).toEqual({ write: 0, read: 1 });
    expect(await cost(() => clients.dynamo.send(new GetCommand({ TableName: T, Key: { PK: 'c', SK: '1' } })))).toEqual({
      write: 0,
      read: 0.5,
    });
    for (let i = 0; i < 10; i++)
      await clients.dynamo.send(new PutCommand({ TableName: T, Item: { PK: 'q', SK: `${i}`, pad } }));
    // Ten items of about 620 bytes: 6.2 KB, two read units.
    expect(
      await cost(() =>
        clients.dynamo.send(
          new QueryCommand({
            TableName: T,
            KeyConditionExpression: 'PK = :p',
            ExpressionAttributeValues: { ':p': 'q' },
            ConsistentRead: true,
          }),
        ),
      ),
    ).toEqual({ write: 0, read: 2 });
  });
});
