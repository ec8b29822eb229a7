import { z } from 'zod';
import { BalanceGroupId } from '../../../shared/domain/account';
import { MoveInput } from '../../../shared/domain/balance-group-move';
import { Id } from '../../../shared/domain/values';
import { moveGroup } from '../../../shared/services/balance-groups';
import { httpHandler, ok } from '../http-handler';
import { MoveResultView, balanceGroupView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Move a balance group to another bill unit of the account',
    path: z.object({ accountId: Id, balanceGroupId: BalanceGroupId }),
    body: MoveInput,
    responses: { 200: MoveResultView },
    errors: ['NOT_FOUND', 'CROSS_ACCOUNT', 'DEFAULT_BALANCE_GROUP', 'BILL_UNIT_HAS_OPEN_ITEMS'],
  },
  async ({ path, body, actor }) => {
    const { group, move } = await moveGroup(path.accountId, path.balanceGroupId, body, actor, new Date().toISOString());
    return ok({ ...move, balanceGroup: balanceGroupView(group) });
  },
);
