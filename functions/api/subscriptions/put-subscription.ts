import { z } from 'zod';
import { SubscriptionInput } from '../../../shared/domain/subscription';
import { Id } from '../../../shared/domain/values';
import { putSubscription } from '../../../shared/store/subscriptions';
import { created, httpHandler, ok } from '../http-handler';
import { subscriptionView } from '../views';

export const handler = httpHandler(
  { path: z.object({ subscriptionId: Id }), body: SubscriptionInput },
  async ({ path, body }) => {
    const { subscription, created: isNew } = await putSubscription(path.subscriptionId, body, new Date().toISOString());
    return (isNew ? created : ok)(subscriptionView(subscription));
  },
);
