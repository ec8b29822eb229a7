import { z } from 'zod';
import { Id } from '../../../shared/domain/values';
import { billUnitDetail } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { billUnitView } from '../views';

export const handler = httpHandler({ path: z.object({ accountId: Id, billUnitId: Id }) }, async ({ path }) =>
  ok(billUnitView((await billUnitDetail(path.accountId, path.billUnitId)).billUnit)),
);
