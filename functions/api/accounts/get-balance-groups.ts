import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { balanceGroupsOf } from '../../../shared/services/balance-groups';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { balanceGroupView } from '../views';

export const handler = httpHandler({ path: z.object({ accountId: Id }), query: z.object(Paging) }, async ({ path, query }) => {
  const page = await balanceGroupsOf(path.accountId, query.limit, query.cursor);
  return ok({ items: page.items.map(balanceGroupView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
});
