import { finishSubmit } from '../../shared/services/submit';
import { type CaughtError, describeCaught, now, task } from './task-context';

export const handler = task(async (input: { batchId: string; actor: string; error?: CaughtError }) => {
  await finishSubmit(input.batchId, input.actor, now(), describeCaught(input.error));
  return { batchId: input.batchId };
});
