import { revertStep, type RevertPhase } from '../../shared/services/revert-for-edit';
import type { WorkflowStep } from '../../shared/services/lock-for-review';
import { now } from './task-context';

export const handler = (step: WorkflowStep<RevertPhase>) => revertStep(step, now);
