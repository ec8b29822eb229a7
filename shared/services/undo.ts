// Undo of a completed batch: an UNDO batch holding exactly the events the original changed,
// locked (previewed), approved and submitted like any batch. Its plan is the inverse of the
// original's change sets (shared/domain/undo.ts); submit inserts the restored events first.
import { z } from 'zod';
import type { Batch } from '../domain/batch';
import { AR_POLICIES } from '../domain/batch';
import { DomainError } from '../domain/errors';
import { undoChanges, unchangedSince, type RestoredEvent } from '../domain/undo';
import { FUTURE_TOLERANCE_MS, type UsageEvent } from '../domain/usage-event';
import type { Subscription } from '../domain/subscription';
import { Instant } from '../domain/values';
import { appendLog } from '../store/batch-log';
import { holdForUndo } from '../store/batch-members';
import { listPartitions, partitionKey, type BatchPartition } from '../store/batch-partitions';
import { addCounts, createUndoBatch, getBatch, getMembers, requireBatch } from '../store/batches';
import { assignmentOf } from '../store/balance-group-moves';
import { getRegister, listGrants } from '../store/balances';
import { plannedChanges } from '../store/change-sets';
import { mapLimit } from '../store/concurrency';
import type { PlanWithState } from '../store/partition-rating';
import { getEvents, insertEvent, linkReplacement, newEventItem } from '../store/usage-events';
import { cancelBatch } from './batch-actions';
import type { PartitionWork } from './partition-work';

export const UndoInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    options: z
      .strictObject({
        arPolicy: z.enum(AR_POLICIES).optional(),
        effectiveAt: Instant.optional(),
        requireApproval: z.boolean().optional(),
      })
      .default({}),
  })
  .default({ options: {} });

/** Events an undo refusal names (the log and the message). */
const SAMPLE = 5;

/**
 * Creates the UNDO batch of a COMPLETED batch and holds every event the original changed, each
 * only if nothing changed it since (its revision is the one the original left) and no open batch
 * holds it. Refused: BATCH_NOT_UNDOABLE, BATCH_ALREADY_UNDONE, EVENTS_CHANGED_SINCE.
 */
