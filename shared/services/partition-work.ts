// What a batch does to one partition: the events lock plans from, and the replacements submit
// inserts before it writes the change set lock stored.
import { parsePoint } from '../domain/rating';
import type { Batch, PendingReplacement } from '../domain/batch';
import type { PartitionPlan } from '../domain/partition-plan';
import { indexedViaFor, type NewUsageEvent, type UsageEvent } from '../domain/usage-event';
import { pendingReplacements, replacementsOf } from '../store/batch-members';
import type { BatchPartition, PartitionPreview } from '../store/batch-partitions';
import { subscriptionsWithReplacementsInChunks, type PlannedEventChange } from '../store/change-sets';
import { getMembers } from '../store/batches';
import { mapLimit } from '../store/concurrency';
import { eventsFrom, type RatePartitionRequest } from '../store/partition-rating';
import { getSelection, selectionTakes } from '../store/selections';
import { getEvents, insertEvent, linkReplacement, newEventItem } from '../store/usage-events';

export interface PartitionWork {
  request: RatePartitionRequest;
  /** Events of the partition from its earliest point on. */
  events: UsageEvent[];
  /** Events this batch holds there, by role. */
  members: Map<string, string>;
  pending: Array<UsageEvent & { replaces: string }>;
  /** REVERSE_REPLACE: the replacements of each original the batch reverses here. */
  replacedBy: Map<string, string[]>;
  /** The batch selected the partition whole: no other batch holds any of its events. */
  claimed: boolean;
  /** The members its selection takes (no member item; not held). */
  selected: Set<string>;
  /** Members with a member item but no hold: originals of a partition the batch claims. */
  unheldMembers: Set<string>;
}

export async function partitionWork(
  batch: Batch,
  p: BatchPartition,
  actor: string,
  now: string,
  stage: string,
): Promise<PartitionWork> {
  const from = parsePoint(p.earliest);
  const [events, selection] = await Promise.all([
    eventsFrom(p.subscriptionId, p.register, from),
    getSelection(batch.batchId, p.subscriptionId, p.register),
  ]);
  // In a partition it claims, a REVERSE_REPLACE batch's originals have member items and no hold.
  const claimedOriginals = selection && batch.type === 'REVERSE_REPLACE';
  const heldMembers = await getMembers(
    batch.batchId,
    events
      .filter((e) => e.heldBy === batch.batchId || (claimedOriginals && e.heldBy === undefined))
      .map((e) => e.eventId),
  );
  const members = new Map(heldMembers.map((m) => [m.eventId, m.role]));
  const unheldMembers = new Set(
    events.filter((e) => e.heldBy === undefined && members.has(e.eventId)).map((e) => e.eventId),
  );
  // The batch's own events are its members; a held event without a member item is a replacement
  // this batch inserted (an earlier attempt got that far), to be rated, never reversed.
  const selected = selection
    ? events.filter((e) => e.heldBy === undefined && !members.has(e.eventId) && selectionTakes(selection, e))
    : [];
  for (const e of selected) members.set(e.eventId, 'MEMBER');
  const own = [
    ...events.filter(
      (e) =>
        (e.heldBy === batch.batchId || unheldMembers.has(e.eventId)) &&
        (members.get(e.eventId) === 'MEMBER' || members.get(e.eventId) === 'CHILD'),
    ),
    ...selected,
  ];
  const byId = new Map(events.map((e) => [e.eventId, e]));
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
          ...placed(r, byId.get(r.replaces)),
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
  const replacedBy = new Map(
    heldMembers.filter((m) => m.role === 'MEMBER' && m.replacements?.length).map((m) => [m.eventId, m.replacements!]),
  );
  return {
    request,
    events,
    members,
    pending,
    replacedBy,
    claimed: selection !== undefined,
    selected: new Set(selected.map((e) => e.eventId)),
    unheldMembers,
  };
}

