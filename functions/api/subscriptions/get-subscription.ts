import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { requireSubscription } from '../../../shared/store/subscriptions';
import { httpHandler, ok } from '../http-handler';
import { SubscriptionView, subscriptionView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read a subscription',
    path: z.object({ subscriptionId: Id }),
    responses: { 200: SubscriptionView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => ok(subscriptionView(await requireSubscription(path.subscriptionId))),
);
