import { revertFailed } from '../../shared/services/revert-for-edit';
import { type CaughtError, describeCaught, now, task } from './task-context';

export const handler = task(async (input: { batchId: string; version: number; actor: string; error?: CaughtError }) => {
  await revertFailed(input.batchId, input.version, input.actor, describeCaught(input.error), now());
  return { batchId: input.batchId };
});
