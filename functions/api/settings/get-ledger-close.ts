import { getLedgerClose } from '../../../shared/store/ledger-close';
import { httpHandler, ok } from '../http-handler';
import { ledgerCloseView } from '../views';

export const handler = httpHandler({}, async () => ok(ledgerCloseView(await getLedgerClose())));
