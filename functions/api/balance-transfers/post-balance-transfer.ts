import { TransferInput } from '../../../shared/domain/balance-transfer';
import { transferBalance } from '../../../shared/services/balances';
import { created, httpHandler } from '../http-handler';
import { TransferView, transferView } from '../views';

export const handler = httpHandler(
  {
    summary: "Move allowance from one subscription's register to another's in the same account",
    body: TransferInput,
    responses: { 201: TransferView },
    errors: [
      'NOT_FOUND',
      'CROSS_ACCOUNT',
      'RESOURCE_MISMATCH',
      'INSUFFICIENT_BALANCE',
      'BACKDATE_OUT_OF_RANGE',
      'FUTURE_DATED',
    ],
  },
  async ({ body, actor, headers }) =>
    created(transferView(await transferBalance(body, actor, new Date().toISOString(), headers['idempotency-key']))),
);
