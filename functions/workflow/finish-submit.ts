import { finishSubmit } from '../../shared/services/submit';
import { now, task } from './task-context';

export const handler = task(async (input: { batchId: string; actor: string }) => {
  await finishSubmit(input.batchId, input.actor, now());
  return { batchId: input.batchId };
});
