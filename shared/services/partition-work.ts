// What a batch does to one partition, shared by lock (the preview) and submit (the writes), so
// the preview is computed by the very code that then applies it.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Batch } from '../domain/batch';
import { billTotal, type BillLine } from '../domain/bill-line';
import type { ErrorCode } from '../domain/errors';
import type { PartitionPlan } from '../domain/partition-plan';
import type { Subscription } from '../domain/subscription';
import type { UsageEvent } from '../domain/usage-event';
import { getRegister } from '../store/balances';
import { pendingReplacements } from '../store/batch-members';
import type { BatchPartition, PartitionPreview } from '../store/batch-partitions';
import { getMembers } from '../store/batches';
import { clients } from '../store/clients';
import { mapLimit } from '../store/concurrency';
import { keys } from '../store/keys';
import { eventsFrom, type RatePartitionRequest } from '../store/partition-rating';
import { insertEvent, newEventItem } from '../store/usage-events';

export interface PartitionWork {
  request: RatePartitionRequest;
  /** Events of the partition from its earliest point on. */
  events: UsageEvent[];
  /** Events this batch holds there, by role. */
  members: Map<string, string>;
  pending: Array<UsageEvent & { replaces: string }>;
}

const parseEarliest = (earliest: string) => {
  const i = earliest.indexOf('#');
  return { occurredAt: earliest.slice(0, i), eventId: earliest.slice(i + 1) };
};

export async function partitionWork(batch: Batch, p: BatchPartition, actor: string, now: string, stage: string): Promise<PartitionWork> {
  const from = parseEarliest(p.earliest);
  const events = await eventsFrom(p.subscriptionId, p.register, from);
  const held = events.filter((e) => e.heldBy === batch.batchId);
  const members = new Map((await getMembers(batch.batchId, held.map((e) => e.eventId))).map((m) => [m.eventId, m.role]));
  // The batch's own events are its members; a held event without a member item is a replacement
  // this batch inserted (an earlier attempt got that far), to be rated, never reversed.
  const own = held.filter((e) => members.get(e.eventId) === 'MEMBER' || members.get(e.eventId) === 'CHILD');
  const pending =
    batch.type === 'REVERSE_REPLACE'
      ? (await pendingReplacements(batch.batchId, p.subscriptionId, p.register)).map(
          (r): UsageEvent & { replaces: string } => ({
            ...r,
            attributes: r.attributes ?? {},
            status: 'LOADED',
            ratingRev: 0,
            heldBy: batch.batchId,
            createdAt: now,
          }),
        )
      : [];
  const request: RatePartitionRequest = {
    subscriptionId: p.subscriptionId,
    register: p.register,
    from,
    toRate: batch.type === 'RATING' ? own.filter((e) => e.status === 'LOADED').map((e) => e.eventId) : [],
    reverse: batch.type === 'REVERSE_REPLACE' ? own.map((e) => e.eventId) : [],
    stepId: `${batch.batchId}:${stage}`,
    actor,
    now,
    batchId: batch.batchId,
    heldBy: batch.batchId,
  };
  return { request, events, members, pending };
}

export interface Assessment {
  error?: { code: ErrorCode; message: string };
  /** Interfaced periods whose correction goes to `creditRebillPeriod` as credit and rebill adjustments. */
  redirected: string[];
  creditRebillPeriod?: string;
}

/**
 * The rules of the field applied to a plan: an interfaced bill line is never changed. Under
 * REJECT that fails the partition (AR_INTERFACED); under CREDIT_REBILL, or for a credit-only
 * correction, the change is posted as credit and rebill adjustments in the earliest open period.
 */
export function assess(batch: Batch, plan: PartitionPlan, lines: BillLine[], events: UsageEvent[], sub: Subscription, now: string): Assessment {
  if (batch.options.effectiveAt && batch.options.effectiveAt < `${sub.startDate}T00:00:00.000Z`) {
    return { error: { code: 'BACKDATE_OUT_OF_RANGE', message: `effectiveAt is before subscription ${sub.subscriptionId} started` }, redirected: [] };
  }
  const periods = new Set(plan.changes.flatMap((c) => c.billDeltas.map((d) => d.period)));
  const interfaced = lines.filter((l) => l.status === 'INTERFACED' && periods.has(l.period)).map((l) => l.period);
  if (interfaced.length === 0) return { redirected: [] };
  const creditOnly = batch.options.creditOnly;
  if (batch.options.arPolicy !== 'CREDIT_REBILL' && !creditOnly) {
    return { error: { code: 'AR_INTERFACED', message: `bill period ${interfaced.join(', ')} is interfaced to accounts receivable` }, redirected: [] };
  }
  if (!creditOnly) {
    const zero = events.find((e) => e.status === 'EXCLUDED' && interfaced.includes(e.occurredAt.slice(0, 7)));
    if (zero) {
      return { error: { code: 'EXCLUDED_ZERO_CHARGE', message: `period ${zero.occurredAt.slice(0, 7)} holds excluded zero charge ${zero.eventId}; use a credit-only correction` }, redirected: [] };
    }
  }
  return { redirected: interfaced, creditRebillPeriod: earliestOpenPeriod(lines, interfaced, now) };
}

