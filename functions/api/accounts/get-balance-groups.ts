import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { balanceGroupsOf } from '../../../shared/services/balance-groups';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { BalanceGroupView, Page, balanceGroupView } from '../views';

export const handler = httpHandler(
  {
    summary: "List an account's balance groups and the bill unit each belongs to",
    path: z.object({ accountId: Id }),
    query: z.object(Paging),
    responses: { 200: Page(BalanceGroupView, 'BalanceGroupPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    const page = await balanceGroupsOf(path.accountId, query.limit, query.cursor);
    return ok({ items: page.items.map(balanceGroupView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