export async function requestUndo(
  batchId: string,
  input: z.output<typeof UndoInput>,
  actor: string,
  now: string,
  retried = false,
): Promise<Batch> {
  const original = await requireBatch(batchId);
  const previous = original.undoneBy ? await getBatch(original.undoneBy) : undefined;
  // A cancelled undo changed nothing, and one that ended FAILED or COMPLETED_WITH_ERRORS applied
  // some partitions whole and none of the others: another may take its place, for what it left.
  // A DRAFT one is the answer to an earlier request for the same undo (one that may have stopped
  // midway): it is finished and answered again.
  const replacing =
    previous && ['CANCELLED', 'FAILED', 'COMPLETED_WITH_ERRORS'].includes(previous.status) ? previous : undefined;
  const resuming = previous?.status === 'DRAFT' ? previous : undefined;
  if (original.undoneBy && !replacing && !resuming) {
    throw new DomainError(
      'BATCH_ALREADY_UNDONE',
      previous?.status === 'COMPLETED'
        ? `batch ${batchId} is undone by batch ${original.undoneBy} (COMPLETED); to change it again, correct its events in a new batch`
        : `batch ${batchId} is undone by batch ${original.undoneBy} (${previous?.status ?? 'unknown'}); cancel that one to undo anew`,
    );
  }
  if (original.status !== 'COMPLETED') {
    throw new DomainError(
      'BATCH_NOT_UNDOABLE',
      `batch ${batchId} is ${original.status}: only a COMPLETED batch can be undone`,
    );
  }
  if (input.options.effectiveAt && Date.parse(input.options.effectiveAt) > Date.parse(now) + FUTURE_TOLERANCE_MS) {
    throw new DomainError('FUTURE_DATED', 'a correction cannot be effective in the future', [
      { path: 'body.options.effectiveAt', code: 'FUTURE_DATED', message: 'effectiveAt is in the future' },
    ]);
  }
  // The partitions an earlier undo applied (DONE: totals and every event) stay as it left them.
  const undoneAlready = new Set(
    replacing ? (await listPartitions(replacing.batchId)).filter((p) => p.state === 'DONE').map(partitionKey) : [],
  );
  const planned = (await plannedChanges(batchId)).filter((c) => !undoneAlready.has(partitionKey(c)));
  if (planned.some((c) => !c.withBefore)) {
    throw new DomainError(
      'BATCH_NOT_UNDOABLE',
      `batch ${batchId} was locked before undo existed: its preview did not record the ratings it replaced`,
    );
  }
  const changes = planned.flatMap((c) => c.changes);
  if (changes.length === 0 && undoneAlready.size > 0)
    throw new DomainError(
      'BATCH_ALREADY_UNDONE',
      `batch ${batchId} is undone by batch ${replacing!.batchId}, which applied every partition it changed`,
    );
  if (changes.length === 0)
    throw new DomainError('BATCH_NOT_UNDOABLE', `batch ${batchId} changed no event: there is nothing to undo`);
  const events = new Map((await getEvents(changes.map((c) => c.eventId))).map((e) => [e.eventId, e]));
  // A first look answers the common refusal without creating anything; the holds below are the guarantee.
  const moved = changes.filter((c) => {
    const e = events.get(c.eventId);
    return !e || !unchangedSince(c, e) || (e.heldBy !== undefined && e.heldBy !== resuming?.batchId);
  });
  if (moved.length > 0)
    throw changedSince(
      batchId,
      moved.map((c) => events.get(c.eventId) ?? c.eventId),
    );

  const undo =
    resuming ??
    (await createUndoBatch(
      original,
      {
        name: input.name ?? `Undo of ${original.name ?? original.batchId}`.slice(0, 200),
        ...(input.description ? { description: input.description } : {}),
        options: {
          arPolicy: input.options.arPolicy ?? original.options.arPolicy,
          creditOnly: false,
          ...(input.options.effectiveAt ? { effectiveAt: input.options.effectiveAt } : {}),
          requireApproval: input.options.requireApproval ?? original.options.requireApproval === true,
        },
      },
      actor,
      now,
      replacing?.batchId,
    ));
  if (!undo) {
    const again = await requireBatch(batchId);
    // A twin request created it first: this one helps it finish and answers the same.
    if (again.undoneBy && !retried && (await getBatch(again.undoneBy))?.status === 'DRAFT')
      return requestUndo(batchId, input, actor, now, true);
    throw again.undoneBy
      ? new DomainError('BATCH_ALREADY_UNDONE', `batch ${batchId} is undone by batch ${again.undoneBy}`)
      : new DomainError(
          'BATCH_NOT_UNDOABLE',
          `batch ${batchId} is ${again.status}: only a COMPLETED batch can be undone`,
        );
  }
  const held = await holdForUndo(
    undo,
    changes.map((c) => ({ event: events.get(c.eventId)!, rev: c.fromRev + 1 })),
    now,
  );
  if (held.refused.length > 0) {
    // Changed (or taken) between the look and the hold: the undo is given up, its holds released.
    await cancelBatch(undo.batchId, actor, now);
    throw changedSince(batchId, held.refused);
  }
  if (held.added > 0) await addCounts(undo.batchId, { events: held.added }, now, ['DRAFT']);
  if (!resuming) {
    await appendLog(undo.batchId, {
      at: now,
      actor,
      action: 'CREATE',
      message: `created UNDO batch of batch ${batchId}, holding the ${changes.length} event(s) it changed${
        undoneAlready.size > 0
          ? ` that undo ${replacing!.batchId} left (it applied ${undoneAlready.size} partition(s), kept as they are)`
          : ''
      }`,
      data: {
        undoes: batchId,
        events: changes.length,
        options: undo.options,
        ...(undoneAlready.size > 0 ? { finishes: replacing!.batchId, partitionsKept: [...undoneAlready] } : {}),
      },
    });
    await appendLog(batchId, {
      at: now,
      actor,
      action: 'UNDO_REQUESTED',
      message: `undo batch ${undo.batchId} created`,
      data: { undoneBy: undo.batchId },
    });
  }
  return requireBatch(undo.batchId);
}

function changedSince(batchId: string, moved: ReadonlyArray<UsageEvent | string>): DomainError {
  const named = moved
    .slice(0, SAMPLE)
    .map((e) =>
      typeof e === 'string'
        ? `${e} (gone)`
        : e.heldBy
          ? `${e.eventId} (held by batch ${e.heldBy})`
          : `${e.eventId} (changed by ${e.reversedBy ? `batch ${e.reversedBy}` : 'a later batch'})`,
    );
  return new DomainError(
    'EVENTS_CHANGED_SINCE',
    `batch ${batchId} cannot be undone: ${moved.length} event(s) it changed were changed or taken since: ${named.join(', ')}${moved.length > SAMPLE ? ', ...' : ''}`,
  );
}

