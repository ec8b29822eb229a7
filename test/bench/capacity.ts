// DynamoDB capacity as AWS would bill it, counted by us. DynamoDB Local's ReturnConsumedCapacity
// is wrong for transactions (three 600-byte Puts in one TransactWriteItems report 4 units where
// AWS charges 6), so the benchmark
// meters every call itself, from the item sizes it reads, by the published rules:
// - write: 1 unit per started KB of the larger of the item before and after; 2 per KB in a
//   transaction (a ConditionCheck included, counted at the checked item's size);
// - a global secondary index entry written, deleted or rewritten: 1 unit per started KB of the
//   entry (index keys + projected attributes + table keys + 100 bytes); a changed index key is a
//   delete and a put; a KEYS_ONLY index is untouched unless its keys change;
// - read: 1 unit per started 4 KB (a Query sums its items first), half that when eventually
//   consistent, twice that in a transaction.
// Refused conditional writes are not counted (AWS does charge them; the benchmark has none).
import { BatchGetItemCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { localCredentials } from '../../shared/store/clients';
import { tableDefinition } from '../../shared/store/table';

type Wire = Record<string, AttributeValue>;

/** Bytes of one attribute value as DynamoDB sizes it. */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((s, x) => s + Buffer.byteLength(x, 'utf8'), 0);
  if (v.NS !== undefined) return v.NS.reduce((s, x) => s + numberSize(x), 0);
  if (v.BS !== undefined) return v.BS.reduce((s, x) => s + x.byteLength, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((s, x) => s + 1 + valueSize(x), 0);
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + 1 + Buffer.byteLength(k, 'utf8') + valueSize(x), 0);
  return 0;
}

/** Numbers take one byte per two significant digits, plus one. */
function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Bytes of an item: attribute names plus values. */
export function itemSize(item: Wire): number {
  let size = 0;
  for (const [name, v] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(v);
  return size;
}

const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

const TABLE_KEYS = [tableDefinition.partitionKey, tableDefinition.sortKey];
/** An index that projects every attribute: an update of the item rewrites its entry. */
const projectsAll = (gsi: { projection: string }) => gsi.projection === 'ALL';

/** What the meter remembers of an item: its size and the index entries it has. */
interface Image {
  size: number;
  /** Index name → `pk|sk` of its entry there, for the indexes the item is in. */
  entries: Map<string, { key: string; size: number }>;
}

function imageOf(item: Wire): Image {
  const size = itemSize(item);
  const entries = new Map<string, { key: string; size: number }>();
  for (const gsi of tableDefinition.globalSecondaryIndexes) {
    const pk = item[gsi.partitionKey];
    const sk = item[gsi.sortKey];
    if (!pk || !sk) continue;
    const keyAttrs = [...TABLE_KEYS, gsi.partitionKey, gsi.sortKey];
    const projected = projectsAll(gsi)
      ? size
      : keyAttrs.reduce((s, a) => s + (item[a] ? Buffer.byteLength(a) + valueSize(item[a]!) : 0), 0);
    entries.set(gsi.indexName, { key: `${JSON.stringify(pk)}|${JSON.stringify(sk)}`, size: projected + 100 });
  }
  return { size, entries };
}

/** Index writes for one item going from `before` to `after` (either may be absent). */
function indexUnits(before: Image | undefined, after: Image | undefined, rewritten: boolean): number {
  let units = 0;
  for (const gsi of tableDefinition.globalSecondaryIndexes) {
    const b = before?.entries.get(gsi.indexName);
    const a = after?.entries.get(gsi.indexName);
    if (b && a && b.key === a.key) {
      // Same entry: rewritten only when it carries the attributes that changed.
      if (rewritten && projectsAll(gsi)) units += writeUnits(a.size);
    } else {
      if (b) units += writeUnits(b.size);
      if (a) units += writeUnits(a.size);
    }
  }
  return units;
}

export interface Capacity {
  write: number;
  read: number;
  /** Of `write`: index entries. */
  indexWrite: number;
  /** Of `write`: by kind of item (`EVT/EVT`, `BATCH/MEM`, `SUB/REG`…, the keys' prefixes), index entries under `index`. */
  writeByKind: Record<string, number>;
  /** Of `read`: by call and kind of item read (`BatchGetItem EVT/EVT`, `Query GSI1 EVT/EVT`…). */
  readByKind: Record<string, number>;
  calls: number;
  /** DynamoDB Local's own ReturnConsumedCapacity figures, for comparison. */
  reported: { write: number; read: number };
}

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

interface Written {
  key: Wire;
  op: 'put' | 'update' | 'delete' | 'check';
  transactional: boolean;
}

/** An item's kind from its keys: the prefixes of PK and SK, `BATCH/MEM` for a batch member. */
const kindOf = (key: Wire) => `${key.PK?.S?.split('#')[0]}/${key.SK?.S?.split('#')[0]}`;
const keyOf = (item: Wire): Wire => Object.fromEntries(TABLE_KEYS.map((k) => [k, item[k]!]));
const keyString = (key: Wire) => `${key.PK?.S}\u0000${key.SK?.S}`;

/** The items a write call touched, from its (marshalled) input. */
function writtenBy(command: string, input: Record<string, any>): Written[] {
  switch (command) {
    case 'PutItemCommand':
      return [{ key: keyOf(input.Item), op: 'put', transactional: false }];
    case 'UpdateItemCommand':
      return [{ key: input.Key, op: 'update', transactional: false }];
    case 'DeleteItemCommand':
      return [{ key: input.Key, op: 'delete', transactional: false }];
    case 'BatchWriteItemCommand':
      return Object.values(input.RequestItems as Record<string, any[]>)
        .flat()
        .map((r) =>
          r.PutRequest
            ? { key: keyOf(r.PutRequest.Item), op: 'put' as const, transactional: false }
            : { key: r.DeleteRequest.Key, op: 'delete' as const, transactional: false },
        );
    case 'TransactWriteItemsCommand':
      return (input.TransactItems as any[]).map((t) =>
        t.Put
          ? { key: keyOf(t.Put.Item), op: 'put' as const, transactional: true }
          : t.Update
            ? { key: t.Update.Key, op: 'update' as const, transactional: true }
            : t.Delete
              ? { key: t.Delete.Key, op: 'delete' as const, transactional: true }
              : { key: t.ConditionCheck.Key, op: 'check' as const, transactional: true },
      );
    default:
      return [];
  }
}

/** An item as the document client hands it back, as DynamoDB stores it. */
const toWire = (item: Record<string, unknown>): Wire =>
  marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false });
