// Over 350 lines: one resumable workflow (shards, per-partition apply, finalize) whose steps share
// the fence and progress types.
// Submit: split the batch's partitions into at most MAX_SHARDS shards, process each shard's
// partitions in chunks (each partition sequentially, in rating order), then finalize.
// A failing partition fails its own events only; the batch ends COMPLETED_WITH_ERRORS.
import { parsePoint } from '../domain/rating';
import { FINISHED, type Batch } from '../domain/batch';
import { DomainError, type ErrorCode } from '../domain/errors';
import { formatMoney } from '../domain/decimal';
import {
  listPartitions,
  partitionKey,
  savePartitionDone,
  savePartitionsFailed,
  type BatchPartition,
} from '../store/batch-partitions';
import { getPlan, listMembers, requireBatch, savePlan, setMemberState, transitionBatch } from '../store/batches';
import { mapLimit } from '../store/concurrency';
import { isTransient } from '../store/errors';
import { eventsFrom } from '../store/partition-rating';
import type { BatchStage } from '../store/batches';
import { assignmentOf } from '../store/balance-group-moves';
import { applyEventChunk, applyTotals, getChangeSet, listChangeSets, markStale } from '../store/change-sets';
import { requireSubscription } from '../store/subscriptions';
import { getEvents } from '../store/usage-events';
import { insertReplacementPage, REPLACEMENT_PASSES } from './partition-work';
import { pendingReplacementPage, releaseHeldEvent } from '../store/batch-members';
import type { BatchMember } from '../domain/batch';
import { logger } from '../logger';
import { insertRestoredEvents } from './undo';
import { selectionCounts } from './members';
import { listSelections, releaseSelections } from '../store/selections';

/**
 * The submit Map's MaxConcurrency: shards run in parallel, each looping over its chunks. More
 * shards than run at once would only add state transitions (three per shard at least).
 */
export const MAX_SHARDS = 10;

const RELEASES_AT_ONCE = 16;

export interface ShardStep {
  batchId: string;
  actor: string;
  shard: number;
  /** Index (in the shard's own order) of the next partition to process. */
  cursor: number;
  done?: boolean;
}

export interface ReplacementStep {
  batchId: string;
  actor: string;
  pass: number;
  cursor: string | null;
  done?: boolean;
}

export async function planSubmit(
  batchId: string,
  actor: string,
  now: string,
): Promise<{ batchId: string; actor: string; replacements: ReplacementStep; shards: ShardStep[] }> {
  const batch = await requireBatch(batchId);
  if (batch.status !== 'PROCESSING')
    throw new DomainError('INVALID_TRANSITION', `batch ${batchId} is ${batch.status}, not PROCESSING`);
  const partitions = (await listPartitions(batchId)).filter((p) => p.state !== 'ERROR');
  const planned = Math.max(1, Math.min(MAX_SHARDS, partitions.length));
  // The first plan saved is the one in force (a retry gets it back), logged with it once.
  const { shards } = await savePlan(
    batchId,
    { shards: planned, partitions: partitions.length },
    {
      at: now,
      actor,
      action: 'SUBMIT_STARTED',
      message: `processing ${partitions.length} partition(s) in ${planned} shard(s)`,
      data: { shards: planned, partitions: partitions.length },
    },
  );
  return {
    batchId,
    actor,
    replacements: { batchId, actor, pass: 0, cursor: null },
    shards: Array.from({ length: shards }, (_, shard) => ({ batchId, actor, shard, cursor: 0 })),
  };
}

const REPLACEMENT_PAGE = 200;

/**
 * Inserts the batch's replacement events before any partition is processed: a replacement may sit
 * in another partition (another shard) than the original and its parent, so all exist first.
 */
