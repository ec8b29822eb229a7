// Lock, revert and submit from the API: a conditional status change, then the workflow's
// execution, named from the batch, the action and its version (so a repeat starts nothing new).
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { actionRefusal, type Batch, type BatchAction, type BatchStatus } from '../domain/batch';
import { DomainError } from '../domain/errors';
import { executionName, type WorkflowName } from '../domain/workflows';
import { config } from '../config';
import { appendLog } from '../store/batch-log';
import { recordExecution, requireBatch, transitionBatch } from '../store/batches';
import { clients } from '../store/clients';

interface ActionSpec {
  action: BatchAction;
  workflow: WorkflowName;
  from: readonly BatchStatus[];
  to: BatchStatus;
  name: string;
  input: (b: Batch, actor: string) => Record<string, unknown>;
}

const step = (b: Batch, actor: string, phase: string) => ({ batchId: b.batchId, version: b.version, actor, phase, cursor: null });

const specs = {
  lock: { action: 'LOCK', workflow: 'lock-for-review', from: ['DRAFT'], to: 'LOCKING', name: 'lock', input: (b, a) => step(b, a, 'start') },
  revert: { action: 'REVERT', workflow: 'revert-for-edit', from: ['LOCKED', 'LOCKING', 'REVERTING'], to: 'REVERTING', name: 'revert', input: (b, a) => step(b, a, 'related') },
  submit: { action: 'SUBMIT', workflow: 'submit', from: ['LOCKED'], to: 'PROCESSING', name: 'submit', input: (b, a) => ({ batchId: b.batchId, actor: a }) },
} satisfies Record<string, ActionSpec>;

export type WorkflowAction = keyof typeof specs;

/** `expectedVersion`: the version a caller's own check read (approval); the action moves only that one. */
export async function requestAction(kind: WorkflowAction, batchId: string, actor: string, now: string, expectedVersion?: number) {
  const spec: ActionSpec = specs[kind];
  const batch = await requireBatch(batchId);
  const refusal = actionRefusal(batch, spec.action);
  if (refusal) throw new DomainError(refusal.code, refusal.message);
  // Who locks is recorded with the lock's own transition, for approval at submit.
  const patch = { lastError: null, ...(kind === 'lock' ? { lockedBy: actor } : {}) };
  const moved = await transitionBatch(batchId, spec.from, spec.to, now, patch, expectedVersion ?? batch.version);
  const arn = config().STATE_MACHINE_ARNS[spec.workflow];
  if (!arn) throw new Error(`STATE_MACHINE_ARNS has no ${spec.workflow}`);
  const name = executionName(batchId, spec.name, moved.version);
  let executionArn: string;
  try {
    const res = await clients.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(spec.input(moved, actor)) }));
    executionArn = res.executionArn!;
  } catch (err) {
    // Nothing runs: put the batch back where it was, with the reason, so the action can be asked again.
    await transitionBatch(batchId, [spec.to], batch.status, new Date().toISOString(), { lastError: { code: 'INTERNAL', message: `could not start ${spec.workflow}: ${(err as Error).message}`, at: now } });
    throw err;
  }
  await recordExecution(batchId, spec.name, executionArn);
  await appendLog(batchId, { at: now, actor, action: spec.action, message: `${spec.action.toLowerCase()} requested`, data: { executionArn, version: moved.version } });
  return { batchId, status: spec.to, executionArn };
}
