// Over 350 lines: the change-set item's write (plan) and its application (submit) share one item
// schema and chunk layout.
// A batch's change set per subscription: what lock planned (register and grant deltas, bill
// lines before/after, credit/rebill documents, event ratings) and the versions of everything the
// plan read. Submit applies it without planning again: the totals in one transaction
// conditional on those versions (so the order of the event chunks never matters, and a plan
// whose inputs moved writes nothing), then the event chunks, each applied once.
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BillLineChange, CreditRebillDocument } from '../domain/change-set';
import { formatMoney } from '../domain/decimal';
import { domainEvent } from '../domain/domain-events';
import { DomainError } from '../domain/errors';
import type { EventStatus, NewUsageEvent, StoredRating } from '../domain/usage-event';
import { ledgerEntryPut } from './balances';
import { batchInStage, batchStageCheck, stageOver, writeInStage, type BatchStage } from './batches';
import { batchGet } from './batch-get';
import { billAdjustmentPut } from './bill-lines';
import { clients } from './clients';
import { fromWire, isConditionFailure, retryTransient } from './errors';
import { mapLimit } from './concurrency';
import { MAX_TRANSACTION_ITEMS, type TransactItem } from './grouped-transactions';
import { intent, refusals, transact, type Intent } from './intents';
import { keys } from './keys';
import { outboxPut } from './outbox';
import { queryAll } from './query-all';
import { readItem } from './item-reader';
import { newEventItem, storedRating } from './usage-events';

type Item = Record<string, unknown>;

export type ChangeSetState = 'READY' | 'APPLIED' | 'STALE';

export interface RegisterChange {
  register: string;
  /** The register's version read before the plan's grants and events. */
  version: number;
  /** granted − consumed before the batch (scaled quantity). */
  before: bigint;
  consumedDelta: bigint;
  changedEvents: number;
}

export interface GrantChange {
  register: string;
  grantId: string;
  version: number;
  /** Change of `drawn`. */
  delta: bigint;
}

export interface PlannedEventChange {
  eventId: string;
  fromRev: number;
  status: EventStatus;
  rating: StoredRating;
  /** The rating the change replaces (none: the event was not rated, or is new); an undo restores it. */
  before?: StoredRating;
  /** REVERSE_REPLACE: a replacement without a parent, as lock planned it, inserted rated by its chunk. */
  insert?: ReplacementInsert;
  /** REVERSE_REPLACE: the replacements of a reversed original, named on it by the write that reverses it. */
  replacedBy?: string[];
  /**
   * A member of the batch's selection (or related to it) with no hold: the write that changes it
   * names the batch in its `touchedBy`, as a hold does for the others.
   */
  touch?: true;
}

/** What a chunk needs to insert a replacement besides the chunk's own subscription and register. */
export type ReplacementInsert = Pick<NewUsageEvent, 'productId' | 'quantity' | 'occurredAt' | 'attributes'> & {
  replaces: string;
  /** Listed through its original (indexedViaFor): inserted without index entries. */
  indexedVia?: string;
};

export interface ChangeSet {
  subscriptionId: string;
  accountId: string;
  currency: string;
  state: ChangeSetState;
  /** The subscription's plan version (prices, minimum) the plan was made with. */
  planVersion: number;
  /** The ledger close read at lock (null: never closed). */
  closedThrough: string | null;
  /** The bill unit new lines go to, read at lock. */
  billUnitId: string | null;
  /** Dates the ledger entries and credit/rebill documents (the batch's effectiveAt, else submit's time). */
  effectiveAt?: string;
  registers: RegisterChange[];
  grants: GrantChange[];
  lines: BillLineChange[];
  documents: CreditRebillDocument[];
  chargeDelta: bigint;
  /** Event chunk items per register. */
  chunks: Array<{ register: string; count: number }>;
  /** The plan whose chunks submit applies (none: a change set locked before chunks were keyed by plan). */
  planId?: string;
  /**
   * Its chunks insert its replacements without a parent already rated and name each original's
   * replacements in the write that reverses it; a change set locked before that leaves both to
   * submit's InsertReplacements step.
   */
  replacementsInChunks?: boolean;
  staleReason?: string;
}

/** Events per chunk item and per chunk transaction (with the chunk item, the totals check and the stage check). */
export const EVENTS_PER_CHUNK = 90;

