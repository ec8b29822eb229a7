import { z } from 'zod';
import { EVENT_STATUSES } from '../../../shared/domain/usage-event';
import { Id, Instant } from '../../../shared/domain/values';
import { listUsageEvents } from '../../../shared/services/usage-events';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { Page, UsageEventView, eventView } from '../views';

const Query = z.object({
  // Required: listing the whole table would be a scan (selections must be precise).
  subscriptionId: Id,
  productId: Id.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  ...Paging,
});

export const handler = httpHandler(
  {
    summary: "List a subscription's usage events, oldest first",
    query: Query,
    responses: { 200: Page(UsageEventView, 'UsageEventPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ query }) => {
    const { limit, cursor, ...filter } = query;
    const page = await listUsageEvents(filter, limit, cursor);
    return ok({
      items: page.items.map((e) => eventView(e, page.currency)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  },
);
