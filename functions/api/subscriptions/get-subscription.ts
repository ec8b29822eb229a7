import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { requireSubscription } from '../../../shared/store/subscriptions';
import { httpHandler, ok } from '../http-handler';
import { subscriptionView } from '../views';

export const handler = httpHandler({ path: z.object({ subscriptionId: Id }) }, async ({ path }) =>
  ok(subscriptionView(await requireSubscription(path.subscriptionId))),
);
