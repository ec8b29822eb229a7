// Balance operations the API offers: grants (top-ups), transfers, balances and the ledger.
import { createHash, randomUUID } from 'node:crypto';
import { grantWindow, type GrantRequest } from '../domain/balance';
import { transferRefusal, type TransferRequest } from '../domain/balance-transfer';
import { formatQuantity } from '../domain/decimal';
import { domainEvent } from '../domain/domain-events';
import { effectiveDateRefusal, periodOf } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
import { registersOf, subscriptionStart } from '../domain/subscription';
import { requireAccount } from '../store/accounts';
import { applyTransfer, findTransfer } from '../store/balance-transfers';
import { addGrant, getBalance, listBalances, listLedger, requireRegisterOf } from '../store/balances';
import { getLedgerClose } from '../store/ledger-close';
import { requireSubscription } from '../store/subscriptions';
import { operationId } from './operation-id';
import { publishCommitted } from './publish-events';

/**
 * Grants allowance to a subscription's register. With an Idempotency-Key the grant id derives
 * from it, so a repeated call finds the grant it made instead of granting twice.
 */
export async function grantAllowance(
  subscriptionId: string,
  register: string,
  request: GrantRequest,
  actor: string,
  now: string,
  idempotencyKey?: string,
) {
  const sub = await requireSubscription(subscriptionId);
  requireRegisterOf(registersOf(sub), register, subscriptionId);
  const window = grantWindow(request, sub);
  if ('code' in window) throw new DomainError(window.code, window.message, [{ path: 'body.validFrom', ...window }]);
  // Keys are the caller's own: two callers with the same key make two grants.
  const grantId = idempotencyKey
    ? createHash('sha256')
        .update(`${subscriptionId}\n${register}\n${actor}\n${idempotencyKey}`)
        .digest('base64url')
        .slice(0, 22)
    : randomUUID();
  return addGrant(
    {
      subscriptionId,
      register,
      grantId,
      amount: request.amount,
      ...window,
      ...(request.reason ? { reason: request.reason } : {}),
    },
    actor,
    now,
  );
}

export async function balancesOf(subscriptionId: string, now: string) {
  const sub = await requireSubscription(subscriptionId);
  return listBalances(subscriptionId, registersOf(sub), now);
}

export async function ledgerOf(subscriptionId: string, register: string, limit: number, cursor?: string) {
  const sub = await requireSubscription(subscriptionId);
  requireRegisterOf(registersOf(sub), register, subscriptionId);
  return listLedger(subscriptionId, register, limit, cursor);
}

/**
 * Transfers an amount from one register to another of the same account and resource, effective
 * now or at a backdated instant. With an Idempotency-Key the transfer id derives from it and the
 * request, so a retry finds the transfer it made instead of transferring twice.
 */
export async function transferBalance(req: TransferRequest, actor: string, now: string, idempotencyKey?: string) {
  const [from, to] = await Promise.all([
    requireSubscription(req.from.subscriptionId),
    requireSubscription(req.to.subscriptionId),
  ]);
  const refusal = transferRefusal(from, to, req);
  if (refusal) throw new DomainError(refusal.code, refusal.message);
  requireRegisterOf(registersOf(from), req.from.register, from.subscriptionId);
  requireRegisterOf(registersOf(to), req.to.register, to.subscriptionId);
  const [account, close] = await Promise.all([requireAccount(from.accountId), getLedgerClose()]);
  const effectiveAt = req.effectiveAt ?? now;
  const starts = [subscriptionStart(from), subscriptionStart(to)].sort();
  const dateRefusal = effectiveDateRefusal(effectiveAt, {
    now,
    accountCreatedAt: account.createdAt,
    subscriptionStart: starts[1]!,
    ...(close.closedThrough ? { closedThrough: close.closedThrough } : {}),
  });
  if (dateRefusal)
    throw new DomainError(dateRefusal.code, dateRefusal.message, [{ path: 'body.effectiveAt', ...dateRefusal }]);

  const amount = formatQuantity(req.amount);
  const transferId = operationId(
    ['transfer', req.from.subscriptionId, req.from.register, req.to.subscriptionId, req.to.register, amount],
    actor,
    idempotencyKey,
  );
  const event = domainEvent(
    'BALANCE_TRANSFERRED',
    transferId,
    { accountId: account.accountId, occurredAt: now, actor },
    {
      transferId,
      from: req.from,
      to: req.to,
      amount,
      effectiveAt,
      ...(req.reason ? { reason: req.reason } : {}),
    },
  );
  const result =
    (await findTransfer(req, transferId)) ??
    (await applyTransfer({
      req,
      transferId,
      effectiveAt,
      now,
      actor,
      // Only a period that has ended can be closed, so only a transfer dated in one needs the guard.
      ...(periodOf(effectiveAt) < periodOf(now) ? { guardOpenPeriod: periodOf(effectiveAt) } : {}),
      event,
      log: {
        accountId: account.accountId,
        operationId: `transfer:${transferId}`,
        at: now,
        actor,
        action: 'BALANCE_TRANSFERRED',
        message: `${amount} ${req.from.register} transferred from ${req.from.subscriptionId} to ${req.to.subscriptionId}`,
        data: {
          transferId,
          from: req.from.subscriptionId,
          to: req.to.subscriptionId,
          register: req.from.register,
          amount,
          effectiveAt,
          ...(req.reason ? { reason: req.reason } : {}),
        },
      },
    }));
  if (!result.replayed) await publishCommitted([event], now);
  const [fromBalance, toBalance] = await Promise.all([
    getBalance(from.subscriptionId, req.from.register, now),
    getBalance(to.subscriptionId, req.to.register, now),
  ]);
  return { transferId, out: result.out, in: result.in, fromBalance, toBalance };
}