/** An undo's plan for one partition: the inverse of what the original wrote there. */
export async function undoPartition(
  batch: Batch,
  sub: Subscription,
  p: BatchPartition,
  now: string,
): Promise<{ work: PartitionWork; plan: PlanWithState }> {
  const originalId = batch.undoes!;
  const originals = (await plannedChanges(originalId, p.subscriptionId))
    .filter((c) => c.register === p.register)
    .flatMap((c) => c.changes);
  const events = new Map((await getEvents(originals.map((c) => c.eventId))).map((e) => [e.eventId, e]));
  const { changes, restored } = undoChanges(originals, events, originalId, batch.batchId);
  const [grants, register, assignment, members] = await Promise.all([
    listGrants(p.subscriptionId, p.register),
    getRegister(p.subscriptionId, p.register),
    assignmentOf(sub),
    getMembers(
      batch.batchId,
      originals.map((c) => c.eventId),
    ),
  ]);
  const plan: PlanWithState = {
    subscriptionId: sub.subscriptionId,
    register: p.register,
    currency: sub.currency,
    changes,
    ratings: [],
    grantsDrawn: new Map(grants.map((g) => [g.grantId, g.drawn])),
    grantVersions: new Map(grants.map((g) => [g.grantId, g.version ?? 0])),
    consumed: register.consumed,
    redirected: new Set(),
    assignment,
  };
  const work: PartitionWork = {
    request: {
      subscriptionId: p.subscriptionId,
      register: p.register,
      toRate: [],
      stepId: `${batch.batchId}:preview`,
      actor: batch.createdBy,
      now,
      batchId: batch.batchId,
      heldBy: batch.batchId,
    },
    // An undo changes only what the original changed: no later event of the partition is held.
    events: [],
    members: new Map(members.map((m) => [m.eventId, m.role])),
    pending: restored.map((r) => ({ ...restoredEvent(r, batch, now), replaces: r.restores.eventId })),
    // Submit inserts and links the restored events before the chunks (insertRestoredEvents).
    replacedBy: new Map(),
    claimed: false,
    selected: new Set(),
    unheldMembers: new Set(),
  };
  return { work, plan };
}

const restoredEvent = (r: RestoredEvent, batch: Batch, now: string): UsageEvent => ({
  eventId: r.eventId,
  subscriptionId: r.restores.subscriptionId,
  productId: r.restores.productId,
  register: r.restores.register,
  quantity: r.restores.quantity,
  occurredAt: r.restores.occurredAt,
  attributes: r.restores.attributes,
  ...(r.parentEventId ? { parentEventId: r.parentEventId } : {}),
  status: 'LOADED',
  ratingRev: 0,
  heldBy: batch.batchId,
  createdAt: now,
});

const INSERTS_AT_ONCE = 16;

/**
 * Submit of an undo, before any partition: inserts the restored events (held by the undo, rated by
 * its change set), parents before their children, and links each reversed event to its restored
 * one. Resumable: `from` is the position reached in the restored events (parents first), and at
 * least one group is inserted per call, then as many as the time budget allows. Idempotent: an
 * event already inserted is skipped.
 */
export async function insertRestoredEvents(
  batch: Batch,
  now: () => string,
  from: number,
  deadline: number,
): Promise<{ next: number; done: boolean }> {
  const originalId = batch.undoes!;
  const originals = (await plannedChanges(originalId)).flatMap((c) => c.changes);
  const events = new Map((await getEvents(originals.map((c) => c.eventId))).map((e) => [e.eventId, e]));
  const { restored } = undoChanges(originals, events, originalId, batch.batchId);
  const byId = new Map(restored.map((r) => [r.eventId, r]));
  const depth = (r: RestoredEvent, seen = 0): number => {
    const parent = r.parentEventId ? byId.get(r.parentEventId) : undefined;
    return parent && seen < 3 ? 1 + depth(parent, seen + 1) : 0;
  };
  const ordered = restored
    .map((r) => ({ r, depth: depth(r) }))
    .sort((a, b) => a.depth - b.depth || (a.r.eventId < b.r.eventId ? -1 : 1));
  let next = from;
  do {
    if (next >= ordered.length) break;
    // A group never mixes depths: a child is inserted only once its parent is.
    const level = ordered[next]!.depth;
    let end = next;
    while (end < ordered.length && end - next < INSERTS_AT_ONCE && ordered[end]!.depth === level) end++;
    await mapLimit(ordered.slice(next, end), INSERTS_AT_ONCE, async ({ r }) => {
      const e = restoredEvent(r, batch, now());
      const item = newEventItem(e, e.register, now(), {
        replaces: r.restores.eventId,
        restores: r.restores.eventId,
        heldBy: batch.batchId,
        insertedByBatch: batch.batchId,
      });
      await insertEvent(item, e.parentEventId);
      await linkReplacement(r.restores.eventId, r.eventId);
    });
    next = end;
  } while (Date.now() < deadline);
  return { next, done: next >= ordered.length };
}
