import { getLedgerClose } from '../../../shared/store/ledger-close';
import { httpHandler, ok } from '../http-handler';
import { ledgerCloseView, LedgerCloseView } from '../views';

export const handler = httpHandler(
  { summary: 'Read the period the ledger is closed through', responses: { 200: LedgerCloseView } },
  async () => ok(ledgerCloseView(await getLedgerClose())),
);