const toChangeSet = (i: Item): ChangeSet => {
  const n = (v: unknown) => Number(v ?? 0n);
  return {
    subscriptionId: i.subscriptionId as string,
    accountId: i.accountId as string,
    currency: i.currency as string,
    state: i.state as ChangeSetState,
    planVersion: n(i.planVersion),
    closedThrough: (i.closedThrough as string | null | undefined) ?? null,
    billUnitId: (i.billUnitId as string | null | undefined) ?? null,
    ...(i.effectiveAt ? { effectiveAt: i.effectiveAt as string } : {}),
    registers: (i.registers as Item[]).map((r) => ({
      register: r.register as string,
      version: n(r.version),
      before: r.before as bigint,
      consumedDelta: r.consumedDelta as bigint,
      changedEvents: n(r.changedEvents),
    })),
    grants: (i.grants as Item[]).map((g) => ({
      register: g.register as string,
      grantId: g.grantId as string,
      version: n(g.version),
      delta: g.delta as bigint,
    })),
    lines: (i.lines as Item[]).map((l) => ({
      period: l.period as string,
      status: l.status as BillLineChange['status'],
      created: l.created as boolean,
      version: n(l.version),
      before: l.before as BillLineChange['before'],
      after: l.after as BillLineChange['after'],
      usageDelta: l.usageDelta as bigint,
      eventCountDelta: n(l.eventCountDelta),
      adjustmentsDelta: l.adjustmentsDelta as bigint,
      ...(l.periodMinimum !== undefined ? { periodMinimum: l.periodMinimum as bigint } : {}),
      reinvoiceRequired: l.reinvoiceRequired as boolean,
      ...(l.frozenBecause ? { frozenBecause: l.frozenBecause as BillLineChange['frozenBecause'] } : {}),
      ...(l.postedTo ? { postedTo: l.postedTo as string } : {}),
      ...(l.correctedTotal !== undefined ? { correctedTotal: l.correctedTotal as bigint } : {}),
      ...(l.correctedUsage !== undefined ? { correctedUsage: l.correctedUsage as bigint } : {}),
    })),
    documents: (i.documents as Item[]).map((d) => ({
      kind: d.kind as CreditRebillDocument['kind'],
      amount: d.amount as bigint,
      originalPeriod: d.originalPeriod as string,
      period: d.period as string,
      usageBefore: d.usageBefore as bigint,
      usageAfter: d.usageAfter as bigint,
    })),
    chargeDelta: i.chargeDelta as bigint,
    chunks: (i.chunks as Item[]).map((c) => ({ register: c.register as string, count: n(c.count) })),
    ...(typeof i.planId === 'string' ? { planId: i.planId } : {}),
    ...(i.replacementsInChunks === true ? { replacementsInChunks: true } : {}),
    ...(i.staleReason ? { staleReason: i.staleReason as string } : {}),
  };
};

/**
 * Items of the totals transaction besides the change set's own: refused at lock (PLAN_TOO_LARGE)
 * rather than half-applied at submit.
 */
export function totalsItemCount(
  cs: Pick<ChangeSet, 'registers' | 'grants' | 'lines' | 'documents'>,
  reinvoice: boolean,
): number {
  // change set item, subscription check, ledger-close check, bill-unit guard, stage check
  return (
    5 +
    cs.registers.length * 2 +
    cs.grants.filter((g) => g.delta !== 0n).length +
    cs.lines.length +
    cs.documents.length +
    (reinvoice ? 1 : 0)
  );
}

export const fitsOneTransaction = (cs: Pick<ChangeSet, 'registers' | 'grants' | 'lines' | 'documents'>): boolean =>
  totalsItemCount(
    cs,
    cs.lines.some((l) => l.reinvoiceRequired),
  ) <= MAX_TRANSACTION_ITEMS;

/**
 * A change as its chunk stores it: a reversal keeps the event's rating as it was, so its `before`
 * is its `rating` and is stored once (`beforeIsRating`), about a third of a reversal's bytes.
 */
function storedChange(c: PlannedEventChange): Item {
  if (c.status !== 'REVERSED' || !c.before || !sameRating(c.before, c.rating)) return { ...c };
  const { before: _, ...rest } = c;
  return { ...rest, beforeIsRating: true };
}

const sameRating = (a: StoredRating, b: StoredRating) =>
  a === b ||
  JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
    JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

/** Chunk puts in flight at once while a change set is saved. */
const CHUNK_PUT_CONCURRENCY = 8;

/**
 * The plan's id: a digest of every event change it makes. The same plan saved again (a retry)
 * names the same chunk items; another plan (a lock attempt that read other versions) other ones.
 */
