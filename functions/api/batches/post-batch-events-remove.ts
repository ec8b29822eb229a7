import { z } from 'zod';
import { RemoveRequest } from '../../../shared/domain/batch';
import { removeEvents } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';
import { RemoveResultView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Remove members from a batch: all of them, or those a rule matches',
    description: 'A DRAFT batch gives up any member; a LOCKED one only members in ERROR (so its preview stays exact).',
    path: z.object({ batchId: z.uuid() }),
    body: RemoveRequest,
    responses: { 200: RemoveResultView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION', 'ACTION_NOT_ALLOWED_FOR_TYPE'],
  },
  async ({ path, body, actor }) => ok(await removeEvents(path.batchId, body, actor, new Date().toISOString())),
);
