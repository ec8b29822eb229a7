import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';

type Item = Record<string, unknown>;

/** Every item of one partition key whose sort key starts with `prefix`, read strongly, all pages. */
export async function queryAll(pk: string, prefix: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const res = await clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of one key of a global secondary index, all pages (indexes are eventually consistent). */
export async function queryIndexAll(indexName: 'GSI1' | 'GSI2' | 'GSI3', key: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const res = await clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        IndexName: indexName,
        KeyConditionExpression: `${indexName}PK = :p`,
        ExpressionAttributeValues: { ':p': key },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}
