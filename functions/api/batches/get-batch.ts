import { z } from 'zod';
import { approvalFor } from '../../../shared/services/approval';
import { requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { BatchView, batchView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read a batch: status, counts, progress and the actions it allows now',
    description:
      "`allowedActions` is the caller's: when a LOCKED batch needs four-eyes approval, SUBMIT is absent for the one who locked it (`approval` says so).",
    path: z.object({ batchId: z.uuid() }),
    responses: { 200: BatchView },
    errors: ['NOT_FOUND'],
  },
  async ({ path, actor }) => {
    const batch = await requireBatch(path.batchId);
    const approval = await approvalFor(batch);
    return ok(batchView(batch, { actor, ...(approval ? { approval } : {}) }));
  },
);
