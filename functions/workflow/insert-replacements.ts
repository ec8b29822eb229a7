import type { Context } from 'aws-lambda';
import { insertReplacementsStep, type ReplacementStep } from '../../shared/services/submit';
import { deadlineOf, now } from './task-context';

export const handler = (step: ReplacementStep, context?: Context) => insertReplacementsStep(step, now, deadlineOf(context));
