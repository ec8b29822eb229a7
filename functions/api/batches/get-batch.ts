import { z } from 'zod';
import { requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { BatchView, batchView } from '../views';

export const handler = httpHandler(
  { summary: 'Read a batch: status, counts, progress and the actions it allows now', path: z.object({ batchId: z.uuid() }), responses: { 200: BatchView }, errors: ['NOT_FOUND'] }, async ({ path }) => ok(batchView(await requireBatch(path.batchId))));
