// Closing the ledger: the rule (only forward, never into the future) is the domain's; the store
// moves the close only if nobody moved it as far meanwhile.
import { ledgerCloseRefusal } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
import { getLedgerClose, moveLedgerClose, type LedgerClose } from '../store/ledger-close';

/** Moves the close forward (asking for the period already closed is a no-op). */
export async function closeLedgerThrough(period: string, actor: string, now: string): Promise<LedgerClose> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await getLedgerClose();
    const refusal = ledgerCloseRefusal(period, current.closedThrough, now);
    if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.closedThrough', ...refusal }]);
    if (current.closedThrough === period) return current;
    if (await moveLedgerClose(period, actor, now)) return { closedThrough: period, updatedAt: now, updatedBy: actor };
    // Someone closed at the same time: read again and judge against what they wrote.
  }
  throw new DomainError('CONFLICT', 'the ledger close changed concurrently; read it and retry');
}
