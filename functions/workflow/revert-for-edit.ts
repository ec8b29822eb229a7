import { revertStep, type RevertPhase } from '../../shared/services/revert-for-edit';
import type { WorkflowStep } from '../../shared/services/lock-for-review';
import { now, task } from './task-context';

export const handler = task(async (step: WorkflowStep<RevertPhase>) => revertStep(step, now));
