// Lock, revert and submit from the API: a conditional status change, then the workflow's
// execution, named from the batch, the action and its version (so a repeat starts nothing new).
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { actionRefusal, type Batch, type BatchAction, type BatchStatus, type PendingStart } from '../domain/batch';
import { DomainError } from '../domain/errors';
import { executionName, type WorkflowName } from '../domain/workflows';
import { config } from '../config';
import { recordExecution, requireBatch, transitionBatch } from '../store/batches';
import { clients } from '../store/clients';
import { releaseEveryMember } from './batches';

interface ActionSpec {
  action: BatchAction;
  workflow: WorkflowName;
  from: readonly BatchStatus[];
  to: BatchStatus;
  name: string;
  input: (b: Batch, actor: string) => Record<string, unknown>;
  /** Cancel runs the revert and ends CANCELLED; any other action clears a cancel left waiting. */
  cancel?: boolean;
}

const step = (b: Batch, actor: string, phase: string) => ({
  batchId: b.batchId,
  version: b.version,
  actor,
  phase,
  cursor: null,
});

const specs = {
  lock: {
    action: 'LOCK',
    workflow: 'lock-for-review',
    from: ['DRAFT'],
    to: 'LOCKING',
    name: 'lock',
    input: (b, a) => step(b, a, 'start'),
  },
  revert: {
    action: 'REVERT',
    workflow: 'revert-for-edit',
    from: ['LOCKED', 'LOCKING', 'REVERTING'],
    to: 'REVERTING',
    name: 'revert',
    input: (b, a) => step(b, a, 'related'),
  },
  cancel: {
    action: 'CANCEL',
    workflow: 'revert-for-edit',
    from: ['LOCKED', 'REVERTING'],
    to: 'REVERTING',
    name: 'cancel',
    input: (b, a) => step(b, a, 'related'),
    cancel: true,
  },
  submit: {
    action: 'SUBMIT',
    workflow: 'submit',
    from: ['LOCKED'],
    to: 'PROCESSING',
    name: 'submit',
    input: (b, a) => ({ batchId: b.batchId, actor: a }),
  },
} satisfies Record<string, ActionSpec>;

export type WorkflowAction = keyof typeof specs;

/**
 * Asks for a workflow action: the status change records the start it asks for (pendingStart),
 * then the execution starts and is recorded, which clears it. A request that dies in between
 * leaves the start pending, never lost: the next action on the batch starts it first (the same
 * name and input, so an execution already running is not started twice). `expectedVersion`: the
 * version a caller's own check read (approval at submit); only that version is moved.
 */
export async function requestAction(
  kind: WorkflowAction,
  batchId: string,
  actor: string,
  now: string,
  expectedVersion?: number,
) {
  const spec: ActionSpec = specs[kind];
  let batch = await requireBatch(batchId);
  // Only a start of this route's own workflow (the one it may start) is repeated here.
  if (batch.pendingStart && batch.pendingStart.workflow === spec.workflow) {
    const pending = batch.pendingStart;
    const executionArn = await startPending(batchId, pending);
    // Asking again for the very action whose start was pending answers as its first request would have.
    if (pending.action === spec.action && batch.status === spec.to) return { batchId, status: spec.to, executionArn };
    batch = await requireBatch(batchId);
  }
  const refusal = actionRefusal(batch, spec.action);
  if (refusal) throw new DomainError(refusal.code, refusal.message);
  if (expectedVersion !== undefined && batch.version !== expectedVersion) {
    throw new DomainError(
      'INVALID_TRANSITION',
      `batch ${batchId} changed while ${spec.action} was checked (locked again?); read it and ask again`,
    );
  }
  // The transition is conditional on this version, so the moved batch's version is the next one.
  const version = batch.version + 1;
  const pending: PendingStart = {
    action: spec.action,
    workflow: spec.workflow,
    name: executionName(batchId, spec.name, version),
    input: JSON.stringify(spec.input({ ...batch, version }, actor)),
  };
  const executionArn = executionArnOf(pending);
  // Who locks is recorded with the lock's own transition, for approval at submit. The request's
  // entry is written with the move, so it is logged exactly when the move applies: once, however
  // the request dies or is repeated afterwards.
  const patch = {
    lastError: null,
    pendingStart: pending,
    cancelRequested: spec.cancel === true,
    ...(kind === 'lock' ? { lockedBy: actor } : {}),
    log: {
      at: now,
      actor,
      action: spec.action,
      message: `${spec.action.toLowerCase()} requested`,
      data: { executionArn, version },
    },
  };
  await transitionBatch(batchId, spec.from, spec.to, now, patch, batch.version);
  try {
    await startExecution(pending);
  } catch (err) {
    // Nothing runs: put the batch back where it was, with the reason, so the action can be asked
    // again; unless a repeat of the request started it meanwhile (the start is no longer pending).
    const at = new Date().toISOString();
    const message = `could not start ${spec.workflow}: ${(err as Error).message}`;
    await transitionBatch(
      batchId,
      [spec.to],
      batch.status,
      at,
      {
        lastError: { code: 'INTERNAL', message, at: now },
        whilePending: true,
        log: { at, actor, action: 'START_FAILED', message, data: { action: spec.action, version } },
      },
      version,
    ).catch(() => undefined);
    throw err;
  }
  await recordExecution(batchId, spec.name, executionArn, pending.name);
  return { batchId, status: spec.to, executionArn };
}

