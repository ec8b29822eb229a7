import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { accountLog } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { AccountLogEntryView, Page, accountLogView } from '../views';

export const handler = httpHandler(
  {
    summary: "Read an account's audit log, oldest first",
    path: z.object({ accountId: Id }),
    query: z.object(Paging),
    responses: { 200: Page(AccountLogEntryView, 'AccountLogPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    const page = await accountLog(path.accountId, query.limit, query.cursor);
    return ok({ items: page.items.map(accountLogView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