export function planIdOf(changes: Map<string, PlannedEventChange[]>): string {
  const text = JSON.stringify(
    [...changes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    (_k, v) => (typeof v === 'bigint' ? `${v}n` : v),
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Stores a subscription's change set and its event chunks (lock; a retry rewrites the same), and
 * returns the plan's id. The chunks are plain puts under the plan's id (one write unit per KB,
 * half a transaction's): only the change set item, written last, is fenced on the batch still
 * being at the lock's stage, and it names the plan whose chunks submit applies. A lock attempt
 * that outlived its stage (a timed-out task whose Lambda ran on) cannot put a change set back to
 * READY after submit applied it, and the chunks it writes late are never read: they are its own
 * plan's, beside the named one.
 */
export async function saveChangeSet(
  batchId: string,
  stage: BatchStage,
  cs: ChangeSet,
  changes: Map<string, PlannedEventChange[]>,
): Promise<string> {
  const planId = planIdOf(changes);
  const items: Item[] = [];
  for (const [register, list] of changes) {
    for (let n = 0; n * EVENTS_PER_CHUNK < list.length; n++) {
      items.push({
        ...keys.batchChangeSetChunk(batchId, cs.subscriptionId, register, n, planId),
        itemType: 'CHANGE_SET_CHUNK',
        subscriptionId: cs.subscriptionId,
        register,
        planId,
        changes: list.slice(n * EVENTS_PER_CHUNK, (n + 1) * EVENTS_PER_CHUNK).map(storedChange),
        // Chunks written before changes carried `before` cannot be undone.
        withBefore: true,
      });
    }
  }
  await mapLimit(items, CHUNK_PUT_CONCURRENCY, (Item) =>
    retryTransient(() => clients.dynamo.send(new PutCommand({ TableName: clients.tableName, Item }))),
  );
  await writeInStage(batchId, stage, [
    {
      Put: {
        TableName: clients.tableName,
        Item: { ...keys.batchChangeSet(batchId, cs.subscriptionId), itemType: 'CHANGE_SET', ...cs, planId },
      },
    },
  ]);
  return planId;
}

export async function getChangeSet(batchId: string, subscriptionId: string): Promise<ChangeSet | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.batchChangeSet(batchId, subscriptionId),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toChangeSet(res.Item) : undefined;
}

export async function listChangeSets(batchId: string): Promise<ChangeSet[]> {
  return (await queryAll(keys.batchPartition(batchId), keys.batchChangeSetPrefix)).map(toChangeSet);
}

/**
 * The subscriptions among `subscriptionIds` whose change set inserts its replacements in its
 * chunks (`replacementsInChunks`); one without a change set, or locked before, is not among them.
 */
export async function subscriptionsWithReplacementsInChunks(
  batchId: string,
  subscriptionIds: Iterable<string>,
): Promise<Set<string>> {
  const items = await batchGet([...new Set(subscriptionIds)].map((s) => keys.batchChangeSet(batchId, s)));
  return new Set(items.filter((i) => i.replacementsInChunks === true).map((i) => i.subscriptionId as string));
}

/** Every event change a batch planned, per partition (what an undo inverts), and whether each chunk recorded `before`. */
export async function plannedChanges(
  batchId: string,
  subscriptionId?: string,
): Promise<Array<{ subscriptionId: string; register: string; withBefore: boolean; changes: PlannedEventChange[] }>> {
  const [chunks, sets] = await Promise.all([
    queryAll(
      keys.batchPartition(batchId),
      subscriptionId ? keys.batchChangeSetChunkPrefix(subscriptionId) : keys.batchChangeSetChunksPrefix,
    ),
    subscriptionId ? getChangeSet(batchId, subscriptionId).then((cs) => (cs ? [cs] : [])) : listChangeSets(batchId),
  ]);
  // Only the plan each change set names: a late lock attempt's chunks of another plan are not it.
  const planOf = new Map(sets.map((cs) => [cs.subscriptionId, cs.planId]));
  return chunks
    .filter((c) => c.planId === planOf.get(c.subscriptionId as string))
    .map((c) => ({
      subscriptionId: c.subscriptionId as string,
      register: c.register as string,
      withBefore: c.withBefore === true,
      changes: (c.changes as Item[]).map((x) => ({
        eventId: x.eventId as string,
        fromRev: Number(x.fromRev),
        status: x.status as EventStatus,
        rating: storedRating(x.rating as Item),
        ...(x.before
          ? { before: storedRating(x.before as Item) }
          : x.beforeIsRating === true
            ? { before: storedRating(x.rating as Item) }
            : {}),
      })),
    }));
}

/** Keys of every change-set item of a batch (to discard the preview). */
export async function changeSetKeys(batchId: string): Promise<Array<{ PK: string; SK: string }>> {
  const [sets, chunks, marks] = await Promise.all([
    queryAll(keys.batchPartition(batchId), keys.batchChangeSetPrefix),
    queryAll(keys.batchPartition(batchId), keys.batchChangeSetChunksPrefix),
    queryAll(keys.batchPartition(batchId), keys.batchChangeSetChunkMarksPrefix),
  ]);
  return [...sets, ...chunks, ...marks].map((i) => ({ PK: i.PK as string, SK: i.SK as string }));
}

/** Marks a change set stale (nothing of it was written), once. */
export async function markStale(batchId: string, subscriptionId: string, reason: string): Promise<void> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batchChangeSet(batchId, subscriptionId),
        UpdateExpression: 'SET #state = :stale, staleReason = :r',
        ConditionExpression: '#state = :ready',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':stale': 'STALE', ':ready': 'READY', ':r': reason },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

const versionCondition = (version: number, name = '#v') =>
  version === 0 ? `attribute_not_exists(${name})` : `${name} = :v`;

export type TotalsOutcome = { applied: true } | { applied: false; already: true } | { applied: false; stale: string };

/**
 * Writes a change set's totals in one transaction: grants' draws, registers' consumption with
 * their ledger entries, bill lines, credit/rebill documents, the re-invoice event. Every item is
 * conditional on the version lock read, and the transaction also checks the price plan, the
 * ledger close and the bill unit: if any moved, nothing is written and the reason is returned.
 */
export async function applyTotals(
  batchId: string,
  cs: ChangeSet,
  ctx: { actor: string; now: string; stage: BatchStage; billUnitGuard: TransactItem },
): Promise<TotalsOutcome> {
  const intents: Intent<string>[] = [];
  const push = (label: string, item: TransactItem) => void intents.push(intent(label, item));
  const at = cs.effectiveAt ?? ctx.now;
  push('change set', {
    Update: {
      TableName: clients.tableName,
      Key: keys.batchChangeSet(batchId, cs.subscriptionId),
      UpdateExpression: 'SET #state = :applied, appliedAt = :now',
      ConditionExpression: '#state = :ready',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':applied': 'APPLIED', ':ready': 'READY', ':now': ctx.now },
      // Not READY: APPLIED by an earlier attempt, or STALE (another attempt found the plan's inputs moved).
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  push('the price plan (a subscription change)', {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.subscription(cs.subscriptionId),
      ConditionExpression: 'planVersion = :pv',
      ExpressionAttributeValues: { ':pv': cs.planVersion },
    },
  });
  push('the ledger close', {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.ledgerClose,
      ConditionExpression: cs.closedThrough === null ? 'attribute_not_exists(closedThrough)' : 'closedThrough = :c',
      ...(cs.closedThrough === null ? {} : { ExpressionAttributeValues: { ':c': cs.closedThrough } }),
    },
  });
  push('the bill unit (a balance-group move)', ctx.billUnitGuard);
  for (const g of cs.grants) {
    if (g.delta === 0n) continue;
    push(`grant ${g.grantId} of register ${g.register}`, {
      Update: {
        TableName: clients.tableName,
        Key: keys.grant(cs.subscriptionId, g.register, g.grantId),
        UpdateExpression: 'ADD drawn :d, undrawn :nd, version :one',
        ConditionExpression: `attribute_exists(PK) AND ${versionCondition(g.version)}`,
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: {
          ':d': g.delta,
          ':nd': -g.delta,
          ':one': 1,
          ...(g.version ? { ':v': g.version } : {}),
        },
      },
    });
  }
  for (const r of cs.registers) {
    const values = {
      ':c': r.consumedDelta,
      ':one': 1,
      ':at': ctx.now,
      ':t': 'REGISTER',
      ':s': cs.subscriptionId,
      ':r': r.register,
      ...(r.version ? { ':v': r.version } : {}),
    };
    if (r.consumedDelta === 0n) {
      push(`register ${r.register} (a grant, transfer or adjustment)`, {
        ConditionCheck: {
          TableName: clients.tableName,
          Key: keys.register(cs.subscriptionId, r.register),
          ConditionExpression: versionCondition(r.version),
          ExpressionAttributeNames: { '#v': 'version' },
          ...(r.version ? { ExpressionAttributeValues: { ':v': r.version } } : {}),
        },
      });
      continue;
    }
    const entryId = `rate:${batchId}:submit:${r.register}`;
    push(
      `ledger entry of register ${r.register}`,
      ledgerEntryPut({
        entryId,
        subscriptionId: cs.subscriptionId,
        register: r.register,
        kind: 'CONSUMPTION',
        granted: 0n,
        consumed: r.consumedDelta,
        at,
        actor: ctx.actor,
        eventCount: r.changedEvents,
        batchId,
      }),
    );
    push(`register ${r.register} (a grant, transfer or adjustment)`, {
      Update: {
        TableName: clients.tableName,
        Key: keys.register(cs.subscriptionId, r.register),
        UpdateExpression:
          'ADD #consumed :c, entries :one, version :one SET updatedAt = :at, itemType = :t, subscriptionId = :s, #register = :r',
        ConditionExpression: versionCondition(r.version),
        ExpressionAttributeNames: { '#consumed': 'consumed', '#register': 'register', '#v': 'version' },
        ExpressionAttributeValues: values,
      },
    });
  }
  for (const l of cs.lines) {
    push(`bill line ${l.period} (its status, an adjustment or a rating)`, lineItem(cs, l, ctx.now));
  }
  for (const d of cs.documents) {
    push(
      `credit/rebill of ${d.originalPeriod}`,
      billAdjustmentPut({
        id: `${batchId}:${d.originalPeriod}:${d.kind.toLowerCase()}`,
        subscriptionId: cs.subscriptionId,
        kind: d.kind,
        amount: d.amount,
        originalPeriod: d.originalPeriod,
        period: d.period,
        usageBefore: d.usageBefore,
        usageAfter: d.usageAfter,
        batchId,
        at,
      }),
    );
  }
  const reinvoice = cs.lines.filter((l) => l.reinvoiceRequired);
  if (reinvoice.length > 0) {
    push(
      're-invoice event',
      outboxPut(
        domainEvent(
          'BILL_REINVOICE_REQUIRED',
          `${batchId}:${cs.subscriptionId}`,
          { accountId: cs.accountId, occurredAt: ctx.now, actor: ctx.actor },
          {
            subscriptionId: cs.subscriptionId,
            batchId,
            currency: cs.currency,
            lines: reinvoice.map((l) => ({
              period: l.period,
              before: formatMoney(l.before.total, cs.currency),
              after: formatMoney(l.after.total, cs.currency),
            })),
          },
        ),
      ),
    );
  }
  push('batch stage', batchStageCheck(batchId, ctx.stage));
  try {
    await transact(intents, { once: true });
    return { applied: true };
  } catch (err) {
    const refused = refusals(err, intents);
    if (!refused || refused.size === 0) throw err; // busy or throttled: the workflow's Retry
    if (refused.has('batch stage')) throw stageOver(batchId, ctx.stage);
    const was = refused.get('change set');
    if (was) {
      const old = was.Item ? fromWire(was.Item) : undefined;
      if (old?.state === 'APPLIED') return { applied: false, already: true };
      return { applied: false, stale: (old?.staleReason as string | undefined) ?? 'the change set is no longer READY' };
    }
    return { applied: false, stale: `${[...refused.keys()].join(', ')} changed after lock` };
  }
}

function lineItem(cs: ChangeSet, l: BillLineChange, now: string): TransactItem {
  const key = keys.billLine(cs.subscriptionId, l.period);
  const names: Record<string, string> = l.created ? { '#status': 'status' } : { '#v': 'version', '#status': 'status' };
  const guard = l.created ? 'attribute_not_exists(PK)' : `${versionCondition(l.version)} AND #status = :was`;
  const values: Record<string, unknown> = {
    ...(l.version && !l.created ? { ':v': l.version } : {}),
    ...(l.created ? {} : { ':was': l.status }),
  };
  if (l.frozenBecause || (l.usageDelta === 0n && l.eventCountDelta === 0 && l.adjustmentsDelta === 0n && !l.created)) {
    // The line stays as it is, but the plan read it: it must still be as read.
    return {
      ConditionCheck: {
        TableName: clients.tableName,
        Key: key,
        ConditionExpression: guard,
        ...(l.created ? {} : { ExpressionAttributeNames: names }),
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
      },
    };
  }
  Object.assign(values, {
    ':u': l.usageDelta,
    ':n': l.eventCountDelta,
    ':a': l.adjustmentsDelta,
    ':one': 1,
    ':open': 'OPEN',
    ':itemType': 'BILL_LINE',
    ':s': cs.subscriptionId,
    ':p': l.period,
    ':c': cs.currency,
    ':now': now,
    ':bu': cs.billUnitId,
  });
  let set =
    'itemType = :itemType, subscriptionId = :s, period = :p, currency = :c, updatedAt = :now, #status = if_not_exists(#status, :open), billUnitId = if_not_exists(billUnitId, :bu)';
  let remove = '';
  if (l.periodMinimum !== undefined) {
    set += ', periodMinimum = :min';
    values[':min'] = l.periodMinimum;
  } else remove = ' REMOVE periodMinimum';
  return {
    Update: {
      TableName: clients.tableName,
      Key: key,
      UpdateExpression: `ADD usageAmount :u, eventCount :n, adjustments :a, version :one SET ${set}${remove}`,
      ConditionExpression: guard,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** Event writes of one chunk in flight at once (each its own conditional update). */
const EVENT_WRITE_CONCURRENCY = 16;

/**
 * Applies one event chunk of a change set once: its events, each its own conditional update (on
 * the revision planned from and on being held by the batch or by none, whose hold the same write
 * releases), then the chunk's applied mark. No transaction: an event item written alone costs
 * half what it costs in one. Returns applied false when an earlier attempt applied it. Only
 * after its totals: the change set is read APPLIED first (APPLIED is final), so the events of a
 * change set whose totals were refused (STALE) are never written, whichever attempt got there first.
 */
export async function applyEventChunk(
  batchId: string,
  cs: Pick<ChangeSet, 'subscriptionId' | 'planId'>,
  register: string,
  n: number,
  ctx: { now: string; actor: string; stage: BatchStage },
): Promise<{ applied: boolean; changed: number; exists: boolean }> {
  const { subscriptionId, planId } = cs;
  const get = (key: { PK: string; SK: string }) =>
    clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: key, ConsistentRead: true }));
  const markKey = keys.batchChangeSetChunkMark(batchId, subscriptionId, register, n);
  const [res, mark, totals, inStage] = await Promise.all([
    get(keys.batchChangeSetChunk(batchId, subscriptionId, register, n, planId)),
    get(markKey),
    get(keys.batchChangeSet(batchId, subscriptionId)),
    batchInStage(batchId, ctx.stage),
  ]);
  if (!res.Item) return { applied: false, changed: 0, exists: false };
  // A chunk applied before marks were items of their own carries `applied` itself (a batch
  // still submitting while the code changed): applied all the same.
  if (mark.Item || res.Item.applied) return { applied: false, changed: 0, exists: true };
  // The stage fence: an attempt that outlived its stage stops here. One that passes this read
  // and writes late cannot write wrong: each event's own condition (the planned revision, not
  // reversed, held by this batch or by none) still decides, and a repeat of a write done is a no-op.
  if (!inStage) throw stageOver(batchId, ctx.stage);
  if (totals.Item?.state !== 'APPLIED')
    throw new DomainError(
      'PREVIEW_STALE',
      `the totals of batch ${batchId}'s change set for subscription ${subscriptionId} were not applied; none of its events is written`,
    );
  // Lock writes a change set once its chunks are in; after lock it never changes.
  if (totals.Item.planId !== planId)
    throw new DomainError(
      'INTERNAL',
      `batch ${batchId}'s change set for subscription ${subscriptionId} names plan ${String(totals.Item.planId)}, not ${String(planId)}`,
    );
  const changes = (res.Item.changes as Item[]).map(
    (c): PlannedEventChange => ({
      eventId: c.eventId as string,
      fromRev: Number(c.fromRev),
      status: c.status as EventStatus,
      rating: c.rating as StoredRating,
      ...(c.insert ? { insert: toReplacementInsert(c.insert as Item) } : {}),
      ...(Array.isArray(c.replacedBy) ? { replacedBy: c.replacedBy as string[] } : {}),
      ...(c.touch === true ? { touch: true as const } : {}),
    }),
  );
  // Read first, so an attempt writes only what is not yet written (a retry after a fault sends
  // the rest, not the whole chunk again) and an event moved otherwise stops the chunk before any write.
  const current = new Map((await batchGet(changes.map((c) => keys.event(c.eventId)))).map((e) => [e.PK as string, e]));
  const todo: PlannedEventChange[] = [];
  for (const c of changes) {
    const state = eventState(c, current.get(keys.event(c.eventId).PK), batchId);
    if (state === 'moved') throw eventMoved(c, batchId);
    if (state === 'to write') todo.push(c);
  }
  // Each write is retried in place when throttled or its answer is lost: a chunk of single writes
  // then goes through as often as one transaction of them would, and a repeat finds its write done.
  await mapLimit(todo, EVENT_WRITE_CONCURRENCY, (c) =>
    retryTransient(() => writeEvent(c, { batchId, subscriptionId, register, now: ctx.now })),
  );
  // The mark alone, once every event is written: refused, an earlier attempt marked it.
  try {
    await retryTransient(() =>
      clients.dynamo.send(
        new PutCommand({
          TableName: clients.tableName,
          Item: { ...markKey, itemType: 'CHANGE_SET_CHUNK_APPLIED', appliedAt: ctx.now },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      ),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return { applied: false, changed: 0, exists: true };
  }
  return { applied: true, changed: changes.length, exists: true };
}

/**
 * Where a planned event change stands, from the event item as it is (undefined: absent). Written:
 * at the next revision rated by this batch's submit, or further on and no longer held by this
 * batch (an earlier attempt wrote it, which released it, and a later batch changed it since; while
 * this batch held it nothing else could). A replacement counts as this batch's only if the batch
 * inserted it. Anything else moved an event the batch holds.
 */
function eventState(c: PlannedEventChange, old: Item | undefined, batchId: string): 'to write' | 'written' | 'moved' {
  if (c.insert) {
    if (!old || (Number(old.ratingRev) === c.fromRev && old.heldBy === batchId)) return 'to write';
    if (old.insertedByBatch !== batchId) return 'moved';
  } else if (
    old &&
    Number(old.ratingRev) === c.fromRev &&
    old.status !== 'REVERSED' &&
    (old.heldBy === undefined || old.heldBy === batchId)
  )
    return 'to write';
  if (!old) return 'moved';
  const rev = Number(old.ratingRev);
  if (rev === c.fromRev + 1 && old.ratedBy === `${batchId}:submit`) return 'written';
  if (rev >= c.fromRev + 2 && old.heldBy !== batchId) return 'written';
  return 'moved';
}

const eventMoved = (c: PlannedEventChange, batchId: string) =>
  c.insert
    ? new DomainError(
        'INTERNAL',
        `replacement ${c.eventId} of batch ${batchId} cannot be inserted: an event the batch does not hold has its id`,
      )
    : new DomainError('INTERNAL', `event ${c.eventId} moved although batch ${batchId} holds it`);

/**
 * One planned event change (or a replacement's insert), conditional on its own planned revision;
 * refused, it is done when the event as it was shows it written (an earlier try whose answer was lost).
 */
async function writeEvent(
  c: PlannedEventChange,
  at: { batchId: string; subscriptionId: string; register: string; now: string },
): Promise<void> {
  const write = c.insert ? replacementUpsert(c, c.insert, at) : eventUpdate(c, at.batchId, at);
  try {
    await clients.dynamo.send(new UpdateCommand({ ...write.Update!, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    if (eventState(c, err.Item ? fromWire(err.Item) : undefined, at.batchId) !== 'written')
      throw eventMoved(c, at.batchId);
  }
}

function eventUpdate(c: PlannedEventChange, batchId: string, ctx: { now: string }): TransactItem {
  const values: Record<string, unknown> = {
    ':rating': c.status === 'REVERSED' ? c.rating : { ...c.rating, ratedAt: ctx.now },
    ':status': c.status,
    ':next': c.fromRev + 1,
    ':rev': c.fromRev,
    ':reversed': 'REVERSED',
    ':step': `${batchId}:submit`,
    ':held': batchId,
  };
  // A selected event was never held: its lineage names the batch from this write on.
  if (c.touch) values[':touched'] = new Set([batchId]);
  const touch = c.touch ? ' ADD touchedBy :touched' : '';
  const sets = ['rating = :rating', '#status = :status', 'ratingRev = :next', 'ratedBy = :step'];
  if (c.status === 'LOADED') {
    // An undo of its rating: the event is unrated again (its earlier ratings are in the ledger's history).
    sets.shift();
    delete values[':rating'];
    return {
      Update: {
        TableName: clients.tableName,
        Key: keys.event(c.eventId),
        UpdateExpression: `SET ${sets.join(', ')} REMOVE heldBy, heldAt, rating${touch}`,
        ConditionExpression:
          'ratingRev = :rev AND #status <> :reversed AND (attribute_not_exists(heldBy) OR heldBy = :held)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      },
    };
  }
  let add = touch;
  if (c.status === 'REVERSED') {
    // reversedBy names the reversing batch (the actor is in the batch's log, not on each event).
    sets.push('reversedBy = :held', 'reversedAt = :now');
    values[':now'] = ctx.now;
    // Its replacements are named in the same write (a set: the lineage reads them from the original).
    if (c.replacedBy?.length) {
      add += `${add ? ',' : ' ADD'} replacedBySet :replacedBy`;
      values[':replacedBy'] = new Set(c.replacedBy);
    }
  }
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.event(c.eventId),
      UpdateExpression: `SET ${sets.join(', ')} REMOVE heldBy, heldAt${add}`,
      ConditionExpression:
        'ratingRev = :rev AND #status <> :reversed AND (attribute_not_exists(heldBy) OR heldBy = :held)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    },
  };
}

/**
 * A replacement without a parent, written rated by its chunk: created when absent (the common
 * case, one write instead of an insert and a rating), or rated in place when submit inserted it
 * beforehand, held by the batch at revision 0 (a replacement other replacements attach to as
 * their parent), its children's count kept. An event of that id the batch does not hold refuses it.
 */
function replacementUpsert(
  c: PlannedEventChange,
  r: ReplacementInsert,
  at: { batchId: string; subscriptionId: string; register: string; now: string },
): TransactItem {
  const {
    PK: _pk,
    SK: _sk,
    ...item
  } = newEventItem({ eventId: c.eventId, subscriptionId: at.subscriptionId, ...r }, at.register, at.now, {
    replaces: r.replaces,
    insertedByBatch: at.batchId,
    status: c.status,
    rating: { ...c.rating, ratedAt: at.now },
    ratingRev: c.fromRev + 1,
    ratedBy: `${at.batchId}:submit`,
  });
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':rev': c.fromRev, ':held': at.batchId };
  const sets = Object.entries(item).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    // One inserted beforehand keeps the time it was inserted.
    return name === 'createdAt' ? `#a${i} = if_not_exists(#a${i}, :a${i})` : `#a${i} = :a${i}`;
  });
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.event(c.eventId),
      // One listed through its original has no index entries, even if inserted beforehand with them.
      UpdateExpression: `SET ${sets.join(', ')} REMOVE heldBy, heldAt${r.indexedVia ? ', GSI1PK, GSI1SK, GSI3PK, GSI3SK' : ''}`,
      ConditionExpression: 'attribute_not_exists(PK) OR (ratingRev = :rev AND heldBy = :held)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

function toReplacementInsert(item: Item): ReplacementInsert {
  const r = readItem(item, 'planned replacement', 'replaces');
  return {
    productId: r.string('productId'),
    quantity: r.bigint('quantity'),
    occurredAt: r.string('occurredAt'),
    ...(r.has('attributes') ? { attributes: r.stringMap('attributes') } : {}),
    replaces: r.string('replaces'),
    ...(r.has('indexedVia') ? { indexedVia: r.string('indexedVia') } : {}),
  };
}

/**
 * Why a READY change set would not be applied if submitted now (undefined: it would). A read for
 * the preview; the guarantee itself is the conditions of the totals transaction.
 */
export async function staleReason(cs: ChangeSet): Promise<string | undefined> {
  const [sub, close, lines, registers] = await Promise.all([
    clients.dynamo.send(
      new GetCommand({ TableName: clients.tableName, Key: keys.subscription(cs.subscriptionId), ConsistentRead: true }),
    ),
    clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: keys.ledgerClose, ConsistentRead: true })),
    queryAll(keys.subscription(cs.subscriptionId).PK, keys.billLinePrefix),
    queryAll(keys.subscription(cs.subscriptionId).PK, keys.registerPrefix),
  ]);
  const moved: string[] = [];
  if (Number(sub.Item?.planVersion ?? 0n) !== cs.planVersion) moved.push('the price plan (a subscription change)');
  if (((close.Item?.closedThrough as string | undefined) ?? null) !== cs.closedThrough) moved.push('the ledger close');
  const regVersion = new Map(registers.map((r) => [r.register as string, Number(r.version ?? 0n)]));
  for (const r of cs.registers)
    if ((regVersion.get(r.register) ?? 0) !== r.version)
      moved.push(`register ${r.register} (a grant, transfer or adjustment)`);
  const lineBy = new Map(lines.map((l) => [l.period as string, l]));
  for (const l of cs.lines) {
    const now = lineBy.get(l.period);
    const same = l.created
      ? !now
      : now !== undefined && Number(now.version ?? 0n) === l.version && now.status === l.status;
    if (!same) moved.push(`bill line ${l.period} (its status, an adjustment or a rating)`);
  }
  return moved.length > 0 ? `${moved.join(', ')} changed after lock` : undefined;
}
