// The preview of a locked batch, per subscription (bill lines before and after, as a whole) and
// per partition (register before and after), as decimal strings. A locked batch's preview also
// says whether what it read has moved since (stale: submit would not apply that subscription).
import { createHash } from 'node:crypto';
import type { LineAmounts } from '../domain/change-set';
import { DomainError } from '../domain/errors';
import { formatDecimal, formatMoney, QUANTITY_SCALE } from '../domain/decimal';
import { listPartitions, partitionKey } from '../store/batch-partitions';
import { requireBatch } from '../store/batches';
import { listChangeSets, staleReason } from '../store/change-sets';
import { requireSubscription } from '../store/subscriptions';

const SHOWN_FROM: ReadonlySet<string> = new Set([
  'LOCKED',
  'PROCESSING',
  'COMPLETED',
  'COMPLETED_WITH_ERRORS',
  'FAILED',
]);

export async function batchPreview(batchId: string) {
  const batch = await requireBatch(batchId);
  if (!SHOWN_FROM.has(batch.status))
    throw new DomainError(
      'INVALID_TRANSITION',
      `batch ${batchId} is ${batch.status}; its preview exists once it is LOCKED`,
    );
  const partitions = (await listPartitions(batchId)).sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1));
  const changeSets = new Map((await listChangeSets(batchId)).map((c) => [c.subscriptionId, c]));
  const currencies = new Map<string, string>();
  for (const p of partitions) {
    if (!currencies.has(p.subscriptionId))
      currencies.set(
        p.subscriptionId,
        changeSets.get(p.subscriptionId)?.currency ?? (await requireSubscription(p.subscriptionId)).currency,
      );
  }
  const q = (v: bigint) => formatDecimal(v, QUANTITY_SCALE);
  const items = partitions.map((p) => {
    const base = { subscriptionId: p.subscriptionId, register: p.register, state: p.state };
    const errors = p.errorCode ? [{ code: p.errorCode, message: p.errorMessage ?? '' }] : [];
    if (!p.preview) return { ...base, errors };
    return {
      ...base,
      currency: currencies.get(p.subscriptionId)!,
      before: q(p.preview.before),
      after: q(p.preview.after),
      relatedAdded: p.preview.relatedAdded,
      changedEvents: p.preview.changedEvents,
      reversed: p.preview.reversed,
      replacementsAdded: p.preview.replacementsAdded,
      errors,
    };
  });
  const totals = new Map<string, bigint>();
  const subscriptions = [];
  for (const subscriptionId of [...new Set(partitions.map((p) => p.subscriptionId))].sort()) {
    const cs = changeSets.get(subscriptionId);
    const error = partitions.find((p) => p.subscriptionId === subscriptionId && p.errorCode);
    if (!cs) {
      subscriptions.push({
        subscriptionId,
        currency: currencies.get(subscriptionId)!,
        state: 'ERROR' as const,
        billLines: [],
        creditRebill: [],
        ...(error?.errorCode ? { error: { code: error.errorCode, message: error.errorMessage ?? '' } } : {}),
      });
      continue;
    }
    const c = cs.currency;
    const money = (a: LineAmounts) => ({
      usage: formatMoney(a.usage, c),
      trueUp: formatMoney(a.trueUp, c),
      adjustments: formatMoney(a.adjustments, c),
      total: formatMoney(a.total, c),
    });
    // Only a locked batch can go stale: after submit the change set says what happened.
    const stale =
      cs.state === 'STALE'
        ? cs.staleReason
        : batch.status === 'LOCKED' && cs.state === 'READY'
          ? await staleReason(cs)
          : undefined;
    if (!stale && cs.state !== 'STALE') totals.set(c, (totals.get(c) ?? 0n) + cs.chargeDelta);
    subscriptions.push({
      subscriptionId,
      currency: c,
      state: stale ? ('STALE' as const) : cs.state,
      ...(stale ? { staleReason: stale } : {}),
      ...(error?.errorCode && !stale ? { error: { code: error.errorCode, message: error.errorMessage ?? '' } } : {}),
      chargeDelta: formatMoney(cs.chargeDelta, c),
      billLines: cs.lines.map((l) => ({
        period: l.period,
        status: l.status,
        created: l.created,
        before: money(l.before),
        after: money(l.after),
        reinvoiceRequired: l.reinvoiceRequired,
        ...(l.frozenBecause ? { frozenBecause: l.frozenBecause } : {}),
        ...(l.postedTo ? { creditRebillPeriod: l.postedTo } : {}),
        ...(l.correctedTotal !== undefined ? { correctedTotal: formatMoney(l.correctedTotal, c) } : {}),
      })),
      creditRebill: cs.documents.map((d) => ({
        kind: d.kind,
        amount: formatMoney(d.amount, c),
        originalPeriod: d.originalPeriod,
        period: d.period,
      })),
    });
  }
  const body = {
    batchId,
    status: batch.status,
    stale: subscriptions.some((s) => s.state === 'STALE'),
    subscriptions,
    partitions: items,
    totals: {
      partitions: items.length,
      withErrors: items.filter((i) => i.errors.length > 0).length,
      stale: subscriptions.filter((s) => s.state === 'STALE').length,
      chargeDelta: Object.fromEntries([...totals].map(([cur, v]) => [cur, formatMoney(v, cur)])),
    },
  };
  return { body, etag: previewTag(body) };
}

/** The preview's entity tag: changes whenever anything it shows changes, staleness included. */
export function previewTag(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}

/**
 * Submit with `If-Match`: the tag must be the preview's as it stands now. A preview whose inputs
 * moved (or that was re-locked) has another tag: 412 PREVIEW_STALE, and nothing starts.
 */
export async function requireCurrentPreview(batchId: string, ifMatch: string | undefined): Promise<void> {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const { etag, body } = await batchPreview(batchId);
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes(etag) || body.stale) {
    const why = body.stale
      ? body.subscriptions
          .filter((s) => s.state === 'STALE')
          .map((s) => `${s.subscriptionId}: ${'staleReason' in s ? s.staleReason : ''}`)
          .join('; ')
      : 'the preview changed since it was read';
    throw new DomainError(
      'PREVIEW_STALE',
      `the preview you approved is no longer current (${why}); read GET /v1/batches/${batchId}/preview again, or lock again`,
    );
  }
}
