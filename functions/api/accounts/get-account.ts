import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { accountDetail } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { AccountView, accountView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read an account with its bill units',
    path: z.object({ accountId: Id }),
    responses: { 200: AccountView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => {
    const { account, billUnits } = await accountDetail(path.accountId);
    return ok(accountView(account, billUnits));
  },
);
