import type { Context } from 'aws-lambda';
import { finishSubmit, type FinishStep } from '../../shared/services/submit';
import { deadlineOf, now, task } from './task-context';

export const handler = task(async (step: FinishStep, context?: Context) =>
  finishSubmit(step, now, deadlineOf(context)),
);