/** The earliest period after the interfaced ones that is still open (or has no line yet). */
function earliestOpenPeriod(lines: BillLine[], interfaced: string[], now: string): string {
  const after = interfaced.reduce((a, b) => (a > b ? a : b));
  const closed = new Set(lines.filter((l) => l.status !== 'OPEN').map((l) => l.period));
  let period = nextPeriod(after);
  const current = now.slice(0, 7);
  while (closed.has(period) && period < current) period = nextPeriod(period);
  return closed.has(period) ? nextPeriod(current) : period;
}

function nextPeriod(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** The preview of one partition: balance and charges before and after, from the plan. */
export async function previewOf(plan: PartitionPlan, assessment: Assessment, lines: BillLine[], relatedAdded: number, replacementsAdded: number): Promise<PartitionPreview> {
  const reg = await getRegister(plan.subscriptionId, plan.register);
  const before = reg.granted - reg.consumed;
  const consumed = plan.changes.reduce((s, c) => s + c.consumedDelta, 0n);
  const byPeriod = new Map(lines.map((l) => [l.period, l]));
  const usage = new Map<string, bigint>();
  const adjustments = new Map<string, bigint>();
  for (const c of plan.changes) {
    for (const d of c.billDeltas) {
      if (assessment.redirected.includes(d.period)) {
        const target = assessment.creditRebillPeriod!;
        adjustments.set(target, (adjustments.get(target) ?? 0n) + d.usageAmount);
        usage.set(d.period, usage.get(d.period) ?? 0n);
      } else usage.set(d.period, (usage.get(d.period) ?? 0n) + d.usageAmount);
    }
  }
  const periods = [...new Set([...usage.keys(), ...adjustments.keys()])].sort();
  const bills = periods.map((period) => {
    const line = byPeriod.get(period) ?? { usageAmount: 0n, adjustments: 0n, status: 'OPEN' as const };
    const beforeTotal = byPeriod.has(period) ? billTotal(line) : 0n;
    const after = billTotal({
      usageAmount: line.usageAmount + (usage.get(period) ?? 0n),
      adjustments: line.adjustments + (adjustments.get(period) ?? 0n),
      ...('periodMinimum' in line && line.periodMinimum !== undefined ? { periodMinimum: line.periodMinimum } : {}),
    });
    return { period, before: beforeTotal, after, status: line.status, ...(assessment.redirected.includes(period) ? { creditRebill: true } : {}) };
  });
  return {
    before,
    after: before - consumed,
    chargeDelta: bills.reduce((s, b) => s + (b.after - b.before), 0n),
    bills,
    relatedAdded,
    changedEvents: plan.changes.length,
    reversed: plan.changes.filter((c) => c.status === 'REVERSED').length,
    replacementsAdded,
  };
}

/** Replacement parents before their children: pass 0 inserts roots, each later pass one level deeper. */
export const REPLACEMENT_PASSES = 3;

/**
 * Inserts a page of the batch's replacement events (held by the batch until processed) and links
 * each original to its replacements. A replacement child names its original parent and attaches to
 * that parent's replacement, so children wait for a later pass than their parent. Idempotent: an
 * event this batch already inserted is skipped.
 */
export async function insertReplacementPage(batch: Batch, pending: readonly PendingReplacement[], pass: number, now: string): Promise<number> {
  let inserted = 0;
  const parents = [...new Set(pending.map((p) => p.parentEventId).filter((x): x is string => !!x))];
  const parentMembers = new Map((await getMembers(batch.batchId, parents)).map((m) => [m.eventId, m]));
  const depthOf = (e: PendingReplacement, seen = 0): number => {
    const parentReplacement = e.parentEventId ? parentMembers.get(e.parentEventId)?.replacements?.[0] : undefined;
    const parent = parentReplacement ? pending.find((p) => p.eventId === parentReplacement) : undefined;
    return parentReplacement ? 1 + (parent && seen < REPLACEMENT_PASSES ? depthOf(parent, seen + 1) : 0) : 0;
  };
  // Events of one pass do not depend on each other (a child waits for a later pass than its
  // parent): they are inserted together.
  const thisPass = pending.filter((e) => Math.min(depthOf(e), REPLACEMENT_PASSES - 1) === pass);
  await mapLimit(thisPass, INSERTS_AT_ONCE, async (e) => {
    const parent = e.parentEventId && parentMembers.get(e.parentEventId)?.replacements?.[0];
    const event = { ...e, ...(parent ? { parentEventId: parent } : {}) };
    const item = newEventItem(event, e.register, now, { replaces: e.replaces, heldBy: batch.batchId, insertedByBatch: batch.batchId });
    if (await insertEvent(item, event.parentEventId)) inserted++;
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.event(e.replaces),
        UpdateExpression: 'ADD replacedBySet :r',
        ExpressionAttributeValues: { ':r': new Set([e.eventId]) },
      }),
    );
  });
  return inserted;
}

const INSERTS_AT_ONCE = 16;

export type PendingReplacement = Awaited<ReturnType<typeof pendingReplacements>>[number];
