import { z } from 'zod';
import { requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { batchView } from '../views';

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }) }, async ({ path }) => ok(batchView(await requireBatch(path.batchId))));