/**
 * What a REVERSE_REPLACE chunk writes besides a change's rating: a replacement without a parent is
 * inserted with it (one with a parent is inserted by submit's InsertReplacements step, in the same
 * write that counts it on its parent), and a reversed original is named its replacements.
 */
export function replacementWrites(
  work: Pick<PartitionWork, 'pending' | 'replacedBy'>,
): (change: { eventId: string; status: string }) => Pick<PlannedEventChange, 'insert' | 'replacedBy'> {
  const pending = new Map(work.pending.map((e) => [e.eventId, e]));
  return (change) => {
    const r = pending.get(change.eventId);
    const replacedBy = change.status === 'REVERSED' ? work.replacedBy.get(change.eventId) : undefined;
    return {
      // The partition's own members with replacements: an original here, reversed by this partition.
      ...(r && insertedByItsChunk(r, work.replacedBy.has(r.replaces))
        ? {
            insert: {
              productId: r.productId,
              quantity: r.quantity,
              occurredAt: r.occurredAt,
              ...(Object.keys(r.attributes).length > 0 ? { attributes: r.attributes } : {}),
              replaces: r.replaces,
              ...(r.indexedVia ? { indexedVia: r.indexedVia } : {}),
            },
          }
        : {}),
      ...(replacedBy ? { replacedBy } : {}),
    };
  };
}

/**
 * Whether a replacement's chunk inserts it (rated, in the chunk's transaction) rather than
 * InsertReplacements before the chunks: only one without a parent whose original is in the same
 * partition. A partition is applied or refused PREVIEW_STALE as a whole, so there the original's
 * reversal and its replacement land together; a replacement of another partition is inserted
 * beforehand, held, since the original's partition may be applied while its own is refused, and
 * an original must never name a replacement that does not exist (the next batch rates it).
 */
export const insertedByItsChunk = (r: Pick<PendingReplacement, 'parentEventId'>, originalHere: boolean): boolean =>
  !r.parentEventId && originalHere;

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
 * each original to its replacements, where the chunks do not: a change set locked since its chunks
 * insert its replacements without a parent (already rated) and name each original's replacements
 * when they reverse it, so those cost this step no write. A replacement child names its original
 * parent and attaches to that parent's replacement, so children wait for a later pass than their
 * parent, and a parent replacement the chunks would insert is inserted here first, held (its chunk
 * then rates it in place). Idempotent: an event this batch already inserted is skipped.
 */
