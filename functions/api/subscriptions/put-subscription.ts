import { z } from 'zod';
import { SubscriptionInput } from '../../../shared/domain/subscription';
import { Id } from '../../../shared/domain/values';
import { putSubscription } from '../../../shared/services/subscriptions';
import { created, httpHandler, ok } from '../http-handler';
import { SubscriptionView, subscriptionView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Create a subscription, or change its plan (products, prices, minimum)',
    path: z.object({ subscriptionId: Id }),
    body: SubscriptionInput,
    responses: { 201: SubscriptionView, 200: SubscriptionView },
    errors: ['NOT_FOUND'],
  },
  async ({ path, body }) => {
    const { subscription, created: isNew } = await putSubscription(path.subscriptionId, body, new Date().toISOString());
    return (isNew ? created : ok)(subscriptionView(subscription));
  },
);
