// Rating a partition straight to the table, without a batch: tests and benchmarks use it to put
// events in a rated state quickly. Production rates through batches only (lock plans change sets,
// submit applies them: shared/store/change-sets.ts). Each chunk writes its events (conditional on
// the revision the plan was made from), the grants' drawn totals and the register's consumed
// total (conditional on their values before the chunk), one ledger entry and the bill lines'
// deltas. A retry, or a second runner, re-reads and re-plans: nothing is applied twice.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import type { LedgerEntry } from '../../shared/domain/balance';
import { DomainError } from '../../shared/domain/errors';
import type { EventChange, PartitionPlan } from '../../shared/domain/partition-plan';
import type { Subscription } from '../../shared/domain/subscription';
import { ledgerEntryPut } from '../../shared/store/balances';
import { batchStageCheck, stageOver } from '../../shared/store/batches';
import { billAdjustmentPut, billLineUpdate } from '../../shared/store/bill-lines';
import { clients } from '../../shared/store/clients';
import { isBusyCancellation, isTransactionCanceled } from '../../shared/store/errors';
import { MAX_TRANSACTION_ITEMS, type TransactItem } from '../../shared/store/grouped-transactions';
import { intent, refusals, transact, type Intent } from '../../shared/store/intents';
import { keys } from '../../shared/store/keys';
import { planFor, type PlanWithState, type RatePartitionRequest } from '../../shared/store/partition-rating';
import type { BillUnitAssignment } from '../../shared/store/balance-group-moves';
import { requireSubscription } from '../../shared/store/subscriptions';

export interface RatePartitionResult {
  changed: number;
  chunks: number;
  /** Re-plans after a lost race or a retry. */
  replans: number;
  plan: PartitionPlan;
}

const MAX_REPLANS = 10;

/**
 * Rates a partition from a point in time, re-rating everything after it. The domain function
 * that RATING, RERATE and REVERSE_REPLACE batches call for each partition they touch.
 */
export async function ratePartitionFrom(req: RatePartitionRequest): Promise<RatePartitionResult> {
  const subscription = await requireSubscription(req.subscriptionId);
  let changed = 0;
  let chunks = 0;
  for (let replans = 0; ; replans++) {
    const plan = await planFor(subscription, req);
    if (plan.changes.length === 0) return { changed, chunks, replans, plan };
    try {
      const applied = await applyChunks(subscription, req, plan);
      return { changed: changed + applied.changed, chunks: chunks + applied.chunks, replans, plan };
    } catch (err) {
      if (!(err instanceof ChunkRefused)) throw err;
      changed += err.changed;
      chunks += err.chunks;
      const { cause, refused } = err;
      if (req.stage && refused?.has('stage')) throw stageOver(req.batchId!, req.stage);
      if (replans >= MAX_REPLANS || !(isTransactionCanceled(cause) || isBusyCancellation(cause))) throw cause;
      if (interfacedLineRefused(refused)) {
        throw new DomainError(
          'AR_INTERFACED',
          `a bill line of subscription ${req.subscriptionId} is already interfaced to accounts receivable`,
        );
      }
      // Someone else moved the partition (or an earlier attempt got through): read again and re-plan.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(replans, 6)));
    }
  }
}

/** What each item of a chunk's transaction stands for; a bill line by its period. */
type ChunkLabel =
  | 'event'
  | 'bill unit'
  | 'grant'
  | 'ledger entry'
  | 'register'
  | 'adjustment'
  | `bill line ${string}`
  | 'stage';

/**
 * A chunk's write failed with `cause`; `refused`: its items refused by their own conditions (a
 * cancelled transaction). `chunks` chunks of `changed` events were written before it, and stay.
 */
class ChunkRefused extends Error {
  changed = 0;
  chunks = 0;
  constructor(
    override readonly cause: unknown,
    readonly refused: ReadonlyMap<ChunkLabel, CancellationReason> | undefined,
  ) {
    super('a chunk of the plan was refused');
  }
}

/**
 * Writes a plan chunk by chunk; `maxChunks` stops early (a crash, in tests). Refused at the first
 * chunk: DynamoDB's error as it is; at a later one, what the chunks before wrote, with it as cause.
 */
export async function applyPlan(
  subscription: Subscription,
  req: RatePartitionRequest,
  plan: PlanWithState,
  maxChunks = Infinity,
): Promise<{ changed: number; chunks: number }> {
  try {
    return await applyChunks(subscription, req, plan, maxChunks);
  } catch (err) {
    throw err instanceof ChunkRefused && err.chunks === 0 ? err.cause : err;
  }
}

