import { z } from 'zod';
import { AccountInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { createAccount } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { accountView, AccountView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Create an account (with its default bill unit and balance group)',
    description: 'Repeating the same request answers 200 with the account as it is.',
    path: z.object({ accountId: Id }),
    body: AccountInput,
    responses: { 201: AccountView, 200: AccountView },
    errors: ['FUTURE_DATED'],
  },
  async ({ path, body, actor }) => {
    const {
      account,
      billUnits,
      created: isNew,
    } = await createAccount(path.accountId, body, actor, new Date().toISOString());
    return (isNew ? created : ok)(accountView(account, billUnits));
  },
);
