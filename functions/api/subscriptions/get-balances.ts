import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { balancesOf } from '../../../shared/services/balances';
import { httpHandler, ok } from '../http-handler';
import { balanceView } from '../views';

export const handler = httpHandler({ path: z.object({ subscriptionId: Id }) }, async ({ path }) =>
  ok({ items: (await balancesOf(path.subscriptionId, new Date().toISOString())).map(balanceView) }),
);
