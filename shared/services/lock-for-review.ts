// Lock for review, one resumable step at a time: close the batch's edit gates, check every
// member and note the partitions it changes, then per partition hold the related events,
// apply the rules and compute the preview, and finally count and move to LOCKED.
// Every step is idempotent: a retry or a re-run redoes nothing twice.
import { eligibilityRefusal, type Batch, type BatchMember, type RelatedReason } from '../domain/batch';
import { DomainError, type ErrorCode } from '../domain/errors';
import { appendLog } from '../store/batch-log';
import { memberItem, releaseMembers, replacementsOf, touch, touchValue } from '../store/batch-members';
import { deletePartitions, listPartitions, notePartition, partitionKey, savePartition, type BatchPartition } from '../store/batch-partitions';
import { batchStageCheck, closeGates, listMembers, openGates, requireBatch, setMemberState, stageOver, transitionBatch, type BatchStage } from '../store/batches';
import { clients } from '../store/clients';
import { mapLimit } from '../store/concurrency';
import { writeGrouped } from '../store/grouped-transactions';
import { keys } from '../store/keys';
import { planFor } from '../store/partition-rating';
import { requireSubscription } from '../store/subscriptions';
import { childEventIds, getEvents } from '../store/usage-events';
import { assess, partitionWork, previewOf } from './partition-work';
import { listBillLines } from '../store/bill-lines';
import type { UsageEvent } from '../domain/usage-event';

export type LockPhase = 'start' | 'members' | 'partitions' | 'finish';

export interface WorkflowStep<P extends string> {
  batchId: string;
  version: number;
  actor: string;
  phase: P;
  cursor: string | null;
  done?: boolean;
}

const MEMBER_PAGE = 500;
const PARTITIONS_AT_ONCE = 8;

export async function lockStep(step: WorkflowStep<LockPhase>, now: () => string, deadline: number): Promise<WorkflowStep<LockPhase>> {
  const batch = await requireBatch(step.batchId);
  // This lock's own move to LOCKED applied (its answer lost, or the attempt timed out after it): done.
  if (batch.status === 'LOCKED' && batch.version === step.version + 1) return { ...step, phase: 'finish', cursor: null, done: true };
  if (batch.status !== 'LOCKING') throw new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} is ${batch.status}, not LOCKING`);
  let { phase, cursor } = step;
  // Read once per invocation, not once per partition: the state each unit saves is what a later
  // invocation reads.
  let pending: BatchPartition[] | undefined;
  // At least one unit of work per invocation, then as many as the time budget allows: the
  // cursor returned saves progress, so a failed invocation loses one unit at most.
  do {
    if (phase === 'start') {
      await closeGates(batch.batchId, now());
      await appendLog(batch.batchId, { at: now(), actor: step.actor, action: 'LOCK_STARTED', message: 'lock for review started; edits closed' });
      phase = 'members';
      cursor = null;
    } else if (phase === 'members') {
      const page = await listMembers(batch.batchId, {}, MEMBER_PAGE, cursor ?? undefined);
      await checkMembers(batch, page.items, now());
      if (page.nextCursor) cursor = page.nextCursor;
      else {
        phase = 'partitions';
        cursor = null;
      }
    } else if (phase === 'partitions') {
      pending ??= (await listPartitions(batch.batchId)).filter((p) => p.state === 'PENDING').sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1));
      const next = pending.splice(0, PARTITIONS_AT_ONCE);
      if (next.length === 0) {
        phase = 'finish';
        continue;
      }
      // Partitions share no items: several are locked at once. One that fails fails the
      // invocation; those already READY are skipped by the retry.
      await mapLimit(next, PARTITIONS_AT_ONCE, (p) => lockPartition(batch, p, step.actor, now()));
    } else {
      await finishLock(batch, step.actor, now());
      return { ...step, phase, cursor: null, done: true };
    }
  } while (Date.now() < deadline);
  return { ...step, phase, cursor, done: false };
}

/** Checks a page of members and notes the partitions they (and their replacements) change. */
async function checkMembers(batch: Batch, members: BatchMember[], now: string): Promise<void> {
  const own = members.filter((m) => m.role !== 'RELATED');
  const events = new Map((await getEvents(own.map((m) => m.eventId))).map((e) => [e.eventId, e]));
  const earliest = new Map<string, { sub: string; reg: string; at: string }>();
  const note = (sub: string, reg: string, at: string) => {
    const k = `${sub}#${reg}`;
    const cur = earliest.get(k);
    if (!cur || at < cur.at) earliest.set(k, { sub, reg, at });
  };
  for (const m of own) {
    const e = events.get(m.eventId);
    const code = !e ? 'EVENT_NOT_FOUND' : e.heldBy !== batch.batchId ? 'EVENT_HELD_BY_OTHER_BATCH' : eligibilityRefusal(batch.type, e, batch.batchId);
    if (code) {
      if (m.state !== 'ERROR') await setMemberState(batch.batchId, m.eventId, 'ERROR', { code, message: `member cannot be corrected (${code})` });
      continue;
    }
    note(e!.subscriptionId, e!.register, `${e!.occurredAt}#${e!.eventId}`);
  }
  if (batch.type === 'REVERSE_REPLACE') {
    for (const r of await replacementsOf(batch.batchId, own)) note(r.subscriptionId, r.register, `${r.occurredAt}#${r.eventId}`);
    // Reversing a parent reverses its children: a child not in the batch is pulled in.
    const parents = own.filter((m) => (events.get(m.eventId)?.childCount ?? 0) > 0);
    for (const parent of parents) {
      const children = (await getEvents(await childEventIds(parent.eventId))).filter((c) => c.heldBy !== batch.batchId && c.status !== 'REVERSED');
      const refused = await holdRelated(batch, children, 'CHILD_OF_REVERSED', now, 'CHILD');
      for (const child of children) {
        if (!refused.has(child)) note(child.subscriptionId, child.register, `${child.occurredAt}#${child.eventId}`);
        else await setMemberState(batch.batchId, parent.eventId, 'ERROR', { code: 'EVENT_HELD_BY_OTHER_BATCH', message: `child ${child.eventId} is held by another batch` });
      }
    }
  }
  await mapLimit([...earliest.values()], PARTITIONS_AT_ONCE, ({ sub, reg, at }) => notePartition(batch.batchId, sub, reg, at));
}

