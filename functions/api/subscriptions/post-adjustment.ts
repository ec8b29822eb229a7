import { z } from 'zod';
import { AdjustmentInput } from '../../../shared/domain/adjustment';
import { Id } from '../../../shared/domain/values';
import { adjust } from '../../../shared/services/adjustments';
import { created, httpHandler } from '../http-handler';
import { AdjustmentResultView, adjustmentView, balanceView, billLineView, ledgerEntryView } from '../views';

export const handler = httpHandler(
  {
    summary: "Adjust a subscription's register or bill, effective now or backdated",
    path: z.object({ subscriptionId: Id }),
    body: AdjustmentInput,
    responses: { 201: AdjustmentResultView },
    errors: ['NOT_FOUND', 'INSUFFICIENT_BALANCE', 'BACKDATE_OUT_OF_RANGE', 'FUTURE_DATED'],
  },
  async ({ path, body, actor, headers }) => {
    const r = await adjust(path.subscriptionId, body, actor, new Date().toISOString(), headers['idempotency-key']);
    return created({
      adjustment: adjustmentView(r.adjustment),
      ...('entry' in r && r.entry ? { entry: ledgerEntryView(r.entry) } : {}),
      ...('balance' in r && r.balance ? { balance: balanceView(r.balance) } : {}),
      ...('billLine' in r && r.billLine ? { billLine: billLineView(r.billLine) } : {}),
    });
  },
);
