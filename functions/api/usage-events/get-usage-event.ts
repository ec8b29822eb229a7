import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { eventDetail } from '../../../shared/services/usage-events';
import { httpHandler, ok } from '../http-handler';
import { eventView } from '../views';

export const handler = httpHandler({ path: z.object({ eventId: Id }) }, async ({ path }) => {
  const { event, currency, children } = await eventDetail(path.eventId);
  return ok(eventView(event, currency, children));
});
