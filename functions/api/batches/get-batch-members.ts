import { z } from 'zod';
import { listMembers, requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';

const Query = z.object({
  state: z.enum(['HELD', 'LOCKED', 'ERROR', 'PROCESSED', 'FAILED']).optional(),
  errorCode: z.string().regex(/^[A-Z_]{1,64}$/).optional(),
  ...Paging,
});

export const handler = httpHandler({ path: z.object({ batchId: z.uuid() }), query: Query }, async ({ path, query }) => {
  await requireBatch(path.batchId);
  const { limit, cursor, ...filter } = query;
  const page = await listMembers(path.batchId, filter, limit, cursor);
  return ok({ items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
});
