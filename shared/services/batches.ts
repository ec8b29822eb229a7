// Batch operations the API and the CSV imports offer: create, add (ids, criteria, replacements),
// remove, and read. Every change is logged to the batch log with its actor and counts.
import {
  criteriaRefusal,
  eligibleStatuses,
  matchesRule,
  MAX_ADD_PER_CALL,
  optionsRefusal,
  type RemoveRequest,
  type Batch,
  type BatchMember,
  type NewBatch,
  type SelectionCriteria,
} from '../domain/batch';
import { DomainError } from '../domain/errors';
import { FUTURE_TOLERANCE_MS } from '../domain/usage-event';
import { appendLog } from '../store/batch-log';
import {
  holdReplacements,
  holdEvents,
  releaseMembers,
  selectEvents,
  type ReplacementRequest,
} from '../store/batch-members';
import { addCounts, allMembers, batchFor, createBatch, resetCounts, type BatchStage } from '../store/batches';
import type { z } from 'zod';
import { prepareReplacements } from './replacements';
import { holdBySelection, selectionApplies } from './selection-holds';
import { allSelectionMembers } from './members';
import { claimForOriginals, MAX_CLAIM_READ } from './replacement-claims';
import { partitionKey } from '../store/batch-partitions';
import { confirmedClaimPartitions, releaseEmptiedClaim } from '../store/claims-for-originals';
import { excludeFromSelection, listSelections, releaseSelections } from '../store/selections';

export async function openBatch(input: NewBatch, actor: string, now: string): Promise<Batch> {
  const refusal = optionsRefusal(input.type, input.options);
  if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.options', ...refusal }]);
  if (input.options.effectiveAt && Date.parse(input.options.effectiveAt) > Date.parse(now) + FUTURE_TOLERANCE_MS) {
    throw new DomainError('FUTURE_DATED', 'a correction cannot be effective in the future', [
      { path: 'body.options.effectiveAt', code: 'FUTURE_DATED', message: 'effectiveAt is in the future' },
    ]);
  }
  const batch = await createBatch(input, actor, now);
  await appendLog(batch.batchId, {
    at: now,
    actor,
    action: 'CREATE',
    message: `created ${batch.type} batch`,
    data: { options: batch.options },
  });
  return batch;
}

/** How many rejections a log entry lists; the API answer lists them all. */
const LOG_SAMPLE = 20;

export async function addEventIds(
  batchId: string,
  eventIds: readonly string[],
  actor: string,
  now: string,
  source = 'ids',
) {
  const batch = await batchFor(batchId, 'ADD_EVENTS');
  const held = await holdEvents(batch, eventIds, now);
  // `already` counts the requested ids the batch held before (children are counted in `added`).
  const requested = new Set(eventIds);
  await addCounts(batchId, { events: held.added.length }, now, ['DRAFT']);
  await appendLog(batchId, {
    at: now,
    actor,
    action: 'ADD_EVENTS',
    message: `added ${held.added.length} event(s) by ${source}, ${held.rejected.length} rejected`,
    data: {
      source,
      added: held.added.length,
      already: held.already.length,
      rejected: held.rejected.length,
      sample: held.rejected.slice(0, LOG_SAMPLE),
    },
  });
  return {
    added: held.added.length,
    matched: eventIds.length,
    already: held.already.filter((id) => requested.has(id)).length,
    rejected: held.rejected,
  };
}

/**
 * Adds what a selection matches. Criteria naming subscriptions (RATING, RERATE) hold each of their
 * partitions whole by selection; others add up to MAX_ADD_PER_CALL events by id. `nextCursor`
 * continues the selection.
 */
