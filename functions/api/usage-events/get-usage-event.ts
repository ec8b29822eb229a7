import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { eventDetail } from '../../../shared/services/usage-events';
import { httpHandler, ok } from '../http-handler';
import { UsageEventView, eventView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read a usage event with its rating and lineage',
    path: z.object({ eventId: Id }),
    responses: { 200: UsageEventView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => {
    const { event, currency, children } = await eventDetail(path.eventId);
    return ok(eventView(event, currency, children));
  },
);
