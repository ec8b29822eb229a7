import type { Context } from 'aws-lambda';
import { lockShardChunk, lockStep, type LockShardStep, type LockStep } from '../../shared/services/lock-for-review';
import { deadlineOf, now, task } from './task-context';

// One function for the whole lock: the steps around the Map and each shard's iterations in it.
export const handler = task(async (step: LockStep | LockShardStep, context?: Context) =>
  'shard' in step ? lockShardChunk(step, now, deadlineOf(context)) : lockStep(step, now, deadlineOf(context)),
);
