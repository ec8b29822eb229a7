import { DomainError } from '../domain/errors';
import { planPartition, type PartitionPlan } from '../domain/partition-plan';
import { compareEvents, type RatingOrderKey } from '../domain/rating';
import type { Subscription } from '../domain/subscription';
import type { UsageEvent } from '../domain/usage-event';
import { getRegister, listGrants } from './balances';
import { assignmentOf, type BillUnitAssignment } from './balance-group-moves';
import type { BatchStage } from './batches';
import { listBillLines } from './bill-lines';
import { clients } from './clients';
import { keys } from './keys';
import { queryIndexItems, readAll } from './query-all';
import { getEvents, toUsageEvent, withReplacementsListedVia } from './usage-events';

export interface RatePartitionRequest {
  subscriptionId: string;
  register: string;
  /** `LOADED` events to rate; the partition is re-rated from the earliest of these and `from`. */
  toRate: readonly string[];
  /** Re-rate from here even when nothing new is rated (a top-up, a re-rate batch). */
  from?: RatingOrderKey;
  /** Business identity of the step (batch id and stage): ledger entries derive their keys from it. */
  stepId: string;
  actor: string;
  now: string;
  batchId?: string;
  /**
   * Credit/rebill: changes to interfaced periods are posted as a credit and a rebill adjustment
   * in this open period instead of changing the interfaced line.
   */
  creditRebillPeriod?: string;
  /** Events to reverse (REVERSE_REPLACE). */
  reverse?: readonly string[];
  /** Events not stored yet, rated as if they were (replacements in a preview). */
  pending?: readonly UsageEvent[];
  /**
   * Submit of a batch: every written event must be held by this batch, and the same write
   * releases it, so processing and release cannot come apart.
   */
  heldBy?: string;
  /**
   * Submit of a batch (with `batchId`): every chunk also checks the batch is still at this stage.
   * An attempt that outlived it (a timed-out task whose Lambda ran on) writes nothing and stops
   * with INVALID_TRANSITION, rather than re-planning against events its batch no longer holds.
   */
  stage?: BatchStage;
}

/** The partition's events from a point on, as a caller already read them (eventsFrom). */
export interface PartitionRead {
  from: RatingOrderKey;
  events: readonly UsageEvent[];
}

/**
 * Reads the partition and plans its re-rating; refuses periods already interfaced unless asked
 * not to. A caller that read the partition just before passes what it read (`read`), so the
 * events are not read again.
 */
export async function planFor(
  subscription: Subscription,
  req: RatePartitionRequest,
  refuseInterfaced = true,
  read?: PartitionRead,
): Promise<PlanWithState> {
  const snapshot = await loadSnapshot(subscription, req, read);
  const plan = planPartition(snapshot, req.now);
  const redirected = new Set<string>();
  if (plan.changes.length > 0 && req.creditRebillPeriod) {
    for (const p of await interfacedPeriods(plan)) redirected.add(p);
  } else if (plan.changes.length > 0 && refuseInterfaced) await refuseInterfacedPeriods(plan);
  const [register, assignment] = await Promise.all([
    getRegister(req.subscriptionId, req.register),
    assignmentOf(subscription),
  ]);
  return {
    ...plan,
    grantsDrawn: new Map(snapshot.grants.map((g) => [g.grantId, g.drawn])),
    grantVersions: new Map(snapshot.grants.map((g) => [g.grantId, g.version ?? 0])),
    consumed: register.consumed,
    redirected,
    assignment,
  };
}

/** A plan with the grant and register totals it was made from (the writes are conditional on them). */
export interface PlanWithState extends PartitionPlan {
  grantsDrawn: Map<string, bigint>;
  /** Each grant's version as read with its draws. */
  grantVersions: Map<string, number>;
  consumed: bigint;
  /** Interfaced periods whose changes go to the credit/rebill period. */
  redirected: Set<string>;
  /** The bill unit new bill lines go to, guarded against a move landing before the write. */
  assignment: BillUnitAssignment;
}

/**
 * Refuses before the first write when a period the plan changes is already interfaced, so a
 * refused partition is left untouched (the bill line's own condition still guards the race).
 */
async function refuseInterfacedPeriods(plan: PartitionPlan): Promise<void> {
  const interfaced = await interfacedPeriods(plan);
  if (interfaced.length > 0) {
    throw new DomainError(
      'AR_INTERFACED',
      `bill period ${interfaced.join(', ')} of subscription ${plan.subscriptionId} is interfaced to accounts receivable`,
    );
  }
}

