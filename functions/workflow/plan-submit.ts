import { planSubmit } from '../../shared/services/submit';
import { now, task } from './task-context';

export const handler = task(async (input: { batchId: string; actor: string }) =>
  planSubmit(input.batchId, input.actor, now()),
);
