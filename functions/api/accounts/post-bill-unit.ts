import { z } from 'zod';
import { BillUnitInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { addBillUnit } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { billUnitView } from '../views';

export const handler = httpHandler({ path: z.object({ accountId: Id }), body: BillUnitInput }, async ({ path, body, actor }) => {
  const { billUnit, created: isNew } = await addBillUnit(path.accountId, body, actor, new Date().toISOString());
  return (isNew ? created : ok)(billUnitView(billUnit));
});
