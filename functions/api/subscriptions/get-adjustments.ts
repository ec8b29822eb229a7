import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { adjustmentsOf } from '../../../shared/services/adjustments';
import { httpHandler, ok } from '../http-handler';
import { AdjustmentView, List, adjustmentView } from '../views';

export const handler = httpHandler(
  { summary: "List a subscription's adjustments", path: z.object({ subscriptionId: Id }), responses: { 200: List(AdjustmentView, 'AdjustmentList') }, errors: ['NOT_FOUND'] }, async ({ path }) => ok({ items: (await adjustmentsOf(path.subscriptionId)).map(adjustmentView) }));
