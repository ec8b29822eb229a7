import { BatchInput } from '../../../shared/domain/batch';
import { openBatch } from '../../../shared/services/batches';
import { created, httpHandler } from '../http-handler';
import { BatchView, batchView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Open a correction batch (RATING, RERATE or REVERSE_REPLACE) in DRAFT',
    body: BatchInput,
    responses: { 201: BatchView },
    errors: ['ACTION_NOT_ALLOWED_FOR_TYPE', 'FUTURE_DATED'],
  },
  async ({ body, actor }) => created(batchView(await openBatch(body, actor, new Date().toISOString()))),
);