const readSize = (item: Record<string, unknown>) => itemSize(toWire(item));

/** Read units of the items a read call returned (the output is already unmarshalled here). */
function readBy(command: string, input: Record<string, any>, output: Record<string, any>): number {
  const factor = (consistent: boolean | undefined) => (consistent ? 1 : 0.5);
  switch (command) {
    case 'GetItemCommand':
      return readUnits(output.Item ? readSize(output.Item) : 0) * factor(input.ConsistentRead);
    case 'QueryCommand':
    case 'ScanCommand': {
      const bytes =
        (output.Items as Array<Record<string, unknown>> | undefined)?.reduce((s, i) => s + readSize(i), 0) ?? 0;
      return readUnits(bytes) * factor(input.ConsistentRead && !input.IndexName);
    }
    case 'BatchGetItemCommand':
      return Object.entries(output.Responses as Record<string, Array<Record<string, unknown>>>).reduce(
        (s, [table, items]) =>
          s + items.reduce((t, i) => t + readUnits(readSize(i)) * factor(input.RequestItems[table]?.ConsistentRead), 0),
        0,
      );
    case 'TransactGetItemsCommand':
      return (output.Responses as Array<{ Item?: Record<string, unknown> }>).reduce(
        (s, r) => s + 2 * readUnits(r.Item ? readSize(r.Item) : 0),
        0,
      );
    default:
      return 0;
  }
}

/** The call and the kind of the first item a read returned, as readByKind names it. */
function readKind(command: string, input: Record<string, any>, output: Record<string, any>): string {
  const first =
    output.Item ??
    output.Items?.[0] ??
    Object.values((output.Responses ?? {}) as Record<string, unknown[]>).flat()[0] ??
    undefined;
  const item = first as { PK?: unknown; SK?: unknown } | undefined;
  const kind = item ? `${String(item.PK).split('#')[0]}/${String(item.SK).split('#')[0]}` : 'none';
  return `${command.replace(/Command$/, '')}${input.IndexName ? ` ${input.IndexName}` : ''} ${kind}`;
}

/**
 * Meters every call of `doc` (and so of every handler in this process): after each write, reads
 * the items written (with a client of its own, not metered) to size them as they now are.
 */
