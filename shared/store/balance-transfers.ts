import type { AccountLogEntry } from '../domain/account';
import { planDebit, type LedgerEntry } from '../domain/balance';
import { transferEntries, type TransferRequest } from '../domain/balance-transfer';
import type { DomainEvent } from '../domain/domain-events';
import { DomainError } from '../domain/errors';
import { accountLogPut } from './account-log';
import { getLedgerEntry, grantDebitUpdate, grantPut, ledgerEntryPut, listGrants, registerUpdate } from './balances';
import { intent, refusals, transact, type Intent } from './intents';
import { ledgerOpenCheck } from './ledger-close';
import { outboxPut } from './outbox';

/** Re-plans after a source grant changed under the plan (rating, another debit) before giving up. */
const MAX_REPLANS = 10;

export interface TransferCommand {
  req: TransferRequest;
  transferId: string;
  effectiveAt: string;
  now: string;
  actor: string;
  /** Set when the effective period is one a concurrent ledger close could close. */
  guardOpenPeriod?: string;
  log: AccountLogEntry;
  event: DomainEvent;
}

export interface TransferResult {
  out: LedgerEntry;
  in: LedgerEntry;
  /** True when the transfer had already been made (a retry): nothing was written now. */
  replayed: boolean;
}

type Role = 'debit' | 'credit' | 'register' | 'ledger' | 'ledger-close' | 'log' | 'outbox';

/** The transfer's entries if it was already made. */
export async function findTransfer(req: TransferRequest, transferId: string): Promise<TransferResult | undefined> {
  const [out, inEntry] = await Promise.all([
    getLedgerEntry(req.from.subscriptionId, req.from.register, `transfer:${transferId}:out`),
    getLedgerEntry(req.to.subscriptionId, req.to.register, `transfer:${transferId}:in`),
  ]);
  return out && inEntry ? { out, in: inEntry, replayed: true } : undefined;
}

export async function applyTransfer(cmd: TransferCommand): Promise<TransferResult> {
  const { req } = cmd;
  for (let replans = 0; replans < MAX_REPLANS; replans++) {
    const plan = planDebit(
      await listGrants(req.from.subscriptionId, req.from.register),
      req.from.register,
      req.amount,
      cmd.effectiveAt,
    );
    if (!plan.ok) {
      // A retry of a transfer that went through finds the source already emptied by itself.
      const done = await findTransfer(req, cmd.transferId);
      if (done) return done;
      throw new DomainError(plan.code, plan.message, [{ path: 'body.amount', code: plan.code, message: plan.message }]);
    }
    const entries = transferEntries(req, cmd.transferId, plan.takes, cmd);
    const items: Array<Intent<Role>> = [
      ...plan.takes.map((t) => intent<Role>('debit', grantDebitUpdate(req.from.subscriptionId, req.from.register, t))),
      ...entries.credits.map((c) =>
        intent<Role>(
          'credit',
          grantPut(
            {
              subscriptionId: req.to.subscriptionId,
              register: req.to.register,
              ...c,
              ...(req.reason ? { reason: req.reason } : {}),
            },
            cmd.now,
          ),
        ),
      ),
      intent<Role>('register', registerUpdate(entries.out)),
      intent<Role>('register', registerUpdate(entries.in)),
      intent<Role>('ledger', ledgerEntryPut(entries.out)),
      intent<Role>('ledger', ledgerEntryPut(entries.in)),
      ...(cmd.guardOpenPeriod ? [intent<Role>('ledger-close', ledgerOpenCheck(cmd.guardOpenPeriod))] : []),
      intent<Role>('log', accountLogPut(cmd.log)),
      intent<Role>('outbox', outboxPut(cmd.event)),
    ];
    try {
      await transact(items);
      return { out: entries.out, in: entries.in, replayed: false };
    } catch (err) {
      const failed = refusals(err, items);
      if (!failed) throw err;
      if (failed.has('ledger')) {
        const done = await findTransfer(req, cmd.transferId);
        if (done) return done;
      }
      if (failed.has('ledger-close')) {
        throw new DomainError(
          'BACKDATE_OUT_OF_RANGE',
          `the ledger was closed through ${cmd.guardOpenPeriod} or later while the transfer was being made`,
        );
      }
      // A source grant no longer holds what the plan takes: read again and re-plan.
      if (!failed.has('debit')) throw err;
    }
  }
  throw new DomainError(
    'CONFLICT',
    `register ${req.from.register} of ${req.from.subscriptionId} kept changing; retry the transfer`,
  );
}
