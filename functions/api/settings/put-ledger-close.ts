import { z } from 'zod';
import { Period } from '../../../shared/domain/values';
import { closeLedgerThrough } from '../../../shared/services/ledger-close';
import { httpHandler, ok } from '../http-handler';
import { ledgerCloseView, LedgerCloseView } from '../views';

export const handler = httpHandler(
  {
    summary: 'Close the ledger through a period: nothing may be backdated into it after',
    body: z.strictObject({ closedThrough: Period }),
    responses: { 200: LedgerCloseView },
    errors: ['INVALID_TRANSITION', 'FUTURE_DATED'],
  },
  async ({ body, actor }) =>
    ok(ledgerCloseView(await closeLedgerThrough(body.closedThrough, actor, new Date().toISOString()))),
);
