import { z } from 'zod';
import { MAX_EVENTS_PER_REQUEST, UsageEventInput } from '../../../shared/domain/usage-event';
import { validatedOneByOne } from '../contract';
import { ingestEvents } from '../../../shared/services/ingest-events';
import { httpHandler, ok } from '../http-handler';
import { IngestResultView } from '../views';

// Items are validated one by one by ingestEvents, so one bad event never sinks the others.
const Body = z.strictObject({
  events: z.array(validatedOneByOne(UsageEventInput, 'A usage event')).min(1).max(MAX_EVENTS_PER_REQUEST),
});

export const handler = httpHandler(
  {
    summary: 'Ingest usage events (idempotent on eventId)',
    description:
      'Each event is validated and stored on its own: a bad one is listed in `rejected` with its index and code while the others land. ' +
      'The same eventId with the same content again counts as a duplicate; with other content it is EVENT_ID_CONFLICT.',
    body: Body,
    responses: { 200: IngestResultView },
  },
  async ({ body }) => ok(await ingestEvents(body.events, new Date().toISOString())),
);
