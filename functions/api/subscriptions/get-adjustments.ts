import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { adjustmentsOf } from '../../../shared/services/adjustments';
import { creditRebillOf } from '../../../shared/services/bill-lines';
import { requireSubscription } from '../../../shared/store/subscriptions';
import { httpHandler, ok } from '../http-handler';
import { AdjustmentListView, adjustmentView, creditRebillView } from '../views';

export const handler = httpHandler(
  {
    summary: "List a subscription's adjustments, and the credits and rebills batches posted for it",
    path: z.object({ subscriptionId: Id }),
    responses: { 200: AdjustmentListView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => {
    const [items, documents, sub] = await Promise.all([
      adjustmentsOf(path.subscriptionId),
      creditRebillOf(path.subscriptionId),
      requireSubscription(path.subscriptionId),
    ]);
    return ok({
      items: items.map(adjustmentView),
      creditRebill: documents.map((d) => creditRebillView(d, sub.currency)),
    });
  },
);
