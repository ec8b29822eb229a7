import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { openItemsOf } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { openItemView } from '../views';

export const handler = httpHandler(
  { path: z.object({ accountId: Id, billUnitId: Id }), query: z.object({ ...Paging, status: z.enum(['OPEN', 'RESOLVED']).optional() }) },
  async ({ path, query }) => {
    const page = await openItemsOf(path.accountId, path.billUnitId, query.status, query.limit, query.cursor);
    return ok({ items: page.items.map((o) => openItemView(o, page.currency)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
