import { revertFailed } from '../../shared/services/revert-for-edit';
import { describeCaught, now, type CaughtError } from './task-context';

export const handler = async (input: { batchId: string; actor: string; error?: CaughtError }) => {
  await revertFailed(input.batchId, input.actor, describeCaught(input.error), now());
  return { batchId: input.batchId };
};
