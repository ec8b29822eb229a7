import { z } from 'zod';
import { GrantInput } from '../../../shared/domain/balance';
import { Id, RegisterName } from '../../../shared/domain/values';
import { grantAllowance } from '../../../shared/services/balances';
import { created, httpHandler } from '../http-handler';
import { GrantResultView, balanceView, ledgerEntryView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Grant allowance to a register (a plan allowance or a top-up)',
    path: z.object({ subscriptionId: Id, register: RegisterName }),
    body: GrantInput,
    responses: { 201: GrantResultView },
    errors: ['NOT_FOUND', 'BACKDATE_OUT_OF_RANGE'],
  },
  async ({ path, body, actor, headers }) => {
    const { entry, balance } = await grantAllowance(
      path.subscriptionId,
      path.register,
      body,
      actor,
      new Date().toISOString(),
      headers['idempotency-key'],
    );
    return created({ entry: ledgerEntryView(entry), balance: balanceView(balance) });
  },
);