export function meterCapacity(
  doc: DynamoDBDocumentClient,
  local: { endpoint: string; region: string; tableName: string },
): { capacity: Capacity; stop(): void } {
  const { tableName } = local;
  const capacity: Capacity = {
    write: 0,
    read: 0,
    indexWrite: 0,
    writeByKind: {},
    readByKind: {},
    calls: 0,
    reported: { write: 0, read: 0 },
  };
  const raw = new DynamoDBClient({ region: local.region, endpoint: local.endpoint, credentials: localCredentials });
  const images = new Map<string, Image>();
  let active = true;
  // DynamoDB Local's own figures are asked for before the request is built.
  doc.middlewareStack.add(
    (next) => async (args) => {
      if (active) (args.input as Record<string, unknown>).ReturnConsumedCapacity ??= 'TOTAL';
      return next(args);
    },
    { step: 'initialize', name: 'askConsumedCapacity', override: true },
  );
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (!active) return next(args);
      const command = context.commandName ?? '';
      const input = args.input as Record<string, any>;
      // An update may create its item: what was there before (nothing, or an item the meter has not
      // seen) is read first, or the entries the update creates would go uncounted.
      const unseen = WRITE_COMMANDS.has(command)
        ? writtenBy(command, input).filter((w) => w.op === 'update' && !images.has(keyString(w.key)))
        : [];
      const prior =
        unseen.length > 0
          ? {
              read: new Set(unseen.map((w) => keyString(w.key))),
              images: await readImages(
                raw,
                tableName,
                unseen.map((w) => w.key),
              ),
            }
          : undefined;
      const result = await next(args);
      await meter(command, input, result.output as Record<string, any>, prior);
      return result;
    },
    // At build the document client has marshalled the input; the output it has already
    // unmarshalled again by the time it comes back here.
    { step: 'build', name: 'meterCapacity', override: true },
  );
  async function meter(
    command: string,
    input: Record<string, any>,
    output: Record<string, any>,
    prior?: { read: Set<string>; images: Map<string, Image> },
  ): Promise<void> {
    capacity.calls++;
    const reported = [output.ConsumedCapacity ?? []]
      .flat()
      .reduce((s: number, c: { CapacityUnits?: number }) => s + (c.CapacityUnits ?? 0), 0);
    if (!WRITE_COMMANDS.has(command)) {
      capacity.reported.read += reported;
      const units = readBy(command, input, output);
      capacity.read += units;
      const kind = readKind(command, input, output);
      capacity.readByKind[kind] = (capacity.readByKind[kind] ?? 0) + units;
      return;
    }
    capacity.reported.write += reported;
    const unprocessed = new Set(
      Object.values((output.UnprocessedItems ?? {}) as Record<string, any[]>)
        .flat()
        .map((r) => keyString(keyOf(toWire(r.PutRequest ? r.PutRequest.Item : r.DeleteRequest.Key)))),
    );
    const written = writtenBy(command, input).filter((w) => !unprocessed.has(keyString(w.key)));
    const after = await readImages(
      raw,
      tableName,
      written.filter((w) => w.op !== 'delete').map((w) => w.key),
    );
    for (const w of written) {
      const k = keyString(w.key);
      const before = images.get(k) ?? prior?.images.get(k);
      const now = w.op === 'delete' ? undefined : after.get(k);
      const table = writeUnits(Math.max(before?.size ?? 0, now?.size ?? 0)) * (w.transactional ? 2 : 1);
      // An item updated whose earlier state the meter could not read is taken to have had the same index entries.
      const known = before !== undefined || prior?.read.has(k) === true;
      const index =
        w.op === 'check'
          ? 0
          : indexUnits(before ?? (w.op === 'update' && !known ? now : undefined), now, w.op !== 'delete');
      capacity.write += table + index;
      capacity.indexWrite += index;
      const kind = kindOf(w.key);
      capacity.writeByKind[kind] = (capacity.writeByKind[kind] ?? 0) + table;
      if (index > 0) capacity.writeByKind.index = (capacity.writeByKind.index ?? 0) + index;
      if (now) images.set(k, now);
      else images.delete(k);
    }
  }
  return { capacity, stop: () => void (active = false) };
}

async function readImages(raw: DynamoDBClient, tableName: string, itemKeys: Wire[]): Promise<Map<string, Image>> {
  const out = new Map<string, Image>();
  const unique = [...new Map(itemKeys.map((k) => [keyString(k), k])).values()];
  for (let i = 0; i < unique.length; i += 100) {
    let request: Record<string, { Keys: Wire[]; ConsistentRead: boolean }> | undefined = {
      [tableName]: { Keys: unique.slice(i, i + 100), ConsistentRead: true },
    };
    while (request && Object.keys(request).length > 0) {
      const res = await raw.send(new BatchGetItemCommand({ RequestItems: request }));
      for (const item of res.Responses?.[tableName] ?? []) out.set(keyString(keyOf(item)), imageOf(item));
      request = res.UnprocessedKeys as typeof request;
    }
  }
  return out;
}
