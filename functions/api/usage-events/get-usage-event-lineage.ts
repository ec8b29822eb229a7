import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { eventLineage } from '../../../shared/services/usage-events';
import { httpHandler, ok } from '../http-handler';
import { LineageView, lineageView } from '../views';

export const handler = httpHandler(
  {
    summary:
      'Read the whole lineage of a usage event: parents, children, what it replaced and what replaced it, each with the batches that touched it',
    path: z.object({ eventId: Id }),
    responses: { 200: LineageView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => ok(lineageView(await eventLineage(path.eventId))),
);
