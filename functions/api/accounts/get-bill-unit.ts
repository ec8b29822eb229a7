import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { billUnitDetail } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { BillUnitView, billUnitView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Read a bill unit',
    path: z.object({ accountId: Id, billUnitId: Id }),
    responses: { 200: BillUnitView },
    errors: ['NOT_FOUND'],
  },
  async ({ path }) => ok(billUnitView((await billUnitDetail(path.accountId, path.billUnitId)).billUnit)),
);
