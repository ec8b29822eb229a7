import type { Context } from 'aws-lambda';
import { lockStep, type LockPhase, type WorkflowStep } from '../../shared/services/lock-for-review';
import { deadlineOf, now, task } from './task-context';

export const handler = task(async (step: WorkflowStep<LockPhase>, context?: Context) =>
  lockStep(step, now, deadlineOf(context)),
);
