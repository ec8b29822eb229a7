import { TransferInput } from '../../../shared/domain/balance-transfer';
import { transferBalance } from '../../../shared/services/balances';
import { created, httpHandler } from '../http-handler';
import { transferView } from '../views';

export const handler = httpHandler({ body: TransferInput }, async ({ body, actor, headers }) =>
  created(transferView(await transferBalance(body, actor, new Date().toISOString(), headers['idempotency-key']))),
);