async function applyChunks(
  subscription: Subscription,
  req: RatePartitionRequest,
  plan: PlanWithState,
  maxChunks = Infinity,
): Promise<{ changed: number; chunks: number }> {
  const grantsBefore = new Map(plan.grantsDrawn);
  let consumedBefore = plan.consumed;
  let changed = 0;
  let chunks = 0;
  for (const chunk of chunkChanges(plan.changes)) {
    if (chunks >= maxChunks) break;
    try {
      consumedBefore = await applyChunk(
        subscription,
        req,
        chunk,
        grantsBefore,
        consumedBefore,
        plan.assignment,
        plan.redirected,
      );
    } catch (err) {
      throw Object.assign(err instanceof ChunkRefused ? err : new ChunkRefused(err, undefined), { changed, chunks });
    }
    changed += chunk.length;
    chunks++;
  }
  return { changed, chunks };
}

/** Splits changes into chunks whose transaction stays within DynamoDB's item limit. */
export function chunkChanges(changes: EventChange[], maxItems = MAX_TRANSACTION_ITEMS): EventChange[][] {
  const chunks: EventChange[][] = [];
  let current: EventChange[] = [];
  let grants = new Set<string>();
  let periods = new Set<string>();
  // + register, ledger entry, bill-unit guard, batch stage check; each period may also need two
  // adjustments and its target line.
  const size = (g: Set<string>, p: Set<string>, events: number) => events + g.size + 3 * p.size + 4;
  for (const change of changes) {
    const g = new Set([...grants, ...change.grantDeltas.map((d) => d.grantId)]);
    const p = new Set([...periods, ...change.billDeltas.map((d) => d.period)]);
    if (current.length > 0 && size(g, p, current.length + 1) > maxItems) {
      chunks.push(current);
      current = [];
      grants = new Set(change.grantDeltas.map((d) => d.grantId));
      periods = new Set(change.billDeltas.map((d) => d.period));
    } else {
      grants = g;
      periods = p;
    }
    current.push(change);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function applyChunk(
  sub: Subscription,
  req: RatePartitionRequest,
  chunk: EventChange[],
  grantsBefore: Map<string, bigint>,
  consumedBefore: bigint,
  assignment: BillUnitAssignment,
  redirected: ReadonlySet<string> = new Set(),
): Promise<bigint> {
  const intents: Intent<ChunkLabel>[] = [
    ...chunk.map((c) => intent<ChunkLabel>('event', eventUpdate(c, req))),
    intent('bill unit', assignment.guard),
  ];
  const push = (label: ChunkLabel, item: TransactItem) => void intents.push(intent(label, item));
  const grantDelta = new Map<string, bigint>();
  let consumed = 0n;
  const bills = new Map<string, { usageAmount: bigint; eventCount: number; adjustments?: bigint }>();
  for (const c of chunk) {
    for (const d of c.grantDeltas) grantDelta.set(d.grantId, (grantDelta.get(d.grantId) ?? 0n) + d.quantity);
    consumed += c.consumedDelta;
    for (const b of c.billDeltas) {
      const cur = bills.get(b.period) ?? { usageAmount: 0n, eventCount: 0 };
      cur.usageAmount += b.usageAmount;
      cur.eventCount += b.eventCount;
      bills.set(b.period, cur);
    }
  }
  for (const [grantId, delta] of grantDelta) {
    if (delta === 0n) continue;
    const before = grantsBefore.get(grantId) ?? 0n;
    push('grant', {
      Update: {
        TableName: clients.tableName,
        Key: keys.grant(req.subscriptionId, req.register, grantId),
        UpdateExpression: 'ADD drawn :d, undrawn :nd, version :one',
        // The grant must still hold what the plan read (a concurrent rating re-plans instead), and
        // still have the allowance undrawn: a transfer or a debit adjustment may have taken some.
        ConditionExpression: 'drawn = :before AND undrawn >= :d',
        ExpressionAttributeValues: { ':d': delta, ':nd': -delta, ':before': before, ':one': 1 },
      },
    });
  }
  if (consumed !== 0n) {
    const first = chunk[0]!;
    const entry: LedgerEntry = {
      entryId: `rate:${req.stepId}:${first.eventId}:r${first.fromRev}`,
      subscriptionId: req.subscriptionId,
      register: req.register,
      kind: 'CONSUMPTION',
      granted: 0n,
      consumed,
      at: req.now,
      actor: req.actor,
      eventCount: chunk.length,
      ...(req.batchId ? { batchId: req.batchId } : {}),
    };
    push('ledger entry', ledgerEntryPut(entry));
    push('register', consumptionUpdate(entry, consumedBefore));
  }
  if (redirected.size > 0) {
    // The interfaced line stays as it was; the correction is a credit of what was charged and a
    // rebill of what is charged now, posted to the open period and linked to the original one.
    const target = req.creditRebillPeriod!;
    let posted = 0n;
    for (const period of redirected) {
      bills.delete(period);
      const credit = -chunk.reduce((s, c) => s + (c.before?.billPeriod === period ? c.before.amount : 0n), 0n);
      const rebill = chunk.reduce(
        (s, c) => s + (c.status !== 'REVERSED' && c.rating.billPeriod === period ? c.rating.amount : 0n),
        0n,
      );
      const id = `${req.stepId}:${chunk[0]!.eventId}:r${chunk[0]!.fromRev}:${period}`;
      const base = {
        subscriptionId: req.subscriptionId,
        originalPeriod: period,
        period: target,
        at: req.now,
        ...(req.batchId ? { batchId: req.batchId } : {}),
      };
      if (credit !== 0n)
        push('adjustment', billAdjustmentPut({ ...base, id: `${id}:credit`, kind: 'CREDIT', amount: credit }));
      if (rebill !== 0n)
        push('adjustment', billAdjustmentPut({ ...base, id: `${id}:rebill`, kind: 'REBILL', amount: rebill }));
      posted += credit + rebill;
    }
    // One update per line: the target period may also carry usage of this chunk.
    const line = bills.get(target) ?? { usageAmount: 0n, eventCount: 0 };
    bills.set(target, { ...line, adjustments: (line.adjustments ?? 0n) + posted });
  }
  for (const [period, d] of bills) {
    if (d.usageAmount === 0n && d.eventCount === 0 && !d.adjustments) continue;
    push(
      `bill line ${period}`,
      billLineUpdate(
        {
          subscriptionId: req.subscriptionId,
          period,
          currency: sub.currency,
          usageAmount: d.usageAmount,
          eventCount: d.eventCount,
          ...(d.adjustments ? { adjustments: d.adjustments } : {}),
          ...(sub.periodMinimum !== undefined ? { periodMinimum: sub.periodMinimum } : {}),
          billUnitId: assignment.billUnitId,
        },
        req.now,
      ),
    );
  }
  if (req.stage) push('stage', batchStageCheck(req.batchId!, req.stage));
  try {
    await transact(intents, { once: true });
  } catch (err) {
    throw new ChunkRefused(err, refusals(err, intents));
  }
  for (const [grantId, delta] of grantDelta) grantsBefore.set(grantId, (grantsBefore.get(grantId) ?? 0n) + delta);
  return consumedBefore + consumed;
}

function eventUpdate(c: EventChange, req: RatePartitionRequest): TransactItem {
  const values: Record<string, unknown> = {
    ':rating': c.rating,
    ':status': c.status,
    ':next': c.fromRev + 1,
    ':rev': c.fromRev,
    ':reversed': 'REVERSED',
    ':step': req.stepId,
  };
  const sets = ['rating = :rating', '#status = :status', 'ratingRev = :next', 'ratedBy = :step'];
  let condition = 'ratingRev = :rev AND #status <> :reversed';
  if (c.status === 'REVERSED') {
    // reversedBy names the reversing batch (the actor is in the batch's log, not on each event).
    sets.push('reversedBy = :batch', 'reversedAt = :now');
    values[':batch'] = req.batchId ?? req.stepId;
    values[':now'] = req.now;
  }
  if (req.heldBy) {
    condition += ' AND (attribute_not_exists(heldBy) OR heldBy = :held)';
    values[':held'] = req.heldBy;
  }
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.event(c.eventId),
      UpdateExpression: `SET ${sets.join(', ')}${req.heldBy ? ' REMOVE heldBy, heldAt' : ''}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    },
  };
}

function consumptionUpdate(entry: LedgerEntry, consumedBefore: bigint): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.register(entry.subscriptionId, entry.register),
      UpdateExpression: 'ADD #consumed :c, entries :one, version :one SET updatedAt = :at',
      ConditionExpression: '#consumed = :before',
      ExpressionAttributeNames: { '#consumed': 'consumed' },
      ExpressionAttributeValues: { ':c': entry.consumed, ':one': 1, ':at': entry.at, ':before': consumedBefore },
    },
  };
}

/** A bill line refused because it is interfaced (the line as it was comes back with its refusal). */
function interfacedLineRefused(refused: ReadonlyMap<ChunkLabel, CancellationReason> | undefined): boolean {
  return [...(refused ?? [])].some(
    ([label, r]) =>
      label.startsWith('bill line') && r.Item?.itemType?.S === 'BILL_LINE' && r.Item?.status?.S === 'INTERFACED',
  );
}