export async function insertReplacementsStep(
  step: ReplacementStep,
  now: () => string,
  deadline: number,
): Promise<ReplacementStep> {
  const batch = await requireBatch(step.batchId);
  if (batch.status !== 'PROCESSING')
    throw new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} is ${batch.status}, not PROCESSING`);
  if (batch.type === 'UNDO') {
    // An undo inserts restored events instead of replacements; the cursor is its position in them.
    const r = await insertRestoredEvents(batch, now, Number(step.cursor ?? 0), deadline);
    return { ...step, pass: r.done ? REPLACEMENT_PASSES : 0, cursor: r.done ? null : String(r.next), done: r.done };
  }
  let { pass, cursor } = step;
  do {
    const page = await pendingReplacementPage(batch.batchId, REPLACEMENT_PAGE, cursor ?? undefined);
    await insertReplacementPage(batch, page.items, pass, now(), page.originalHere);
    cursor = page.nextCursor ?? null;
    if (!cursor) {
      pass++;
      if (pass >= REPLACEMENT_PASSES) return { ...step, pass, cursor: null, done: true };
    }
  } while (Date.now() < deadline);
  return { ...step, pass, cursor, done: false };
}

/** A shard's subscriptions: every `shards`-th one in key order, so shards never overlap. */
async function shardSubscriptions(
  batchId: string,
  shard: number,
): Promise<Array<{ subscriptionId: string; partitions: BatchPartition[] }>> {
  const { shards } = await getPlan(batchId);
  const all = (await listPartitions(batchId))
    .filter((p) => p.state !== 'ERROR')
    .sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1));
  const subs = [...new Set(all.map((p) => p.subscriptionId))].sort();
  return subs
    .filter((_, i) => i % shards === shard)
    .map((subscriptionId) => ({ subscriptionId, partitions: all.filter((p) => p.subscriptionId === subscriptionId) }));
}

export async function processShardChunk(step: ShardStep, now: () => string, deadline: number): Promise<ShardStep> {
  const batch = await requireBatch(step.batchId);
  if (batch.status !== 'PROCESSING')
    throw new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} is ${batch.status}, not PROCESSING`);
  const mine = await shardSubscriptions(batch.batchId, step.shard);
  let cursor = step.cursor;
  // One chunk at least, then as many as the time budget allows. A subscription whose chunks
  // outlast the budget keeps the cursor: the next invocation goes on from its first chunk not
  // applied, so no partition has to fit in one invocation.
  do {
    const s = mine[cursor];
    if (
      s?.partitions.some((p) => p.state !== 'DONE' && p.state !== 'FAILED') &&
      (await processSubscription(batch, s.subscriptionId, s.partitions, step.actor, now, deadline)) === 'more'
    )
      return { ...step, cursor, done: false };
    cursor++;
  } while (cursor < mine.length && Date.now() < deadline);
  return { ...step, cursor, done: cursor >= mine.length };
}

const PROCESSING: BatchStage = { status: 'PROCESSING' };

/**
 * Writes the change set lock stored for a subscription, never planning again: the totals first,
 * in one transaction conditional on every version the plan read, then the event chunks (each
 * once, in any order). Inputs that moved since lock: nothing is written, the members get
 * PREVIEW_STALE.
 */
async function processSubscription(
  batch: Batch,
  subscriptionId: string,
  partitions: BatchPartition[],
  actor: string,
  now: () => string,
  deadline: number,
): Promise<'done' | 'more'> {
  let appliedHere = 0;
  try {
    const cs = await getChangeSet(batch.batchId, subscriptionId);
    if (!cs)
      throw new DomainError(
        'INTERNAL',
        `batch ${batch.batchId} has no change set for subscription ${subscriptionId}; lock again`,
      );
    let stale = cs.state === 'STALE' ? (cs.staleReason ?? 'inputs changed after lock') : undefined;
    if (cs.state === 'READY') {
      const sub = await requireSubscription(subscriptionId);
      const assignment = await assignmentOf(sub);
      if (assignment.billUnitId !== cs.billUnitId) stale = 'the bill unit (a balance-group move) changed after lock';
      else {
        const outcome = await applyTotals(batch.batchId, cs, {
          actor,
          now: now(),
          stage: PROCESSING,
          billUnitGuard: assignment.guard,
        });
        if (!outcome.applied && 'stale' in outcome) stale = outcome.stale;
      }
      if (stale) await markStale(batch.batchId, subscriptionId, stale);
    }
    if (stale) {
      const message = `not applied: ${stale}; nothing of subscription ${subscriptionId} was written. Lock again (revert is not possible once submitted: put the events in a new batch) to see the new preview`;
      await savePartitionsFailed(
        batch.batchId,
        PROCESSING,
        partitions.map((p) => ({
          ...p,
          state: 'FAILED',
          errorCode: 'PREVIEW_STALE',
          errorMessage: message.slice(0, 500),
        })),
        `PARTITION_FAILED#${subscriptionId}`,
        {
          at: now(),
          actor,
          action: 'PARTITION_FAILED',
          message: `subscription ${subscriptionId}: ${message}`,
          data: { code: 'PREVIEW_STALE' },
        },
      );
      return 'done';
    }
    for (const p of partitions) {
      if (p.state === 'DONE') continue;
      const chunks = cs.chunks.find((c) => c.register === p.register)?.count ?? 0;
      let changed = 0;
      for (let n = 0; n < chunks; n++) {
        // Past the budget with a chunk applied here: stop; the chunks applied are marked.
        if (appliedHere > 0 && Date.now() >= deadline) return 'more';
        const r = await applyEventChunk(batch.batchId, cs, p.register, n, {
          now: now(),
          actor,
          stage: PROCESSING,
        });
        changed += r.changed;
        if (r.applied) appliedHere++;
      }
      const released = await releasePartition(batch.batchId, p);
      // What the preview said it changes is what it wrote (a retry's own count misses the chunks written before).
      const processed = p.preview?.changedEvents ?? changed;
      await savePartitionDone(batch.batchId, { ...p, processed }, processed, now());
      logger.info('partition processed', { batchId: batch.batchId, partition: partitionKey(p), changed, released });
    }
  } catch (err) {
    // Throttling and the like go back to the workflow's Retry; only real failures fail a partition.
    // A batch no longer PROCESSING means this attempt outlived its stage: it records nothing.
    if (isTransient(err) || (err instanceof DomainError && err.code === 'INVALID_TRANSITION')) throw err;
    const code = err instanceof DomainError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    logger.error('subscription failed', { batchId: batch.batchId, subscriptionId, code, error: err as Error });
    await savePartitionsFailed(
      batch.batchId,
      PROCESSING,
      partitions
        .filter((p) => p.state !== 'DONE')
        .map((p) => ({ ...p, state: 'FAILED', errorCode: code, errorMessage: message.slice(0, 500) })),
      `PARTITION_FAILED#${subscriptionId}`,
      {
        at: now(),
        actor,
        action: 'PARTITION_FAILED',
        message: `subscription ${subscriptionId} failed: ${message}`,
        data: { code },
      },
    );
  }
  return 'done';
}