/**
 * Holds events the batch changes without having been asked to (later events of a partition,
 * children of a reversed parent), many per transaction. Returns those another open batch holds.
 */
async function holdRelated(batch: Batch, events: readonly UsageEvent[], reason: RelatedReason, now: string, role: 'RELATED' | 'CHILD' = 'RELATED'): Promise<Set<UsageEvent>> {
  const refused = await writeGrouped(
    events,
    {
      itemsOf: (e) => [
        {
          Update: {
            TableName: clients.tableName,
            Key: keys.event(e.eventId),
            UpdateExpression: `SET heldBy = :b, heldAt = :now ${touch}`,
            ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(heldBy) OR heldBy = :b)',
            ExpressionAttributeValues: { ':b': batch.batchId, ':now': now, ...touchValue(batch.batchId) },
          },
        },
        { Put: { TableName: clients.tableName, Item: memberItem(batch.batchId, e, role, now, { relatedReason: reason }) } },
      ],
      // A lock attempt that timed out may land this after the batch finished and released its holds.
      shared: () => [batchStageCheck(batch.batchId, lockStage(batch))],
      sharedRefused: () => stageOver(batch.batchId, lockStage(batch)),
    },
    RELATED_GROUP,
  );
  return new Set(refused.keys());
}

/** Related events per hold transaction (2 items each, and the stage check). */
const RELATED_GROUP = 25;

/** The stage every lock write belongs to: LOCKING at the version this lock started. */
const lockStage = (batch: Batch): BatchStage => ({ status: 'LOCKING', version: batch.version });

