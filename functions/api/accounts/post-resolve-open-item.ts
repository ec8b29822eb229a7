import { z } from 'zod';
import { ResolveOpenItemInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { resolveBillUnitOpenItem } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { OpenItemView, openItemView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Resolve an open item',
    path: z.object({ accountId: Id, billUnitId: Id, openItemId: Id }),
    body: ResolveOpenItemInput,
    responses: { 200: OpenItemView },
    errors: ['NOT_FOUND'],
  },
  async ({ path, body, actor }) => {
    const { openItem, currency } = await resolveBillUnitOpenItem(
      path.accountId,
      path.billUnitId,
      path.openItemId,
      body,
      actor,
      new Date().toISOString(),
    );
    return ok(openItemView(openItem, currency));
  },
);