/** Releases what the batch still holds in a partition (events the rating left unchanged). */
async function releasePartition(batchId: string, p: BatchPartition): Promise<number> {
  const events = await eventsFrom(p.subscriptionId, p.register, parsePoint(p.earliest));
  return releaseEvents(
    batchId,
    events.filter((e) => e.heldBy === batchId).map((e) => e.eventId),
  );
}

async function releaseEvents(batchId: string, eventIds: readonly string[]): Promise<number> {
  let released = 0;
  // Each release is its own conditional write on its own event: they go out together.
  await mapLimit(eventIds, RELEASES_AT_ONCE, async (eventId) => {
    if (await releaseHeldEvent(batchId, eventId)) released++;
  });
  return released;
}

export interface FinishStep {
  batchId: string;
  actor: string;
  /** The next page of members to settle; null: the first. */
  cursor: string | null;
  /** What the pages before `cursor` counted (a retried page counts from here again, so counts stay exact). */
  counts: Batch['counts'] | null;
  done?: boolean;
}

/** Members settled per unit of work: a unit that fails loses this much at most, and a retry skips what it settled. */
const FINISH_PAGE = 25;

const noCounts = (): Batch['counts'] => ({ events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 });

/**
 * Counts the outcome, marks the members of failed partitions, releases every hold left, a page of
 * members at a time from the step's cursor (as many pages as the time budget allows), then ends
 * the batch: however large the batch and whatever faults retry a page, no invocation runs out of
 * time and the retries of one page never add up to the whole batch's.
 */
export async function finishSubmit(
  step: FinishStep,
  now: () => string,
  deadline: number,
  failure?: { code: ErrorCode; message: string },
): Promise<FinishStep> {
  const { batchId } = step;
  const batch = await requireBatch(batchId);
  // PROCESSING ends once: an attempt retried after its own move applied (answer lost, or timed out) has nothing left to do.
  if (FINISHED.has(batch.status)) return { ...step, cursor: null, done: true };
  if (batch.status !== 'PROCESSING')
    throw new DomainError('INVALID_TRANSITION', `batch ${batchId} is ${batch.status}, not PROCESSING`);
  const partitions = await listPartitions(batchId);
  const failed = new Map(
    partitions.filter((p) => p.state === 'FAILED' || (failure && p.state !== 'DONE')).map((p) => [partitionKey(p), p]),
  );
  // A partition done released every hold of the batch from its earliest point on (releasePartition).
  const released = new Set(
    partitions.filter((p) => p.state === 'DONE' && !failed.has(partitionKey(p))).map(partitionKey),
  );
  let cursor = step.cursor;
  let counts = step.counts ?? noCounts();
  do {
    const page = await listMembers(batchId, {}, FINISH_PAGE, cursor ?? undefined);
    counts = await settleMembers(batchId, page.items, failed, released, counts, failure);
    cursor = page.nextCursor ?? null;
    if (!cursor) {
      counts = await settleSelections(batchId, failed, counts);
      await endSubmit(batchId, step.actor, now(), partitions, failed, counts, failure);
      return { ...step, cursor: null, counts, done: true };
    }
  } while (Date.now() < deadline);
  return { ...step, cursor, counts, done: false };
}

