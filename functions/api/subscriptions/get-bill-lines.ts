import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { billLinesOf, creditRebillOf } from '../../../shared/services/bill-lines';
import { httpHandler, ok } from '../http-handler';
import { BillLineView, List, billLineView } from '../views';

export const handler = httpHandler(
  {
    summary: "List a subscription's bill lines, one per period",
    path: z.object({ subscriptionId: Id }),
    responses: { 200: List(BillLineView, 'BillLineList') },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => {
    const [lines, documents] = await Promise.all([
      billLinesOf(path.subscriptionId),
      creditRebillOf(path.subscriptionId),
    ]);
    return ok({ items: lines.map((l) => billLineView(l, documents)) });
  },
);
