// Adding by criteria that name subscriptions holds each partition whole, by selection: one claim
// and one selection item per partition instead of a hold and a member item per event. Where a
// partition cannot be selected (another batch holds one of its events, a matched event brings
// children, the selection has its most ranges) its events are held one by one, as before.
import { eligibleStatuses, selects, type Batch, type SelectionCriteria, type SelectionRange } from '../domain/batch';
import type { EventStatus, UsageEvent } from '../domain/usage-event';
import {
  closedBeforeHeld,
  editsClosed,
  holdEvents,
  partitionsOf,
  selectedElsewhere,
  type HoldRefusal,
} from '../store/batch-members';
import { decodeCursor, encodeCursor } from '../store/cursor';
import { partitionEvents } from '../store/partition-rating';
import { getSelection, releaseSelections, selectionTakes, selectPartition } from '../store/selections';

/** Events one add reads across its partitions before it answers with a cursor. */
const READ_BUDGET = 20_000;

/** Types whose adds select partitions: those that take events as they are (REVERSE_REPLACE names originals). */
const SELECTING = new Set<Batch['type']>(['RATING', 'RERATE']);

/** Whether an add by these criteria holds partitions by selection. */
export function selectionApplies(
  batch: Batch,
  c: SelectionCriteria,
): c is SelectionCriteria & { subscriptionIds: string[] } {
  return (
    SELECTING.has(batch.type) &&
    (c.subscriptionIds?.length ?? 0) > 0 &&
    (c.status === undefined || eligibleStatuses(batch.type).includes(c.status))
  );
}

export interface SelectionAdd {
  added: number;
  matched: number;
  already: number;
  rejected: HoldRefusal[];
  /** Partitions held whole by selection, and events held one by one where a partition could not be. */
  selected: number;
  heldByEvent: number;
  nextCursor?: string;
}

const isPosition = (v: unknown): v is { p: number } =>
  typeof v === 'object' && v !== null && Number.isInteger((v as { p?: unknown }).p);

/** Held by another batch than `batch`. */
const heldByOther = (batch: Batch) => (e: UsageEvent) => e.heldBy !== undefined && e.heldBy !== batch.batchId;

/**
 * Holds what the criteria match, partition by partition from the cursor, until READ_BUDGET events
 * were read; `nextCursor` goes on. Each event counts once: added, already the batch's, or refused.
 */
export async function holdBySelection(
  batch: Batch,
  c: SelectionCriteria & { subscriptionIds: string[] },
  now: string,
  cursor?: string,
): Promise<SelectionAdd> {
  const statuses: readonly EventStatus[] = c.status ? [c.status] : eligibleStatuses(batch.type);
  const range: SelectionRange = {
    ...(c.from ? { from: c.from } : {}),
    ...(c.to ? { to: c.to } : {}),
    statuses,
    ...(c.productId ? { productId: c.productId } : {}),
  };
  const partitions = await partitionsOf(c);
  const out: SelectionAdd = { added: 0, matched: 0, already: 0, rejected: [], selected: 0, heldByEvent: 0 };
  let p = decodeCursor(cursor, isPosition)?.p ?? 0;
  let read = 0;
  for (; p < partitions.length && read < READ_BUDGET; p++) {
    const { subscriptionId, register } = partitions[p]!;
    const events = await partitionEvents(subscriptionId, register);
    read += events.length;
    // An event this batch holds by id stays its member that way; the selection takes the others.
    const matched = events.filter((e) => selects([range], e));
    if (matched.length === 0) continue;
    out.matched += matched.length;
    const before = await getSelection(batch.batchId, subscriptionId, register);
    // New to the batch: free, and not taken by its selection already (an event it holds by id is its member that way).
    const fresh = matched.filter((e) => e.heldBy === undefined && !(before && selectionTakes(before, e)));
    const foreign = matched.filter(heldByOther(batch));
    if (fresh.length === 0 && foreign.length === 0) {
      out.already += matched.length;
      continue;
    }
    const byEvent = async () => {
      const held = await holdEvents(
        batch,
        matched.map((e) => e.eventId),
        now,
      );
      out.added += held.added.length;
      out.already += held.already.length;
      out.rejected.push(...held.rejected);
      out.heldByEvent += held.added.length;
    };
    // Another batch holds one of its events, or a new one brings its children (which may sit
    // anywhere): the partition's events are held one by one, each refused or taken by its own condition.
    if ((!before && events.some(heldByOther(batch))) || fresh.some((e) => (e.childCount ?? 0) > 0)) {
      await byEvent();
      continue;
    }
    const outcome = await selectPartition(batch.batchId, subscriptionId, register, range, now);
    if (outcome === 'closed') {
      // A lock began: what was added stays (and is answered); the partitions after this one are not read.
      if (out.added === 0) throw editsClosed(batch);
      for (const e of fresh) out.rejected.push({ eventId: e.eventId, ...closedBeforeHeld('event') });
      return out;
    }
    if (outcome === 'full') {
      await byEvent();
      continue;
    }
    if (typeof outcome === 'object') {
      for (const e of matched) out.rejected.push({ eventId: e.eventId, ...selectedElsewhere(outcome.claimedBy) });
      continue;
    }
    // A hold by id that landed between the read and the claim: the partition is shared after all,
    // so the new selection is let go and its events are held one by one.
    if (!before && (await partitionEvents(subscriptionId, register)).some(heldByOther(batch))) {
      await releaseSelections(batch.batchId, [{ subscriptionId, register }], { status: 'DRAFT' });
      await byEvent();
      continue;
    }
    out.selected++;
    out.added += fresh.length;
    out.already += matched.length - fresh.length - foreign.length;
    for (const e of foreign) out.rejected.push({ eventId: e.eventId, code: 'EVENT_HELD_BY_OTHER_BATCH' });
  }
  return p < partitions.length ? { ...out, nextCursor: encodeCursor({ p }) } : out;
}
