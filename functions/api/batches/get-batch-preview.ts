import { z } from 'zod';
import { batchPreview } from '../../../shared/services/preview';
import { httpHandler } from '../http-handler';
import { PreviewView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read the exact preview of a locked batch: every balance and bill it will change',
    description:
      'Bill lines are shown per subscription, computed as a whole (every register and product, minimum true-up included), each with its status before and after. The answer carries an `ETag`: send it as `If-Match` on submit to submit only this preview. `stale` says something the plan read has moved since lock (submit would not apply that subscription).',
    path: z.object({ batchId: z.uuid() }),
    responses: { 200: PreviewView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION'],
  },
  async ({ path }) => {
    const { body, etag } = await batchPreview(path.batchId);
    return { status: 200, body, headers: { etag } };
  },
);
