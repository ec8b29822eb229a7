// What a batch does to one partition: the events lock plans from, and the replacements submit
// inserts before it writes the change set lock stored.
import type { Batch, PendingReplacement } from '../domain/batch';
import type { PartitionPlan } from '../domain/partition-plan';
import type { UsageEvent } from '../domain/usage-event';
import { pendingReplacements } from '../store/batch-members';
import type { BatchPartition, PartitionPreview } from '../store/batch-partitions';
import { getMembers } from '../store/batches';
import { mapLimit } from '../store/concurrency';
import { eventsFrom, type RatePartitionRequest } from '../store/partition-rating';
import { getEvents, insertEvent, linkReplacement, newEventItem } from '../store/usage-events';

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

export async function partitionWork(
  batch: Batch,
  p: BatchPartition,
  actor: string,
  now: string,
  stage: string,
): Promise<PartitionWork> {
  const from = parseEarliest(p.earliest);
  const events = await eventsFrom(p.subscriptionId, p.register, from);
  const held = events.filter((e) => e.heldBy === batch.batchId);
  const heldMembers = await getMembers(
    batch.batchId,
    held.map((e) => e.eventId),
  );
  const members = new Map(heldMembers.map((m) => [m.eventId, m.role]));
  // The batch's own events are its members; a held event without a member item is a replacement
  // this batch inserted (an earlier attempt got that far), to be rated, never reversed.
  const own = held.filter((e) => members.get(e.eventId) === 'MEMBER' || members.get(e.eventId) === 'CHILD');
  const pending =
    batch.type === 'REVERSE_REPLACE'
      ? (
          await pendingReplacements(
            batch.batchId,
            p.subscriptionId,
            p.register,
            heldMembers.filter((m) => m.role === 'MEMBER'),
          )
        ).map((r): UsageEvent & { replaces: string } => ({
          ...r,
          attributes: r.attributes ?? {},
          status: 'LOADED',
          ratingRev: 0,
          heldBy: batch.batchId,
          createdAt: now,
        }))
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

/** What lock records per partition besides its subscription's change set. */
export function partitionPreview(
  plan: PartitionPlan,
  registerBefore: bigint,
  relatedAdded: number,
  replacementsAdded: number,
): PartitionPreview {
  const consumed = plan.changes.reduce((s, c) => s + c.consumedDelta, 0n);
  return {
    before: registerBefore,
    after: registerBefore - consumed,
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
export async function insertReplacementPage(
  batch: Batch,
  pending: readonly PendingReplacement[],
  pass: number,
  now: string,
): Promise<number> {
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
  // A retry does only what earlier attempts left undone: a replacement already inserted and
  // linked to its original costs no write, so each attempt has less to do than the one before
  // (re-sending every write made each retry as likely to meet a failure as the first).
  const stored = new Map(
    (await getEvents(thisPass.flatMap((e) => [e.eventId, e.replaces]))).map((e) => [e.eventId, e]),
  );
  const linked = (e: PendingReplacement) => stored.get(e.replaces)?.replacedBy?.includes(e.eventId) === true;
  const todo = thisPass.filter((e) => !(stored.has(e.eventId) && linked(e)));
  await mapLimit(todo, INSERTS_AT_ONCE, async (e) => {
    const parent = e.parentEventId && parentMembers.get(e.parentEventId)?.replacements?.[0];
    const event = { ...e, ...(parent ? { parentEventId: parent } : {}) };
    const item = newEventItem(event, e.register, now, {
      replaces: e.replaces,
      heldBy: batch.batchId,
      insertedByBatch: batch.batchId,
    });
    if (!stored.has(e.eventId) && (await insertEvent(item, event.parentEventId))) inserted++;
    await linkReplacement(e.replaces, e.eventId);
  });
  return inserted;
}

const INSERTS_AT_ONCE = 16;

export type { PendingReplacement };
