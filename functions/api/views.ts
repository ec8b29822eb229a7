// Response shapes of the API: quantities and money as decimal strings, never numbers.
import { allowedActions, FINISHED, type Batch, type BatchMember } from '../../shared/domain/batch';
import { DEFAULT_BALANCE_GROUP_ID, type Account, type AccountLogEntry, type BalanceGroup, type BillUnit, type OpenItem } from '../../shared/domain/account';
import type { Adjustment } from '../../shared/domain/adjustment';
import { billTotal, minimumTrueUp, type BillLine } from '../../shared/domain/bill-line';
import type { BalanceView, LedgerEntry } from '../../shared/domain/balance';
import { formatMoney, formatPrice, formatQuantity } from '../../shared/domain/decimal';
import type { Subscription } from '../../shared/domain/subscription';
import type { UsageEvent } from '../../shared/domain/usage-event';
import type { LedgerClose } from '../../shared/store/ledger-close';

export const subscriptionView = (s: Subscription) => ({
  subscriptionId: s.subscriptionId,
  accountId: s.accountId,
  startDate: s.startDate,
  currency: s.currency,
  products: Object.fromEntries(Object.entries(s.products).map(([id, p]) => [id, { register: p.register, unitPrice: formatPrice(p.unitPrice) }])),
  ...(s.periodMinimum !== undefined ? { periodMinimum: formatMoney(s.periodMinimum, s.currency) } : {}),
  planVersion: s.planVersion,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

export const balanceView = (b: BalanceView) => ({
  register: b.register,
  granted: formatQuantity(b.granted),
  consumed: formatQuantity(b.consumed),
  available: formatQuantity(b.available),
});

export const ledgerEntryView = (e: LedgerEntry) => ({
  entryId: e.entryId,
  kind: e.kind,
  granted: formatQuantity(e.granted),
  consumed: formatQuantity(e.consumed),
  at: e.at,
  actor: e.actor,
  ...(e.reason ? { reason: e.reason } : {}),
  ...(e.grantId ? { grantId: e.grantId } : {}),
  ...(e.batchId ? { batchId: e.batchId } : {}),
  ...(e.eventCount !== undefined ? { eventCount: e.eventCount } : {}),
  ...(e.effectiveAt ? { effectiveAt: e.effectiveAt } : {}),
  ...(e.transferId ? { transferId: e.transferId } : {}),
  ...(e.adjustmentId ? { adjustmentId: e.adjustmentId } : {}),
  ...(e.counterpart ? { counterpart: e.counterpart } : {}),
  ...(e.grantChanges ? { grantChanges: e.grantChanges.map((c) => ({ grantId: c.grantId, amount: formatQuantity(c.amount) })) } : {}),
});

export const transferView = (t: { transferId: string; out: LedgerEntry; in: LedgerEntry; fromBalance: BalanceView; toBalance: BalanceView }) => ({
  transferId: t.transferId,
  amount: formatQuantity(t.in.granted),
  effectiveAt: t.in.effectiveAt,
  from: { subscriptionId: t.out.subscriptionId, register: t.out.register, entry: ledgerEntryView(t.out), balance: balanceView(t.fromBalance) },
  to: { subscriptionId: t.in.subscriptionId, register: t.in.register, entry: ledgerEntryView(t.in), balance: balanceView(t.toBalance) },
});

export const billLineView = (l: BillLine) => ({
  period: l.period,
  currency: l.currency,
  usageAmount: formatMoney(l.usageAmount, l.currency),
  minimumTrueUp: formatMoney(minimumTrueUp(l), l.currency),
  adjustments: formatMoney(l.adjustments, l.currency),
  total: formatMoney(billTotal(l), l.currency),
  previousBalanceAdjustments: formatMoney(l.previousBalanceAdjustments, l.currency),
  eventCount: l.eventCount,
  status: l.status,
  ...(l.billUnitId ? { billUnitId: l.billUnitId } : {}),
  updatedAt: l.updatedAt,
});

export function eventView(e: UsageEvent, currency: string, childEventIds?: string[]) {
  return {
    eventId: e.eventId,
    subscriptionId: e.subscriptionId,
    productId: e.productId,
    register: e.register,
    quantity: formatQuantity(e.quantity),
    occurredAt: e.occurredAt,
    attributes: e.attributes,
    status: e.status,
    ...(e.rating
      ? {
          rating: {
            allowanceUsed: formatQuantity(e.rating.allowanceUsed),
            draws: e.rating.draws.map((d) => ({ grantId: d.grantId, quantity: formatQuantity(d.quantity) })),
            overageQuantity: formatQuantity(e.rating.overageQuantity),
            unitPrice: formatPrice(e.rating.unitPrice),
            amount: formatMoney(e.rating.amount, currency),
            currency,
            billPeriod: e.rating.billPeriod,
            planVersion: e.rating.planVersion,
            ratedAt: e.rating.ratedAt,
          },
        }
      : {}),
    ...(e.heldBy ? { heldBy: e.heldBy } : {}),
    ...(e.lockedBy ? { lockedBy: e.lockedBy } : {}),
    lineage: {
      ...(e.parentEventId ? { parentEventId: e.parentEventId } : {}),
      ...(childEventIds ? { childEventIds } : {}),
      ...(e.replaces ? { replaces: e.replaces } : {}),
      ...(e.replacedBy ? { replacedBy: e.replacedBy } : {}),
      ...(e.reversedBy ? { reversedBy: e.reversedBy } : {}),
      ...(e.reversedInBatch ? { reversedInBatch: e.reversedInBatch } : {}),
    },
    createdAt: e.createdAt,
  };
}

export const batchView = (b: Batch) => ({
  batchId: b.batchId,
  type: b.type,
  ...(b.name ? { name: b.name } : {}),
  ...(b.description ? { description: b.description } : {}),
  status: b.status,
  version: b.version,
  options: b.options,
  counts: b.counts,
  allowedActions: allowedActions(b),
  progress: b.progress,
  createdBy: b.createdBy,
  createdAt: b.createdAt,
  updatedAt: b.updatedAt,
  ...(b.lastError ? { lastError: b.lastError } : {}),
  ...(b.executions ? { executions: b.executions } : {}),
});

/** A held member is locked while its batch is locked or processing, and processed once it finished. */
export function memberView(m: BatchMember, b: Pick<Batch, 'status'>) {
  let state: string = m.state;
  if (m.state === 'HELD' && (b.status === 'LOCKED' || b.status === 'PROCESSING')) state = 'LOCKED';
  else if (m.state === 'HELD' && FINISHED.has(b.status)) state = 'PROCESSED';
  return {
    eventId: m.eventId,
    role: m.role,
    state,
    subscriptionId: m.subscriptionId,
    register: m.register,
    occurredAt: m.occurredAt,
    ...(m.errorCode ? { errorCode: m.errorCode, errorMessage: m.errorMessage } : {}),
    ...(m.relatedReason ? { relatedReason: m.relatedReason } : {}),
    ...(m.replacements ? { replacements: m.replacements } : {}),
  };
}
export const billUnitView = (b: BillUnit) => ({
  billUnitId: b.billUnitId,
  ...(b.name ? { name: b.name } : {}),
  isDefault: b.isDefault,
  openItems: { total: b.openItems, ...b.openItemCounts },
  createdAt: b.createdAt,
});

export const accountView = (a: Account, billUnits: BillUnit[]) => ({
  accountId: a.accountId,
  currency: a.currency,
  accountingMethod: a.accountingMethod,
  createdAt: a.createdAt,
  defaultBillUnitId: a.defaultBillUnitId,
  defaultBalanceGroupId: DEFAULT_BALANCE_GROUP_ID,
  billUnits: billUnits.map(billUnitView),
  updatedAt: a.updatedAt,
});

export const openItemView = (o: OpenItem, currency: string) => ({
  openItemId: o.openItemId,
  billUnitId: o.billUnitId,
  kind: o.kind,
  status: o.status,
  ...(o.amount !== undefined ? { amount: formatMoney(o.amount, currency), currency } : {}),
  ...(o.reference ? { reference: o.reference } : {}),
  ...(o.note ? { note: o.note } : {}),
  recordedAt: o.recordedAt,
  recordedBy: o.recordedBy,
  ...(o.resolvedAt ? { resolvedAt: o.resolvedAt, resolvedBy: o.resolvedBy } : {}),
  ...(o.resolution ? { resolution: o.resolution } : {}),
});

export const accountLogView = (e: AccountLogEntry) => ({ at: e.at, actor: e.actor, action: e.action, message: e.message, data: e.data });

export const ledgerCloseView = (c: LedgerClose) => ({
  closedThrough: c.closedThrough ?? null,
  ...(c.updatedAt ? { updatedAt: c.updatedAt, updatedBy: c.updatedBy } : {}),
});

export const balanceGroupView = (g: BalanceGroup) => ({
  balanceGroupId: g.balanceGroupId,
  kind: g.kind,
  ...(g.kind === 'SUBSCRIPTION' ? { subscriptionId: g.balanceGroupId } : {}),
  billUnitId: g.billUnitId,
  history: g.history,
});

export const adjustmentView = (a: Adjustment) => ({
  adjustmentId: a.adjustmentId,
  subscriptionId: a.subscriptionId,
  target: a.target,
  direction: a.direction,
  amount: a.currency ? formatMoney(a.amount, a.currency) : formatQuantity(a.amount),
  ...(a.register ? { register: a.register } : {}),
  ...(a.currency ? { currency: a.currency } : {}),
  ...(a.validTo ? { validTo: a.validTo } : {}),
  effectiveAt: a.effectiveAt,
  treatment: a.treatment,
  ...(a.period ? { period: a.period } : {}),
  at: a.at,
  actor: a.actor,
  reason: a.reason,
});
