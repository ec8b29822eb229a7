import { QueryCommand, ScanCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { batchGet } from './batch-get';
import { clients } from './clients';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';

type Item = Record<string, unknown>;

/** Every item of a paged read: `page` is asked again from each LastEvaluatedKey until there is none. */
export async function readAll(
  page: (exclusiveStart: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const res = await page(start);
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A page of a list the API answers: its items, and the opaque cursor of the next page when there is one. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

const pageOf = (items: Item[], last: Item | undefined): Page<Item> =>
  last ? { items, nextCursor: encodeCursor(last) } : { items };

/** A filter applied to the items a Query read (a page may come back short). */
export interface QueryFilter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * The sort keys that start with `prefix` are exactly those in [prefix, upper) but `upper` itself:
 * `upper` is the prefix with its last character raised by one (UTF-8 keeps code point order).
 */
const upperBound = (prefix: string): string | undefined => {
  const last = prefix.charCodeAt(prefix.length - 1);
  // An ASCII last character has an ASCII successor; anything else keeps begins_with.
  return last >= 0x20 && last < 0x7e ? prefix.slice(0, -1) + String.fromCharCode(last + 1) : undefined;
};

/**
 * One Query of the items of one partition key whose sort key starts with `prefix`, from `start`
 * (a LastEvaluatedKey): every prefix read of the store goes through here.
 *
 * The sort key condition is a BETWEEN from the start key itself, not begins_with and an
 * ExclusiveStartKey: DynamoDB reads both the same way, but DynamoDB Local (the local stack, the
 * tests, the benchmarks) walks a long partition from its first item to the prefix and to the
 * start key, so a page near the end of 100,000 members cost ten times one near the start.
 */
export async function queryPrefix(q: {
  pk: string;
  prefix: string;
  limit?: number;
  start?: Item | undefined;
  /** Strong reads unless an eventually consistent page will do. */
  consistent?: boolean;
  filter?: QueryFilter | undefined;
}): Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }> {
  const names = q.filter && Object.keys(q.filter.names).length > 0 ? q.filter.names : undefined;
  const upper = upperBound(q.prefix);
  const from = typeof q.start?.SK === 'string' && q.start.PK === q.pk ? q.start.SK : undefined;
  const bounded = upper !== undefined && (from === undefined || from.startsWith(q.prefix));
  const res = await clients.dynamo.send(
    new QueryCommand({
      TableName: clients.tableName,
      KeyConditionExpression: bounded
        ? 'PK = :pk AND SK BETWEEN :from AND :upper'
        : 'PK = :pk AND begins_with(SK, :prefix)',
      ...(q.filter ? { FilterExpression: q.filter.expression } : {}),
      // DynamoDB refuses an empty map of names.
      ...(names ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: {
        ':pk': q.pk,
        ...(bounded ? { ':from': from ?? q.prefix, ':upper': upper } : { ':prefix': q.prefix }),
        ...q.filter?.values,
      },
      // The start key comes back first (BETWEEN includes it): one more is read to make up for it.
      ...(q.limit === undefined ? {} : { Limit: bounded && from !== undefined ? q.limit + 1 : q.limit }),
      ...(bounded ? {} : { ExclusiveStartKey: q.start }),
      ...(q.consistent === false ? {} : { ConsistentRead: true }),
    }),
  );
  if (!bounded) return res;
  // Everything came back at or after the start key in DynamoDB's (UTF-8) order: only the start
  // key itself is dropped, by equality (JavaScript compares UTF-16 units, another order).
  const items = (res.Items ?? []).filter((it) => {
    const sk = it.SK as string;
    return sk.startsWith(q.prefix) && sk !== from;
  });
  // The start key was gone (deleted since): one item more than the limit came back.
  if (q.limit !== undefined && items.length > q.limit) {
    const kept = items.slice(0, q.limit);
    const last = kept[kept.length - 1]!;
    return { Items: kept, LastEvaluatedKey: { PK: last.PK, SK: last.SK } };
  }
  return res.LastEvaluatedKey ? { Items: items, LastEvaluatedKey: res.LastEvaluatedKey } : { Items: items };
}

/**
 * One page of the items of one partition key whose sort key starts with `prefix`, from a cursor
 * an earlier page gave. `filter` is applied to the page read (a page may come back short).
 */
export async function queryPrefixPage(q: {
  pk: string;
  prefix: string;
  limit: number;
  cursor: string | undefined;
  /** Strong reads unless an eventually consistent page will do. */
  consistent?: boolean;
  filter?: QueryFilter;
}): Promise<Page<Item>> {
  const res = await queryPrefix({ ...q, start: decodeCursor(q.cursor, isStringRecord) });
  return pageOf(res.Items ?? [], res.LastEvaluatedKey);
}

/** One page of the items listed under one key of the keys-only GSI1, read from the table (see queryIndexItems). */
export async function indexPage(key: string, limit: number, cursor: string | undefined): Promise<Page<Item>> {
  const res = await queryIndexItems({
    TableName: clients.tableName,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :p',
    ExpressionAttributeValues: { ':p': key },
    Limit: limit,
    ExclusiveStartKey: decodeCursor(cursor, isStringRecord),
  });
  return pageOf(res.Items, res.LastEvaluatedKey);
}

/** Every item of one partition key whose sort key starts with `prefix`, read strongly, all pages. */
export function queryAll(pk: string, prefix: string): Promise<Item[]> {
  return readAll((start) => queryPrefix({ pk, prefix, start }));
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

/**
 * One page of a Query on a keys-only index, with the items themselves: the index gives their
 * keys in its order, a BatchGet reads them from the table (strongly). An item deleted since, or
 * no longer under the index key it was listed by, is left out (the index will list it where it
 * now is). A FilterExpression would see keys only: filter the items returned instead.
 */
export async function queryIndexItems(
  input: QueryCommandInput & { IndexName: 'GSI1' },
  /** False: the items are read eventually consistent too (half the read units), for a hint. */
  consistent = true,
): Promise<{ Items: Item[]; LastEvaluatedKey?: Item }> {
  const res = await clients.dynamo.send(new QueryCommand(input));
  const entries = res.Items ?? [];
  const pk = `${input.IndexName}PK`;
  const sk = `${input.IndexName}SK`;
  const read = new Map(
    (
      await batchGet(
        entries.map((e) => ({ PK: e.PK as string, SK: e.SK as string })),
        consistent,
      )
    ).map((item) => [`${item.PK}\u0000${item.SK}`, item]),
  );
  const items: Item[] = [];
  for (const e of entries) {
    const item = read.get(`${e.PK}\u0000${e.SK}`);
    if (item && item[pk] === e[pk] && item[sk] === e[sk]) items.push(item);
  }
  return res.LastEvaluatedKey ? { Items: items, LastEvaluatedKey: res.LastEvaluatedKey } : { Items: items };
}

/** A full scan for one item type: for operations and checks, never on a request path. */
export function scanItems(itemType: string, extraFilter?: string): Promise<Record<string, unknown>[]> {
  return readAll((start) =>
    clients.dynamo.send(
      new ScanCommand({
        TableName: clients.tableName,
        FilterExpression: `itemType = :t${extraFilter ? ` AND ${extraFilter}` : ''}`,
        ExpressionAttributeValues: { ':t': itemType },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    ),
  );
}
