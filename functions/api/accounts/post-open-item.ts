import { z } from 'zod';
import { OpenItemInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { recordBillUnitOpenItem } from '../../../shared/services/accounts';
import { created, httpHandler, ok } from '../http-handler';
import { OpenItemView, openItemView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Record an open item (unallocated payment, refund, dispute) on a bill unit',
    description:
      'With an openItemId, or an Idempotency-Key, repeating the same request answers 200 with the item as it is.',
    path: z.object({ accountId: Id, billUnitId: Id }),
    body: OpenItemInput,
    responses: { 201: OpenItemView, 200: OpenItemView },
    errors: ['NOT_FOUND'],
  },
  async ({ path, body, actor, headers }) => {
    const {
      openItem,
      created: isNew,
      currency,
    } = await recordBillUnitOpenItem(
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
