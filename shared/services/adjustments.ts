// Adjustments the API offers: a debit or credit to a register or a bill, backdated within the
// limits of effectiveDateRefusal and placed on a bill by the account's accounting method.
import type { Adjustment, AdjustmentRequest } from '../domain/adjustment';
import { formatMoney, formatQuantity, parseMoney } from '../domain/decimal';
import { domainEvent, type BalanceAdjusted } from '../domain/domain-events';
import { effectiveDateRefusal, periodOf } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
import { registersOf, subscriptionStart } from '../domain/subscription';
import { requireAccount } from '../store/accounts';
import { applyAdjustment, getAdjustment, listAdjustments, type AdjustmentDraft } from '../store/adjustments';
import { getBalance, getLedgerEntry, requireRegisterOf } from '../store/balances';
import { getLedgerClose } from '../store/ledger-close';
import { requireSubscription } from '../store/subscriptions';
import { billLinesOf } from './bill-lines';
import { operationId } from './operation-id';
import { publishCommitted } from './publish-events';

const invalid = (path: string, message: string) =>
  new DomainError('VALIDATION_FAILED', 'The request is not valid', [{ path, code: 'VALIDATION_FAILED', message }]);

/** Money for a bill adjustment, a quantity for a register adjustment. */
const formatAdjustmentAmount = (a: Pick<Adjustment, 'amount' | 'currency'>) =>
  a.currency ? formatMoney(a.amount, a.currency) : formatQuantity(a.amount);

/**
 * Records an adjustment. With an Idempotency-Key its id derives from the key and the request, so a
 * retry finds the adjustment it made instead of adjusting twice.
 */
export async function adjust(
  subscriptionId: string,
  req: AdjustmentRequest,
  actor: string,
  now: string,
  idempotencyKey?: string,
) {
  const sub = await requireSubscription(subscriptionId);
  const [account, close] = await Promise.all([requireAccount(sub.accountId), getLedgerClose()]);
  const effectiveAt = req.effectiveAt ?? now;
  const refusal = effectiveDateRefusal(effectiveAt, {
    now,
    accountCreatedAt: account.createdAt,
    subscriptionStart: subscriptionStart(sub),
    ...(close.closedThrough ? { closedThrough: close.closedThrough } : {}),
  });
  if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.effectiveAt', ...refusal }]);

  let amount: bigint;
  if (req.target === 'REGISTER') {
    requireRegisterOf(registersOf(sub), req.register, subscriptionId);
    if (req.validTo !== undefined && req.validTo <= effectiveAt)
      throw invalid('body.validTo', 'validTo must be after the effective date');
    if (req.validTo !== undefined && req.direction === 'DEBIT')
      throw invalid('body.validTo', 'only a credit creates allowance that can expire');
    amount = req.amount;
  } else {
    const r = parseMoney(req.amount, sub.currency);
    if (!r.ok) throw invalid('body.amount', `${r.message} for ${sub.currency}`);
    if (r.value === 0n) throw invalid('body.amount', 'must be greater than zero');
    amount = r.value;
  }
  const currency = req.target === 'BILL' ? { currency: sub.currency } : {};
  const adjustmentId = operationId(
    [
      'adjustment',
      subscriptionId,
      req.target,
      req.target === 'REGISTER' ? req.register : '',
      req.direction,
      formatAdjustmentAmount({ amount, ...currency }),
      effectiveAt,
    ],
    actor,
    idempotencyKey,
  );
  const draft: AdjustmentDraft = {
    adjustmentId,
    subscriptionId,
    accountId: account.accountId,
    target: req.target,
    direction: req.direction,
    amount,
    ...(req.target === 'REGISTER'
      ? { register: req.register, ...(req.validTo ? { validTo: req.validTo } : {}) }
      : currency),
    effectiveAt,
    at: now,
    actor,
    reason: req.reason,
  };

  const existing = await getAdjustment(subscriptionId, adjustmentId);
  const result = existing
    ? { adjustment: existing, replayed: true, event: undefined }
    : await applyAdjustment({
        draft,
        subscription: sub,
        accountingMethod: account.accountingMethod,
        ...(periodOf(effectiveAt) < periodOf(now) ? { guardOpenPeriod: periodOf(effectiveAt) } : {}),
        record: (a) => {
          const shown = formatAdjustmentAmount(a);
          const where = a.treatment === 'REGISTER' ? `register ${a.register}` : `${a.treatment} ${a.period}`;
          const detail: BalanceAdjusted = {
            adjustmentId: a.adjustmentId,
            subscriptionId,
            target: a.target,
            direction: a.direction,
            amount: shown,
            effectiveAt,
            treatment: a.treatment,
            reason: a.reason,
            ...(a.register ? { register: a.register } : {}),
            ...(a.currency ? { currency: a.currency } : {}),
            ...(a.period ? { postedPeriod: a.period } : {}),
          };
          // The audit log shows the event's details, naming the posted period as the log always has.
          const { postedPeriod, ...logged } = detail;
          const data: Record<string, string> = {
            ...(logged as Record<string, string>),
            ...(postedPeriod ? { period: postedPeriod } : {}),
          };
          return {
            log: {
              accountId: account.accountId,
              operationId: `adjustment:${a.adjustmentId}`,
              at: now,
              actor,
              action: 'BALANCE_ADJUSTED',
              message: `${a.direction} ${shown} on ${subscriptionId} (${where})`,
              data,
            },
            event: domainEvent(
              'BALANCE_ADJUSTED',
              a.adjustmentId,
              { accountId: account.accountId, occurredAt: now, actor },
              detail,
            ),
          };
        },
      });
  if (!result.replayed && result.event) await publishCommitted([result.event], now);
  const { adjustment } = result;
  if (adjustment.target === 'REGISTER') {
    const [entry, balance] = await Promise.all([
      getLedgerEntry(subscriptionId, adjustment.register!, `adjustment:${adjustment.adjustmentId}`),
      getBalance(subscriptionId, adjustment.register!, now),
    ]);
    return { adjustment, entry, balance };
  }
  const line = adjustment.period
    ? (await billLinesOf(subscriptionId)).find((l) => l.period === adjustment.period)
    : undefined;
  return { adjustment, ...(line && adjustment.treatment !== 'AGAINST_BILLED_ITEM' ? { billLine: line } : {}) };
}

export async function adjustmentsOf(subscriptionId: string) {
  await requireSubscription(subscriptionId);
  return listAdjustments(subscriptionId);
}
