// Revert for edit: release what lock pulled in, clear validation errors, discard the preview,
// reopen edits, back to DRAFT. Idempotent, so a retry after a crash simply finishes the job.
import { selectionCounts } from './members';
import { DomainError } from '../domain/errors';
import { logOnceItems } from '../store/batch-log';
import { deletePartitions } from '../store/batch-partitions';
import {
  listMembers,
  openGates,
  requireBatch,
  setLastError,
  setMemberState,
  transitionBatch,
  writeInStage,
  type BatchStage,
} from '../store/batches';
import { releaseEveryMember } from './batches';
import { releaseRelated, type WorkflowStep } from './lock-for-review';
import type { ErrorCode } from '../domain/errors';

export type RevertPhase = 'related' | 'errors' | 'finish';

export async function revertStep(
  step: WorkflowStep<RevertPhase>,
  now: () => string,
): Promise<WorkflowStep<RevertPhase>> {
  const batch = await requireBatch(step.batchId);
  // This revert's own move to DRAFT applied (its answer lost, or the attempt timed out after it): done.
  if (batch.status === 'DRAFT' && batch.version === step.version + 1)
    return { ...step, phase: 'finish', cursor: null, done: true };
  // A cancel's move to CANCELLED applied (it comes after the release): done. An execution from
  // before releases came first may have left some held; releasing again finishes them.
  if (batch.status === 'CANCELLED' && batch.version === step.version + 1) {
    await releaseEveryMember(batch, now());
    return { ...step, phase: 'finish', cursor: null, done: true };
  }
  // This revert's stage is the version its request moved the batch to: an attempt of an earlier
  // revert (a task that timed out runs on) finds the batch asked again since and does nothing.
  const stage = { status: 'REVERTING', version: step.version } as const;
  if (batch.status !== 'REVERTING' || batch.version !== step.version)
    throw new DomainError(
      'INVALID_TRANSITION',
      `batch ${batch.batchId} is ${batch.status} at version ${batch.version}, not REVERTING at version ${step.version}`,
    );
  await releaseRelated(batch.batchId, stage);
  let events = 0;
  let cursor: string | undefined;
  do {
    const page = await listMembers(batch.batchId, {}, 1000, cursor);
    for (const m of page.items) {
      events++;
      if (m.state !== 'HELD') await setMemberState(batch.batchId, m.eventId, 'HELD', stage);
    }
    cursor = page.nextCursor;
  } while (cursor);
  await deletePartitions(batch.batchId, stage);
  await openGates(batch.batchId, stage);
  // The preview is gone, so the selections count what they take now.
  events += (await selectionCounts(batch.batchId)).events;
  const counts = { events, related: 0, errored: 0, inProcess: 0, processed: 0 };
  if (batch.cancelRequested) {
    // Every hold is released before the move: whoever reads CANCELLED finds its events free. A
    // retry after a partial release finds fewer members; the log counts what the batch held.
    const held = batch.counts.events;
    await releaseEveryMember(batch, now(), stage);
    await transitionBatch(
      batch.batchId,
      ['REVERTING'],
      'CANCELLED',
      now(),
      {
        lastError: null,
        cancelRequested: false,
        counts: { events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 },
        progress: { done: 0, total: 0 },
        log: {
          at: now(),
          actor: step.actor,
          action: 'CANCEL',
          message: `cancelled after revert; its ${held} event(s) are released`,
          data: { events: held },
        },
      },
      batch.version,
    );
    return { ...step, phase: 'finish', cursor: null, done: true };
  }
  await transitionBatch(
    batch.batchId,
    ['REVERTING'],
    'DRAFT',
    now(),
    {
      lastError: null,
      counts,
      progress: { done: 0, total: 0 },
      log: {
        at: now(),
        actor: step.actor,
        action: 'REVERTED',
        message: 'reverted for edit: related events released, preview discarded',
      },
    },
    batch.version,
  );
  return { ...step, phase: 'finish', cursor: null, done: true };
}

/**
 * Shows why the revert at `version` stopped (the batch stays REVERTING; reverting again resumes the
 * work) and logs it once per failed stage: a retried or late RevertFailed meets the log's marker,
 * and one whose batch has moved on records nothing.
 */
export async function revertFailed(
  batchId: string,
  version: number,
  actor: string,
  error: { code: ErrorCode; message: string },
  now: string,
): Promise<void> {
  const stage: BatchStage = { status: 'REVERTING', version };
  try {
    await setLastError(batchId, { ...error, at: now }, stage);
    await writeInStage(
      batchId,
      stage,
      logOnceItems(batchId, `REVERT_FAILED#v${version}`, {
        at: now,
        actor,
        action: 'REVERT_FAILED',
        message: `revert failed: ${error.message}`,
        data: { error },
      }),
    );
  } catch (err) {
    if (err instanceof DomainError && err.code === 'INVALID_TRANSITION') return;
    throw err;
  }
}
