import { lockFailed } from '../../shared/services/lock-for-review';
import { describeCaught, now, type CaughtError } from './task-context';

export const handler = async (input: { batchId: string; actor: string; error?: CaughtError }) => {
  await lockFailed(input.batchId, input.actor, describeCaught(input.error), now());
  return { batchId: input.batchId };
};
