import { z } from 'zod';
import { AccountInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { createAccount } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { accountView } from '../views';

export const handler = httpHandler({ path: z.object({ accountId: Id }), body: AccountInput }, async ({ path, body, actor }) => {
  const { account, billUnits, created: isNew } = await createAccount(path.accountId, body, actor, new Date().toISOString());
  return (isNew ? created : ok)(accountView(account, billUnits));
});
