import { z } from 'zod';
import { listLog } from '../../../shared/store/batch-log';
import { requireBatch } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { BatchLogEntryView, Page } from '../views';

export const handler = httpHandler(
  {
    summary: "Read a batch's log: every action on it, oldest first",
    path: z.object({ batchId: z.uuid() }),
    query: z.object(Paging),
    responses: { 200: Page(BatchLogEntryView, 'BatchLogPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    await requireBatch(path.batchId);
    const page = await listLog(path.batchId, query.limit, query.cursor);
    return ok({ items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
