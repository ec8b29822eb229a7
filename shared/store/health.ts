import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import { keys } from './keys';

/** Proves the table answers a read; returns the round trip in milliseconds. */
export async function pingTable(): Promise<number> {
  const started = performance.now();
  await clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: keys.health }));
  return Math.round(performance.now() - started);
}
