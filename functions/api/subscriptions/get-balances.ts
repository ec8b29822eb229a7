import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { balancesOf } from '../../../shared/services/balances';
import { httpHandler, ok } from '../http-handler';
import { BalanceViewSchema, List, balanceView } from '../views';

export const handler = httpHandler(
  {
    summary: "Read a subscription's balances, one per register",
    path: z.object({ subscriptionId: Id }),
    responses: { 200: List(BalanceViewSchema, 'BalanceList') },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => ok({ items: (await balancesOf(path.subscriptionId, new Date().toISOString())).map(balanceView) }),
);
