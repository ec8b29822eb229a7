import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { accountDetail } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { accountView } from '../views';

export const handler = httpHandler({ path: z.object({ accountId: Id }) }, async ({ path }) => {
  const { account, billUnits } = await accountDetail(path.accountId);
  return ok(accountView(account, billUnits));
});
