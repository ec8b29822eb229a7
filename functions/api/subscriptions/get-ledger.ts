import { z } from 'zod';
import { Id, RegisterName } from '../../../shared/domain/values';
import { ledgerOf } from '../../../shared/services/balances';
import { httpHandler, ok } from '../http-handler';
import { Paging } from '../list-query';
import { LedgerEntryView, Page, ledgerEntryView } from '../views';

export const handler = httpHandler(
  {
    summary: "Read a register's ledger: every grant, consumption, transfer and adjustment",
    path: z.object({ subscriptionId: Id, register: RegisterName }),
    query: z.object(Paging),
    responses: { 200: Page(LedgerEntryView, 'LedgerPage') },
    errors: ['NOT_FOUND'],
  },
  async ({ path, query }) => {
    const page = await ledgerOf(path.subscriptionId, path.register, query.limit, query.cursor);
    return ok({ items: page.items.map(ledgerEntryView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  },
);
