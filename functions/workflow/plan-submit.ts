import { planSubmit } from '../../shared/services/submit';
import { now } from './task-context';

export const handler = (input: { batchId: string; actor: string }) => planSubmit(input.batchId, input.actor, now());
