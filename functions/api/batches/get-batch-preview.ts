import { z } from 'zod';
import { batchPreview } from '../../../shared/services/preview';
import { httpHandler, ok } from '../http-handler';

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }) }, async ({ path }) => ok(await batchPreview(path.batchId)));
