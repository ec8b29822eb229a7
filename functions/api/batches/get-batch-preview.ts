import { z } from 'zod';
import { batchPreview } from '../../../shared/services/preview';
import { httpHandler, ok } from '../http-handler';
import { PreviewView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read the exact preview of a locked batch: every balance and bill it will change',
    path: z.object({ batchId: z.uuid() }),
    responses: { 200: PreviewView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION'],
  }, async ({ path }) => ok(await batchPreview(path.batchId)));
