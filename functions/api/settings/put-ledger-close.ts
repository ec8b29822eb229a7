import { z } from 'zod';
import { Period } from '../../../shared/domain/values';
import { closeLedgerThrough } from '../../../shared/store/ledger-close';
import { httpHandler, ok } from '../http-handler';
import { ledgerCloseView } from '../views';

export const handler = httpHandler({ body: z.strictObject({ closedThrough: Period }) }, async ({ body, actor }) =>
  ok(ledgerCloseView(await closeLedgerThrough(body.closedThrough, actor, new Date().toISOString()))),
);
