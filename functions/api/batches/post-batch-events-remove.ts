import { z } from 'zod';
import { RemoveRequest } from '../../../shared/domain/batch';
import { removeEvents } from '../../../shared/services/batches';
import { httpHandler, ok } from '../http-handler';

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }), body: RemoveRequest }, async ({ path, body, actor }) =>
  ok(await removeEvents(path.batchId, body, actor, new Date().toISOString())),
);