async function interfacedPeriods(plan: PartitionPlan): Promise<string[]> {
  const periods = new Set(plan.changes.flatMap((c) => c.billDeltas.map((d) => d.period)));
  return (await listBillLines(plan.subscriptionId))
    .filter((l) => l.status === 'INTERFACED' && periods.has(l.period))
    .map((l) => l.period);
}

async function loadSnapshot(subscription: Subscription, req: RatePartitionRequest, read?: PartitionRead) {
  const pending = req.pending ?? [];
  const ids = [...req.toRate, ...(req.reverse ?? [])];
  const readById = new Map(read?.events.map((e) => [e.eventId, e]));
  // What the caller read is used as read; an event it did not find (the index lags) is read by id.
  const named = [
    ...(read ? ids.map((id) => readById.get(id)).filter((e): e is UsageEvent => e !== undefined) : []),
    ...(await getEvents(read ? ids.filter((id) => !readById.has(id)) : ids)),
    ...pending,
  ];
  const starts = [
    ...named.map((e) => ({ occurredAt: e.occurredAt, eventId: e.eventId, indexedVia: e.indexedVia })),
    ...(req.from ? [req.from] : []),
  ];
  starts.sort(compareEvents);
  const start = starts[0];
  const covered = read !== undefined && start !== undefined && compareEvents(start, read.from) >= 0;
  const [grants, later] = await Promise.all([
    listGrants(req.subscriptionId, req.register),
    !start
      ? Promise.resolve([])
      : covered
        ? read.events.filter((e) => compareEvents(e, start) >= 0)
        : eventsFrom(req.subscriptionId, req.register, start),
  ]);
  const events = new Map(later.map((e) => [e.eventId, e]));
  // The index is eventually consistent: the events asked for by id are read from the table itself.
  for (const e of named) events.set(e.eventId, e);
  return {
    subscription,
    register: req.register,
    grants,
    events: [...events.values()].filter((e) => e.register === req.register && e.subscriptionId === req.subscriptionId),
    toRate: new Set([...req.toRate, ...pending.map((e) => e.eventId)]),
    reverse: new Set(req.reverse ?? []),
  };
}

/**
 * The partition's events from a start point on, in rating order. The index is read from the
 * start's place (its original's, for a replacement listed through it), so a replacement listed
 * through an original there is found with it; what sorts before the start is left out.
 */
export async function eventsFrom(
  subscriptionId: string,
  register: string,
  start: RatingOrderKey,
): Promise<UsageEvent[]> {
  const items = await readAll((exclusiveStart) =>
    queryIndexItems({
      TableName: clients.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :p AND GSI1SK >= :from',
      ExpressionAttributeValues: {
        ':p': keys.partitionIndexKey(subscriptionId, register),
        ':from': keys.eventPartition(subscriptionId, register, start.occurredAt, start.indexedVia ?? start.eventId)
          .GSI1SK,
      },
      ExclusiveStartKey: exclusiveStart,
    }),
  );
  const events = await withReplacementsListedVia(items.map(toUsageEvent));
  return events.filter((e) => compareEvents(e, start) >= 0);
}

/** Every event of the partition, in rating order. */
export const partitionEvents = (subscriptionId: string, register: string): Promise<UsageEvent[]> =>
  eventsFrom(subscriptionId, register, { occurredAt: '', eventId: '' });

/**
 * Whether a batch other than `batchId` holds an event of the partition, reading it a page at a
 * time and stopping at the first such event; 'too large' once more than `max` events were read
 * (a request does not read on past that). `consistent` false reads at half the units, for an
 * answer that is only a hint (a check that decides reads strongly after it).
 */
export async function heldElsewhereIn(
  subscriptionId: string,
  register: string,
  batchId: string,
  max: number,
  consistent = true,
): Promise<boolean | 'too large'> {
  let read = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await queryIndexItems(
      {
        TableName: clients.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :p',
        ExpressionAttributeValues: { ':p': keys.partitionIndexKey(subscriptionId, register) },
        Limit: 1000,
        ExclusiveStartKey: start,
      },
      consistent,
    );
    const events = await withReplacementsListedVia(page.Items.map(toUsageEvent));
    if (events.some((e) => e.heldBy !== undefined && e.heldBy !== batchId)) return true;
    read += events.length;
    if (read > max) return 'too large';
    start = page.LastEvaluatedKey;
  } while (start);
  return false;
}
