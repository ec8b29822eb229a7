import { z } from 'zod';
import { MAX_EVENTS_PER_REQUEST } from '../../../shared/domain/usage-event';
import { ingestEvents } from '../../../shared/store/usage-events';
import { httpHandler, ok } from '../http-handler';

// Items are validated one by one by ingestEvents, so one bad event never sinks the others.
const Body = z.strictObject({ events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_REQUEST) });

export const handler = httpHandler({ body: Body }, async ({ body }) => ok(await ingestEvents(body.events, new Date().toISOString())));
