import { z } from 'zod';
import { BATCH_STATUSES, BATCH_TYPES } from '../../../shared/domain/batch';
import { listBatches } from '../../../shared/store/batches';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { BatchView, Page, batchView } from '../views';

const Query = z.object({ status: z.enum(BATCH_STATUSES).optional(), type: z.enum(BATCH_TYPES).optional(), ...Paging });

export const handler = httpHandler(
  {
    summary: 'List batches, newest first, by status or type',
    query: Query,
    responses: { 200: Page(BatchView, 'BatchPage') },
  },
  async ({ query }) => {
    const { limit, cursor, ...filter } = query;
    const page = await listBatches(filter, limit, cursor);
    return ok({
      items: page.items.map((b) => batchView(b)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  },
);
