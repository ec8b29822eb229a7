import { z } from 'zod';
import { BalanceGroupId } from '../../../shared/domain/account';
import { MoveInput } from '../../../shared/domain/balance-group-move';
import { Id } from '../../../shared/domain/values';
import { moveGroup } from '../../../shared/services/balance-groups';
import { httpHandler, ok } from '../http-handler';
import { balanceGroupView } from '../views';

export const handler = httpHandler(
  { path: z.object({ accountId: Id, balanceGroupId: BalanceGroupId }), body: MoveInput },
  async ({ path, body, actor }) => {
    const { group, move } = await moveGroup(path.accountId, path.balanceGroupId, body, actor, new Date().toISOString());
    return ok({ ...move, balanceGroup: balanceGroupView(group) });
  },
);
