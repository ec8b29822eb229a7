import { z } from 'zod';
import { OPEN_ITEM_STATUSES } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { openItemsOf } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { OpenItemView, Page, openItemView } from '../views';

export const handler = httpHandler(
  {
    summary: "List a bill unit's open items",
    path: z.object({ accountId: Id, billUnitId: Id }),
    query: z.object({ ...Paging, status: z.enum(OPEN_ITEM_STATUSES).optional() }),
    responses: { 200: Page(OpenItemView, 'OpenItemPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    const page = await openItemsOf(path.accountId, path.billUnitId, query.status, query.limit, query.cursor);
    return ok({
      items: page.items.map((o) => openItemView(o, page.currency)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  },
);
