import { finishSubmit } from '../../shared/services/submit';
import { describeCaught, now, type CaughtError } from './task-context';

export const handler = async (input: { batchId: string; actor: string; error?: CaughtError }) => {
  await finishSubmit(input.batchId, input.actor, now(), describeCaught(input.error));
  return { batchId: input.batchId };
};