export async function addByCriteria(
  batchId: string,
  criteria: SelectionCriteria,
  actor: string,
  now: string,
  cursor?: string,
) {
  const batch = await batchFor(batchId, 'ADD_EVENTS');
  const c = criteriaOrRefuse(criteria);
  if (selectionApplies(batch, c)) return addBySelection(batch, c, actor, now, cursor);
  const statuses = criteria.status ? [criteria.status] : eligibleStatuses(batch.type);
  const page = await selectEvents(c, statuses, MAX_ADD_PER_CALL, cursor);
  const held = await holdEvents(
    batch,
    page.events.map((e) => e.eventId),
    now,
  );
  await addCounts(batchId, { events: held.added.length }, now, ['DRAFT']);
  await appendLog(batchId, {
    at: now,
    actor,
    action: 'ADD_EVENTS',
    message: `added ${held.added.length} of ${page.events.length} matched event(s) by criteria`,
    data: {
      source: 'criteria',
      criteria,
      added: held.added.length,
      rejected: held.rejected.length,
      sample: held.rejected.slice(0, LOG_SAMPLE),
      more: !!page.nextCursor,
    },
  });
  return {
    added: held.added.length,
    matched: page.events.length,
    rejected: held.rejected,
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
  };
}

async function addBySelection(
  batch: Batch,
  criteria: Parameters<typeof holdBySelection>[1],
  actor: string,
  now: string,
  cursor?: string,
) {
  const held = await holdBySelection(batch, criteria, now, cursor);
  await addCounts(batch.batchId, { events: held.added }, now, ['DRAFT']);
  await appendLog(batch.batchId, {
    at: now,
    actor,
    action: 'ADD_EVENTS',
    message: `added ${held.added} of ${held.matched} matched event(s) by criteria (${held.selected} partition(s) held whole)`,
    data: {
      source: 'criteria',
      criteria,
      added: held.added,
      already: held.already,
      rejected: held.rejected.length,
      selectedPartitions: held.selected,
      heldByEvent: held.heldByEvent,
      sample: held.rejected.slice(0, LOG_SAMPLE),
      more: !!held.nextCursor,
    },
  });
  return {
    added: held.added,
    matched: held.matched,
    rejected: held.rejected,
    ...(held.nextCursor ? { nextCursor: held.nextCursor } : {}),
  };
}

/** Counts what a selection matches, without holding anything. */
export async function countByCriteria(batchId: string, criteria: SelectionCriteria) {
  const batch = await batchFor(batchId, 'ADD_EVENTS');
  const statuses = criteria.status ? [criteria.status] : eligibleStatuses(batch.type);
  let matched = 0;
  let cursor: string | undefined;
  do {
    const page = await selectEvents(criteriaOrRefuse(criteria), statuses, 5000, cursor);
    matched += page.events.length;
    cursor = page.nextCursor;
  } while (cursor);
  return { dryRun: true, matched, added: 0, rejected: [] };
}

function criteriaOrRefuse(c: SelectionCriteria): SelectionCriteria {
  const refusal = criteriaRefusal(c);
  if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.criteria', ...refusal }]);
  return c;
}

export async function addReplacementsToBatch(
  batchId: string,
  requests: readonly ReplacementRequest[],
  actor: string,
  now: string,
  source = 'api',
) {
  const batch = await batchFor(batchId, 'ADD_REPLACEMENTS');
  // Read before the originals: in a partition claimed and confirmed by then, they need no second read.
  const confirmedBeforeRead = await confirmedClaimPartitions(batchId);
  const prepared = await prepareReplacements(batch, requests, now);
  // Where the batch claims an original's partition, the original needs no hold of its own.
  const { claimed, byHold } = await claimForOriginals(batch, prepared.ready, now, MAX_CLAIM_READ, confirmedBeforeRead);
  const { newMembers, ...held } = await holdReplacements(batch, byHold, now, claimed);
  const result = { ...held, rejected: [...prepared.rejected, ...held.rejected] };
  // An original the batch already held (added by id) is not counted twice.
  await addCounts(batchId, { events: newMembers }, now, ['DRAFT']);
  await appendLog(batchId, {
    at: now,
    actor,
    action: 'ADD_REPLACEMENTS',
    message: `holding ${result.added} original(s) with ${result.replacements} replacement event(s), ${result.already.length} already recorded, ${result.rejected.length} rejected`,
    data: {
      source,
      ...result,
      already: result.already.length,
      rejected: result.rejected.length,
      sample: result.rejected.slice(0, LOG_SAMPLE),
    },
  });
  return result;
}