export async function insertReplacementPage(
  batch: Batch,
  pending: readonly PendingReplacement[],
  pass: number,
  now: string,
  /** Replacements known (from their original's member item) to share their original's partition. */
  knownHere: ReadonlySet<string> = new Set(),
): Promise<number> {
  let inserted = 0;
  const parents = [...new Set(pending.map((p) => p.parentEventId).filter((x): x is string => !!x))];
  const parentMembers = new Map((await getMembers(batch.batchId, parents)).map((m) => [m.eventId, m]));
  const parentReplacementOf = (e: PendingReplacement) =>
    e.parentEventId ? parentMembers.get(e.parentEventId)?.replacements?.[0] : undefined;
  const depthOf = (e: PendingReplacement, seen = 0): number => {
    const parentReplacement = parentReplacementOf(e);
    const parent = parentReplacement ? pending.find((p) => p.eventId === parentReplacement) : undefined;
    return parentReplacement ? 1 + (parent && seen < REPLACEMENT_PASSES ? depthOf(parent, seen + 1) : 0) : 0;
  };
  // Events of one pass do not depend on each other (a child waits for a later pass than its
  // parent): they are inserted together.
  const inPass = pending.filter((e) => Math.min(depthOf(e), REPLACEMENT_PASSES - 1) === pass);
  // One its chunk inserts, known to share its original's partition, needs nothing read or written
  // here (most of a REVERSE_REPLACE batch): the rest go on as below.
  const byTheirChunks = inPass.filter((e) => knownHere.has(e.eventId) && insertedByItsChunk(e, true));
  const chunksInsertKnown = await subscriptionsWithReplacementsInChunks(
    batch.batchId,
    byTheirChunks.map((e) => e.subscriptionId),
  );
  const skipped = new Set(byTheirChunks.filter((e) => chunksInsertKnown.has(e.subscriptionId)));
  const thisPass = inPass.filter((e) => !skipped.has(e));
  // A retry does only what earlier attempts left undone: a replacement already inserted and
  // linked to its original costs no write, so each attempt has less to do than the one before
  // (re-sending every write made each retry as likely to meet a failure as the first).
  const stored = new Map(
    (await getEvents(thisPass.flatMap((e) => [e.eventId, e.replaces, parentReplacementOf(e) ?? e.eventId]))).map(
      (e) => [e.eventId, e],
    ),
  );
  // Which change sets insert and link in their chunks, read once for the replacements' subscriptions
  // and their originals'.
  const inChunks = await subscriptionsWithReplacementsInChunks(
    batch.batchId,
    thisPass.flatMap((e) => [e.subscriptionId, stored.get(e.replaces)?.subscriptionId ?? e.subscriptionId]),
  );
  const originalHere = (e: PendingReplacement) => {
    const original = stored.get(e.replaces);
    return original?.subscriptionId === e.subscriptionId && original.register === e.register;
  };
  // What the chunks insert is left to them (the same rule lock applied); a child is inserted here,
  // in the write that counts it on its parent (which may sit in a chunk applied later: chunks go
  // in any order), and so is a replacement of another partition than its original's.
  const mine = thisPass.filter((e) => !(inChunks.has(e.subscriptionId) && insertedByItsChunk(e, originalHere(e))));
  const linked = (e: PendingReplacement) => {
    const original = stored.get(e.replaces);
    // Its original's chunk names it in the write that reverses it.
    if (original && inChunks.has(original.subscriptionId)) return true;
    return original?.replacedBy?.includes(e.eventId) === true;
  };
  const todo = mine.filter((e) => !(stored.has(e.eventId) && linked(e)));
  const missingParents = new Set(
    todo
      .filter((e) => !stored.has(e.eventId))
      .map(parentReplacementOf)
      .filter((id): id is string => id !== undefined && !stored.has(id)),
  );
  if (missingParents.size > 0) {
    const found = (await replacementsOf(batch.batchId, [...parentMembers.values()])).filter(
      (r) => missingParents.has(r.eventId) && !r.parentEventId,
    );
    // Listed through its original if its chunk will write it so (the same rule lock applied).
    const originals = new Map((await getEvents(found.map((r) => r.replaces))).map((e) => [e.eventId, e]));
    await mapLimit(found, INSERTS_AT_ONCE, async (r) => {
      await insertEvent(heldReplacement(batch, r, { ...r, ...placed(r, originals.get(r.replaces)) }, now), undefined);
    });
  }
  await mapLimit(todo, INSERTS_AT_ONCE, async (e) => {
    const parent = parentReplacementOf(e);
    const event = { ...e, ...(parent ? { parentEventId: parent } : {}) };
    if (!stored.has(e.eventId) && (await insertEvent(heldReplacement(batch, e, event, now), event.parentEventId)))
      inserted++;
    if (!linked(e)) await linkReplacement(e.replaces, e.eventId);
  });
  return inserted;
}

/** Where a replacement is listed: through its original when it can be (indexedViaFor), else by its own entries. */
function placed(r: PendingReplacement, original: UsageEvent | undefined): { indexedVia?: string } {
  const via = indexedViaFor(r, original);
  return via ? { indexedVia: via } : {};
}

/** A replacement inserted before the chunks, held by the batch until its chunk rates it. */
const heldReplacement = (
  batch: Batch,
  r: PendingReplacement,
  event: NewUsageEvent & { indexedVia?: string },
  now: string,
) =>
  newEventItem(event, r.register, now, { replaces: r.replaces, heldBy: batch.batchId, insertedByBatch: batch.batchId });

const INSERTS_AT_ONCE = 16;

export type { PendingReplacement };
