import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { listBillLines } from '../../../shared/store/bill-lines';
import { requireSubscription } from '../../../shared/store/subscriptions';
import { httpHandler, ok } from '../http-handler';
import { billLineView } from '../views';

export const handler = httpHandler({ path: z.object({ subscriptionId: Id }) }, async ({ path }) => {
  await requireSubscription(path.subscriptionId);
  return ok({ items: (await listBillLines(path.subscriptionId)).map(billLineView) });
});