/**
 * Releases every member of a batch being cancelled (their events are free for other batches
 * again), while it is still in `stage`: CANCELLED for a draft's cancel, which then zeroes its
 * counts; a revert's own REVERTING stage for a locked one, which moves to CANCELLED only after.
 * Repeatable: a cancel that died midway releases the rest when asked again.
 */
export async function releaseEveryMember(
  batch: Batch,
  now: string,
  stage: BatchStage = { status: 'CANCELLED' },
): Promise<number> {
  let released = 0;
  for await (const page of allMembers(batch.batchId)) {
    const removed = await releaseMembers(batch, page, stage);
    released += removed;
  }
  // Partitions held whole: the claim and the selection go, one transaction each.
  await releaseSelections(batch.batchId, await listSelections(batch.batchId), stage);
  // The counts of a cancelled batch say it holds nothing.
  if (stage.status === 'CANCELLED') await resetCounts(batch.batchId, now);
  return released;
}

export async function removeEvents(
  batchId: string,
  request: z.output<typeof RemoveRequest>,
  actor: string,
  now: string,
) {
  const batch = await batchFor(batchId, 'REMOVE_EVENTS');
  // A locked batch gives up only members that failed validation; its preview leaves them out.
  const removable = (m: BatchMember) =>
    (batch.status === 'DRAFT' || m.state === 'ERROR') && (request.mode === 'ALL' || matchesRule(m, request.rule));
  // Read before the members: a claim emptied by this removal goes only if no member came since.
  const claims =
    batch.type === 'REVERSE_REPLACE' && batch.status === 'DRAFT'
      ? (await listSelections(batchId)).filter((s) => s.confirmedAt && s.ranges.length === 0)
      : [];
  const chosen: BatchMember[] = [];
  const kept = new Set<string>();
  for await (const page of allMembers(batchId))
    for (const m of page) {
      if (removable(m)) chosen.push(m);
      else kept.add(partitionKey(m));
    }
  const removed = await releaseMembers(batch, chosen, { status: batch.status });
  // A claim for originals none of which is left lets the partition go to other batches.
  for (const claim of claims) if (!kept.has(partitionKey(claim))) await releaseEmptiedClaim(batchId, claim);
  const delta = { events: 0, related: 0, errored: 0 };
  const count = (m: BatchMember) => {
    if (m.role === 'RELATED') delta.related--;
    else delta.events--;
    if (m.state === 'ERROR') delta.errored--;
  };
  chosen.forEach(count);
  const fromSelections = await removeSelected(batch, removable, count);
  await addCounts(batchId, delta, now);
  await appendLog(batchId, {
    at: now,
    actor,
    action: 'REMOVE_EVENTS',
    message: `removed ${removed + fromSelections} member(s)`,
    data: { request, removed: removed + fromSelections },
  });
  return { removed: removed + fromSelections };
}

/**
 * Removes members of the batch's selections: a selection all of whose members go is let go whole
 * (its claim too); a draft's selection losing only some excludes them. A locked batch's selection
 * goes only whole (its preview was planned with all of them). Returns how many were removed.
 */
async function removeSelected(
  batch: Batch,
  removable: (m: BatchMember) => boolean,
  count: (m: BatchMember) => void,
): Promise<number> {
  let removed = 0;
  const stage = { status: batch.status };
  for await (const { selection, members } of allSelectionMembers(batch.batchId)) {
    const chosen = members.filter(removable);
    if (chosen.length === 0) continue;
    if (chosen.length === members.length) await releaseSelections(batch.batchId, [selection], stage);
    else if (batch.status === 'DRAFT')
      await excludeFromSelection(
        batch.batchId,
        selection,
        chosen.map((m) => m.eventId),
        stage,
      );
    else continue;
    chosen.forEach(count);
    removed += chosen.length;
  }
  return removed;
}
