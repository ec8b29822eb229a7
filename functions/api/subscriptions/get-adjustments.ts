import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { adjustmentsOf } from '../../../shared/services/adjustments';
import { httpHandler, ok } from '../http-handler';
import { adjustmentView } from '../views';

export const handler = httpHandler({ path: z.object({ subscriptionId: Id }) }, async ({ path }) => ok({ items: (await adjustmentsOf(path.subscriptionId)).map(adjustmentView) }));
