import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';

type Item = Record<string, unknown>;

/** Every item of a paged read: `page` is asked again from each LastEvaluatedKey until there is none. */
export async function readAll(page: (exclusiveStart: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const res = await page(start);
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of one partition key whose sort key starts with `prefix`, read strongly, all pages. */
export function queryAll(pk: string, prefix: string): Promise<Item[]> {
  return readAll((start) =>
    clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    ),
  );
}

/** Every item of one key of a global secondary index, all pages (indexes are eventually consistent). */
export function queryIndexAll(indexName: 'GSI1' | 'GSI2' | 'GSI3', key: string): Promise<Item[]> {
  return readAll((start) =>
    clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        IndexName: indexName,
        KeyConditionExpression: `${indexName}PK = :p`,
        ExpressionAttributeValues: { ':p': key },
        ExclusiveStartKey: start,
      }),
    ),
  );
}
