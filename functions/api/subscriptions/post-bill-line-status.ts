import { z } from 'zod';
import { BillStatusInput } from '../../../shared/domain/bill-line';
import { Id, Period } from '../../../shared/domain/values';
import { setBillStatus } from '../../../shared/store/bill-lines';
import { httpHandler, ok } from '../http-handler';
import { billLineView, BillLineView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Move a bill line on: OPEN → BILLED → INTERFACED',
    path: z.object({ subscriptionId: Id, period: Period }),
    body: BillStatusInput,
    responses: { 200: BillLineView },
    errors: ['NOT_FOUND', 'INVALID_TRANSITION'],
  },
  async ({ path, body }) =>
    ok(billLineView(await setBillStatus(path.subscriptionId, path.period, body.status, new Date().toISOString()))),
);
