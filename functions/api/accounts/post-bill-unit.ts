import { z } from 'zod';
import { BillUnitInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { addBillUnit } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { BillUnitView, billUnitView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Add a bill unit to an account',
    description: 'Repeating the same request answers 200 with the bill unit as it is.',
    path: z.object({ accountId: Id }),
    body: BillUnitInput,
    responses: { 201: BillUnitView, 200: BillUnitView },
    errors: ['NOT_FOUND'],
  },
  async ({ path, body, actor }) => {
    const { billUnit, created: isNew } = await addBillUnit(path.accountId, body, actor, new Date().toISOString());
    return (isNew ? created : ok)(billUnitView(billUnit));
  },
);
