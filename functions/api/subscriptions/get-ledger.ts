import { z } from 'zod';
import { Id, RegisterName } from '../../../shared/domain/values';
import { ledgerOf } from '../../../shared/services/balances';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { ledgerEntryView } from '../views';

export const handler = httpHandler(
  { path: z.object({ subscriptionId: Id, register: RegisterName }), query: z.object(Paging) },
  async ({ path, query }) => {
    const page = await ledgerOf(path.subscriptionId, path.register, query.limit, query.cursor);
    return ok({ items: page.items.map(ledgerEntryView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