const specByAction = (action: BatchAction): ActionSpec =>
  Object.values(specs as Record<string, ActionSpec>).find((s) => s.action === action)!;

/**
 * Starts a pending execution (idempotent by name and input) and records it. Its request was logged
 * with the move that asked for it, so a repeat logs nothing.
 */
async function startPending(batchId: string, pending: PendingStart): Promise<string> {
  const spec = specByAction(pending.action);
  await startExecution(pending);
  const executionArn = executionArnOf(pending);
  await recordExecution(batchId, spec.name, executionArn, pending.name);
  return executionArn;
}

/** An execution's ARN follows from its state machine and its name: known before it starts. */
function executionArnOf(pending: PendingStart): string {
  const arn = config().STATE_MACHINE_ARNS[pending.workflow];
  if (!arn) throw new Error(`STATE_MACHINE_ARNS has no ${pending.workflow}`);
  return `${arn.replace(':stateMachine:', ':execution:')}:${pending.name}`;
}

async function startExecution(pending: PendingStart): Promise<void> {
  const arn = config().STATE_MACHINE_ARNS[pending.workflow];
  if (!arn) throw new Error(`STATE_MACHINE_ARNS has no ${pending.workflow}`);
  try {
    await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: pending.name, input: pending.input }),
    );
  } catch (err) {
    // It ran already (and ended): starting it is done.
    if ((err as { name?: string }).name !== 'ExecutionAlreadyExists') throw err;
  }
}

/**
 * Cancels a batch that will not be submitted. DRAFT: CANCELLED at once, then every hold is
 * released (200). LOCKED: the revert runs first and ends CANCELLED instead of DRAFT (202). A
 * cancelled batch asked again finishes releasing whatever a cancel that died left held.
 */
export async function cancelBatch(
  batchId: string,
  actor: string,
  now: string,
): Promise<{ accepted: true; result: Awaited<ReturnType<typeof requestAction>> } | { accepted: false; batch: Batch }> {
  const batch = await requireBatch(batchId);
  if (
    batch.status === 'LOCKED' ||
    (batch.status === 'REVERTING' && (batch.pendingStart?.action === 'CANCEL' || batch.cancelRequested))
  ) {
    return { accepted: true, result: await requestAction('cancel', batchId, actor, now) };
  }
  let cancelled = batch;
  if (batch.status !== 'CANCELLED') {
    const refusal = actionRefusal(batch, 'CANCEL');
    if (refusal) throw new DomainError(refusal.code, refusal.message);
    // The entry goes with the move, counting what the batch held: a cancel that dies while it
    // releases is still logged, once; asking again finishes the release and logs nothing more.
    const held = batch.counts.events;
    cancelled = await transitionBatch(
      batchId,
      ['DRAFT'],
      'CANCELLED',
      now,
      {
        lastError: null,
        log: {
          at: now,
          actor,
          action: 'CANCEL',
          message: `cancelled; its ${held} event(s) are released`,
          data: { events: held },
        },
      },
      batch.version,
    );
  }
  await releaseEveryMember(cancelled, now);
  return { accepted: false, batch: await requireBatch(batchId) };
}
