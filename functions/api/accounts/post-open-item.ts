import { z } from 'zod';
import { OpenItemInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { recordBillUnitOpenItem } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { openItemView } from '../views';

export const handler = httpHandler(
  { path: z.object({ accountId: Id, billUnitId: Id }), body: OpenItemInput },
  async ({ path, body, actor, headers }) => {
    const { openItem, created: isNew, currency } = await recordBillUnitOpenItem(
      path.accountId,
      path.billUnitId,
      body,
      actor,
      new Date().toISOString(),
      headers['idempotency-key'],
    );
    return (isNew ? created : ok)(openItemView(openItem, currency));
  },
);
