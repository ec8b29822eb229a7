import { lockFailed } from '../../shared/services/lock-for-review';
import { type CaughtError, describeCaught, now, task } from './task-context';

export const handler = task(async (input: { batchId: string; version: number; actor: string; error?: CaughtError }) => {
  await lockFailed(input.batchId, input.actor, describeCaught(input.error), now(), input.version);
  return { batchId: input.batchId };
});
