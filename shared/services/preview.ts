// The preview of a locked batch, per partition and in total, as decimal strings.
import { DomainError } from '../domain/errors';
import { formatDecimal, formatMoney, QUANTITY_SCALE } from '../domain/decimal';
import { listPartitions, partitionKey } from '../store/batch-partitions';
import { requireBatch } from '../store/batches';
import { requireSubscription } from '../store/subscriptions';

const SHOWN_FROM: ReadonlySet<string> = new Set(['LOCKED', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

export async function batchPreview(batchId: string) {
  const batch = await requireBatch(batchId);
  if (!SHOWN_FROM.has(batch.status)) throw new DomainError('INVALID_TRANSITION', `batch ${batchId} is ${batch.status}; its preview exists once it is LOCKED`);
  const partitions = (await listPartitions(batchId)).sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1));
  const currencies = new Map<string, string>();
  for (const p of partitions) if (!currencies.has(p.subscriptionId)) currencies.set(p.subscriptionId, (await requireSubscription(p.subscriptionId)).currency);
  const totals = new Map<string, bigint>();
  const q = (v: bigint) => formatDecimal(v, QUANTITY_SCALE);
  const items = partitions.map((p) => {
    const currency = currencies.get(p.subscriptionId)!;
    const base = { subscriptionId: p.subscriptionId, register: p.register, state: p.state };
    if (!p.preview) return { ...base, errors: p.errorCode ? [{ code: p.errorCode, message: p.errorMessage ?? '' }] : [] };
    totals.set(currency, (totals.get(currency) ?? 0n) + p.preview.chargeDelta);
    return {
      ...base,
      currency,
      before: q(p.preview.before),
      after: q(p.preview.after),
      chargeDelta: formatMoney(p.preview.chargeDelta, currency),
      bills: p.preview.bills.map((b) => ({ period: b.period, status: b.status, before: formatMoney(b.before, currency), after: formatMoney(b.after, currency), ...(b.creditRebill ? { creditRebillPeriod: p.creditRebillPeriod } : {}) })),
      relatedAdded: p.preview.relatedAdded,
      changedEvents: p.preview.changedEvents,
      reversed: p.preview.reversed,
      replacementsAdded: p.preview.replacementsAdded,
      errors: [],
    };
  });
  return {
    batchId,
    status: batch.status,
    partitions: items,
    totals: {
      partitions: items.length,
      withErrors: items.filter((i) => i.errors.length > 0).length,
      chargeDelta: Object.fromEntries([...totals].map(([c, v]) => [c, formatMoney(v, c)])),
    },
  };
}
