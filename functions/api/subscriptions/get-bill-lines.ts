import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { billLinesOf } from '../../../shared/services/bill-lines';
import { httpHandler, ok } from '../http-handler';
import { billLineView } from '../views';

export const handler = httpHandler({ path: z.object({ subscriptionId: Id }) }, async ({ path }) => ok({ items: (await billLinesOf(path.subscriptionId)).map(billLineView) }));
