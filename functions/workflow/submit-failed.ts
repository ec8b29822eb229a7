import type { Context } from 'aws-lambda';
import { finishSubmit, type FinishStep } from '../../shared/services/submit';
import { type CaughtError, deadlineOf, describeCaught, now, task } from './task-context';

export const handler = task(async (input: FinishStep & { error?: CaughtError }, context?: Context) => {
  const { error, ...step } = input;
  return finishSubmit(step, now, deadlineOf(context), describeCaught(error));
});