async function lockPartition(batch: Batch, p: BatchPartition, actor: string, now: string): Promise<void> {
  const sub = await requireSubscription(p.subscriptionId);
  const work = await partitionWork(batch, p, actor, now, 'preview');
  const plan = await planFor(sub, { ...work.request, pending: work.pending }, false);
  const lines = await listBillLines(p.subscriptionId);
  const assessment = assess(batch, plan, lines, work.events, sub, now);
  let error = assessment.error;
  let relatedAdded = 0;
  if (!error) {
    // Allowance is consumed in time order: every later rated event of the partition is re-rated,
    // so each is held (locked) too, and the preview cannot go stale before submit.
    const later = work.events.filter((e) => !work.members.has(e.eventId) && (e.status === 'RATED' || e.status === 'EXCLUDED'));
    const refused = [...(await holdRelated(batch, later, 'LATER_IN_PARTITION', now))];
    relatedAdded = later.length - refused.length;
    // Those held stay held as the batch's related events, released by submit or revert.
    if (refused.length > 0) error = { code: 'EVENT_HELD_BY_OTHER_BATCH', message: `related event ${refused[0]!.eventId} is held by another open batch` };
  }
  if (error) {
    const own = [...work.members].filter(([, role]) => role !== 'RELATED').map(([id]) => id);
    for (const id of own) await setMemberState(batch.batchId, id, 'ERROR', error);
    await savePartition(batch.batchId, { ...p, state: 'ERROR', errorCode: error.code, errorMessage: error.message });
    return;
  }
  const preview = await previewOf(plan, assessment, lines, relatedAdded, work.pending.length);
  await savePartition(batch.batchId, {
    ...p,
    state: 'READY',
    preview,
    ...(assessment.creditRebillPeriod ? { creditRebillPeriod: assessment.creditRebillPeriod } : {}),
  });
}

/** Recounts from the members and partitions, then LOCKING → LOCKED. */
async function finishLock(batch: Batch, actor: string, now: string): Promise<void> {
  const counts = { events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 };
  let cursor: string | undefined;
  do {
    const page = await listMembers(batch.batchId, {}, 1000, cursor);
    for (const m of page.items) {
      if (m.role === 'RELATED' || m.relatedReason) counts.related++;
      else counts.events++;
      if (m.state === 'ERROR') counts.errored++;
    }
    cursor = page.nextCursor;
  } while (cursor);
  const partitions = await listPartitions(batch.batchId);
  const total = partitions.filter((p) => p.state === 'READY').reduce((s, p) => s + (p.preview?.changedEvents ?? 0), 0);
  await transitionBatch(batch.batchId, ['LOCKING'], 'LOCKED', now, { lastError: null, counts, progress: { done: 0, total } }, batch.version);
  await appendLog(batch.batchId, {
    at: now,
    actor,
    action: 'LOCKED',
    message: `locked for review: ${counts.events} event(s), ${counts.related} related, ${counts.errored} with errors, ${partitions.length} partition(s)`,
    data: { counts, partitions: partitions.length, errors: partitions.filter((p) => p.state === 'ERROR').map((p) => ({ partition: partitionKey(p), code: p.errorCode })) },
  });
}

/** A lock that failed outright goes back to DRAFT: related holds released, preview discarded, edits reopened. */
export async function lockFailed(batchId: string, actor: string, error: { code: ErrorCode; message: string }, now: string): Promise<void> {
  // Each undo holds only while the batch is LOCKING: a batch the lock did move on keeps its preview and gates.
  await releaseRelated(batchId, ['LOCKING']);
  await deletePartitions(batchId, { status: 'LOCKING' });
  await openGates(batchId, { status: 'LOCKING' });
  await transitionBatch(batchId, ['LOCKING'], 'DRAFT', now, { lastError: { ...error, at: now } });
  await appendLog(batchId, { at: now, actor, action: 'LOCK_FAILED', message: `lock failed: ${error.message}`, data: { error } });
}

/** Releases what lock pulled in (related events, children of reversed parents not added by the user). */
export async function releaseRelated(batchId: string, allowedStatuses: readonly Batch['status'][]): Promise<number> {
  const batch = await requireBatch(batchId);
  const related: BatchMember[] = [];
  let cursor: string | undefined;
  do {
    const page = await listMembers(batchId, {}, 1000, cursor);
    related.push(...page.items.filter((m) => m.role === 'RELATED' || m.relatedReason));
    cursor = page.nextCursor;
  } while (cursor);
  return releaseMembers(batch, related, allowedStatuses);
}
