import type { Context } from 'aws-lambda';
import { processShardChunk, type ShardStep } from '../../shared/services/submit';
import { deadlineOf, now, task } from './task-context';

export const handler = task(async (step: ShardStep, context?: Context) =>
  processShardChunk(step, now, deadlineOf(context)),
);
