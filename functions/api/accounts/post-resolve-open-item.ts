import { z } from 'zod';
import { ResolveOpenItemInput } from '../../../shared/domain/account';
import { Id } from '../../../shared/domain/values';
import { resolveBillUnitOpenItem } from '../../../shared/services/accounts';
import { httpHandler, ok } from '../http-handler';
import { openItemView } from '../views';

export const handler = httpHandler(
  { path: z.object({ accountId: Id, billUnitId: Id, openItemId: Id }), body: ResolveOpenItemInput },
  async ({ path, body, actor }) => {
    const { openItem, currency } = await resolveBillUnitOpenItem(path.accountId, path.billUnitId, path.openItemId, body, actor, new Date().toISOString());
    return ok(openItemView(openItem, currency));
  },
);
