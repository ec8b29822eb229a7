import { BatchInput } from '../../../shared/domain/batch';
import { openBatch } from '../../../shared/services/batches';
import { created, httpHandler } from '../http-handler';
import { batchView } from '../views';

export const handler = httpHandler({ body: BatchInput }, async ({ body, actor }) => created(batchView(await openBatch(body, actor, new Date().toISOString()))));
