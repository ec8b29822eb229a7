import { z } from 'zod';
import { cancelBatch } from '../../../shared/services/batch-actions';
import { accepted, httpHandler, ok } from '../http-handler';
import { ActionAcceptedView, BatchView, batchView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Cancel a batch that will not be submitted: it ends CANCELLED and every event it held is released',
    description:
      'A DRAFT batch is cancelled at once (200, the batch). A LOCKED batch is reverted first, then cancelled (202; poll GET /v1/batches/{batchId} until CANCELLED). Asking again for a cancelled batch answers 200 and releases anything a cancel that stopped midway left held.',
    path: z.object({ batchId: z.uuid() }),
    responses: { 200: BatchView, 202: ActionAcceptedView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION'],
  },
  async ({ path, actor }) => {
    const r = await cancelBatch(path.batchId, actor, new Date().toISOString());
    return r.accepted ? accepted(r.result) : ok(batchView(r.batch));
  },
);