/** One page: marks the members of failed partitions FAILED, releases what is still held, and counts. */
async function settleMembers(
  batchId: string,
  members: readonly BatchMember[],
  failed: ReadonlyMap<string, BatchPartition>,
  released: ReadonlySet<string>,
  before: Batch['counts'],
  failure?: { code: ErrorCode; message: string },
): Promise<Batch['counts']> {
  const counts = { ...before };
  // Only a member that may still be held is read: one its partition's release did not cover (an
  // error at lock is not in the partition's earliest point, a failed partition released nothing).
  const mayBeHeld = members.filter((m) => m.state === 'ERROR' || !released.has(partitionKey(m)));
  const events = new Map((await getEvents(mayBeHeld.map((m) => m.eventId))).map((e) => [e.eventId, e]));
  for (const m of members) {
    if (m.role === 'RELATED' || m.relatedReason) counts.related++;
    else counts.events++;
    const bad = failed.get(`${m.subscriptionId}#${m.register}`);
    if (bad && m.state !== 'FAILED') {
      await setMemberState(batchId, m.eventId, 'FAILED', PROCESSING, {
        code: failure?.code ?? bad.errorCode ?? 'INTERNAL',
        message: failure?.message ?? bad.errorMessage ?? 'partition failed',
      });
    }
    if (bad || m.state === 'ERROR') counts.errored++;
    else counts.processed++;
  }
  await releaseEvents(
    batchId,
    members.filter((m) => events.get(m.eventId)?.heldBy === batchId).map((m) => m.eventId),
  );
  return counts;
}

/**
 * Counts the members of the partitions the batch selected whole, by their partition's outcome,
 * and lets their claims go (the selections stay as the batch's record). Their events were never
 * held: nothing else to release.
 */
async function settleSelections(
  batchId: string,
  failed: ReadonlyMap<string, BatchPartition>,
  before: Batch['counts'],
): Promise<Batch['counts']> {
  const selected = await selectionCounts(batchId, (sel) => failed.has(partitionKey(sel)));
  await releaseSelections(batchId, await listSelections(batchId), PROCESSING, true);
  return {
    ...before,
    events: before.events + selected.events,
    related: before.related + selected.related,
    errored: before.errored + selected.errored,
    processed: before.processed + selected.processed,
  };
}

/** PROCESSING → the outcome, with its counts, exact progress and audit entry in one write. */
async function endSubmit(
  batchId: string,
  actor: string,
  now: string,
  partitions: readonly BatchPartition[],
  failed: ReadonlyMap<string, BatchPartition>,
  counts: Batch['counts'],
  failure?: { code: ErrorCode; message: string },
): Promise<void> {
  const done = partitions.filter((p) => p.state === 'DONE').length;
  const status =
    failure || (failed.size > 0 && done === 0) ? 'FAILED' : failed.size > 0 ? 'COMPLETED_WITH_ERRORS' : 'COMPLETED';
  const stale = [...failed.values()].filter((p) => p.errorCode === 'PREVIEW_STALE');
  const staleError =
    stale.length > 0 && !failure
      ? {
          code: 'PREVIEW_STALE' as const,
          message:
            `${stale.length} partition(s) not applied because what the preview read changed after lock (${stale[0]!.errorMessage ?? ''}); put their events in a new batch and lock it to see the new preview`.slice(
              0,
              1000,
            ),
        }
      : undefined;
  const lastError = failure ?? staleError;
  // Progress as it ended, whatever retries added meanwhile: the events the previews of the applied
  // partitions change, out of those of every planned partition (a preview is what submit writes).
  const changes = (p: BatchPartition) => p.preview?.changedEvents ?? 0;
  const progress = {
    done: partitions.filter((p) => p.state === 'DONE').reduce((s, p) => s + changes(p), 0),
    total: partitions.filter((p) => p.preview).reduce((s, p) => s + changes(p), 0),
  };
  // Change sets are applied only while PROCESSING: what is applied now is what the batch did.
  const applied = (await listChangeSets(batchId)).filter((c) => c.state === 'APPLIED');
  const delta = applied.reduce((s, c) => s + c.chargeDelta, 0n);
  const currency =
    applied[0]?.currency ??
    (partitions[0] ? (await requireSubscription(partitions[0].subscriptionId)).currency : 'USD');
  await transitionBatch(batchId, ['PROCESSING'], status, now, {
    counts,
    progress,
    ...(lastError ? { lastError: { ...lastError, at: now } } : {}),
    log: {
      at: now,
      actor,
      action: status,
      message: `${status.toLowerCase().replace(/_/g, ' ')}: ${done} partition(s) done, ${failed.size} failed`,
      data: {
        counts,
        failed: [...failed.values()].map((p) => ({ partition: partitionKey(p), code: p.errorCode })),
        previewChargeDelta: formatMoney(delta, currency),
      },
    },
  });
}
