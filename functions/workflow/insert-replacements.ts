import type { Context } from 'aws-lambda';
import { insertReplacementsStep, type ReplacementStep } from '../../shared/services/submit';
import { deadlineOf, now, task } from './task-context';

export const handler = task(async (step: ReplacementStep, context?: Context) =>
  insertReplacementsStep(step, now, deadlineOf(context)),
);
