import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';

type Item = Record<string, unknown>;
type Key = Record<string, string>;

/**
 * Reads of many items, retrying what DynamoDB leaves unprocessed: strongly consistent unless a
 * caller whose answer is only a hint asks for the half-price eventually consistent read.
 */
export async function batchGet(itemKeys: readonly Key[], consistent = true): Promise<Item[]> {
  const out: Item[] = [];
  for (let i = 0; i < itemKeys.length; i += 100) {
    let request: Record<string, { Keys: Key[]; ConsistentRead: boolean }> | undefined = {
      [clients.tableName]: { Keys: itemKeys.slice(i, i + 100) as Key[], ConsistentRead: consistent },
    };
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
      const res = await clients.dynamo.send(new BatchGetCommand({ RequestItems: request }));
      out.push(...(res.Responses?.[clients.tableName] ?? []));
      request = res.UnprocessedKeys as typeof request;
    }
  }
  return out;
}
