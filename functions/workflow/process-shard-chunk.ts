import type { Context } from 'aws-lambda';
import { processShardChunk, type ShardStep } from '../../shared/services/submit';
import { deadlineOf, now } from './task-context';

export const handler = (step: ShardStep, context?: Context) => processShardChunk(step, now, deadlineOf(context));
