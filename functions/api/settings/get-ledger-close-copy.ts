import { getLedgerClose } from '../../../shared/store/ledger-close';
import { httpHandler, ok } from '../http-handler';
import { ledgerCloseView, LedgerCloseView } from '../views';

export const handler = httpHandler(
  { summary: 'Read the ledger close (scratch)', responses: { 200: LedgerCloseView } },
  async () => ok(ledgerCloseView(await getLedgerClose())),
);
