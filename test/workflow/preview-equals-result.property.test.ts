// Property: over random corrections (histories with one or two registers, a period minimum or
// none, billed and interfaced lines, either accounts-receivable policy), what submit writes
// equals the preview, per bill line and per register. Small here (a few runs on the real
// workflows); the seed is printed by fast-check on failure.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { parseSignedDecimal, QUANTITY_SCALE } from '../../shared/domain/decimal';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { anAccountWith } from '../support/accounts';
import { call } from '../support/api';
import { anEvent, aSubscription } from '../support/builders';
import { balances, billLines, FINISHED, newBatch, preview, rateThroughBatch } from '../support/corrections';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const RUNS = Number(process.env.PREVIEW_PROPERTY_RUNS ?? 4);

/** A signed decimal quantity as the API writes it, scaled. */
const quantity = (s: string): bigint => {
  const r = parseSignedDecimal(s, QUANTITY_SCALE);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

const history = fc.record({
  minimum: fc.constantFrom(undefined, '2.00', '5.00'),
  grant: fc.constantFrom(undefined, '30', '100'),
  events: fc.array(
    fc.record({
      productId: fc.constantFrom('voice', 'data'),
      quantity: fc.integer({ min: 1, max: 120 }),
      month: fc.constantFrom('03', '04', '05'),
      day: fc.integer({ min: 1, max: 28 }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  statuses: fc.record({
    '2026-03': fc.constantFrom('OPEN', 'BILLED', 'INTERFACED'),
    '2026-04': fc.constantFrom('OPEN', 'BILLED'),
  }),
  correction: fc.oneof(
    fc.record({
      kind: fc.constant('RERATE' as const),
      voice: fc.constantFrom('0.02', '0.05', '0.10'),
      data: fc.constantFrom('0.005', '0.01', '0.03'),
    }),
    fc.record({
      kind: fc.constant('REVERSE_REPLACE' as const),
      which: fc.nat(),
      quantity: fc.integer({ min: 1, max: 200 }),
    }),
  ),
  arPolicy: fc.constantFrom('REJECT', 'CREDIT_REBILL'),
});

describe('preview equals result', () => {
  it('for random corrections: every bill line and register submit writes is the one the preview showed', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (h) => {
        const subscription = h.minimum ? { periodMinimum: h.minimum } : {};
        const { accountId, subs } = await anAccountWith(1, undefined, {}, subscription);
        const sub = subs[0]!;
        if (h.grant)
          await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
            body: { amount: h.grant, validFrom: '2026-03-01T00:00:00Z' },
          });
        const ids = await rateThroughBatch(
          sub,
          h.events.map((e, i) => ({
            productId: e.productId,
            quantity: String(e.quantity),
            occurredAt: `2026-${e.month}-${String(e.day).padStart(2, '0')}T10:00:${String(i).padStart(2, '0')}Z`,
          })),
        );
        const periods = new Set((await billLines(sub)).map((l) => l.period));
        for (const [period, status] of Object.entries(h.statuses)) {
          if (!periods.has(period) || status === 'OPEN') continue;
          for (const s of status === 'BILLED' ? ['BILLED'] : ['BILLED', 'INTERFACED'])
            await call('POST', `/v1/subscriptions/${sub}/bill-lines/${period}/status`, { body: { status: s } });
        }
        let batchId: string;
        if (h.correction.kind === 'RERATE') {
          const products = {
            voice: { register: 'MINUTES', unitPrice: h.correction.voice },
            data: { register: 'DATA_MB', unitPrice: h.correction.data },
          };
          expect(
            (
              await call('PUT', `/v1/subscriptions/${sub}`, {
                body: aSubscription({ accountId, products, ...subscription }),
              })
            ).status,
          ).toBe(200);
          batchId = await newBatch('RERATE', { eventIds: ids }, { arPolicy: h.arPolicy });
        } else {
          const i = h.correction.which % ids.length;
          const original = h.events[i]!;
          const occurredAt = `2026-${original.month}-${String(original.day).padStart(2, '0')}T10:00:${String(i).padStart(2, '0')}Z`;
          const fix = anEvent({
            subscriptionId: sub,
            productId: original.productId,
            quantity: String(h.correction.quantity),
            occurredAt,
          });
          batchId = await newBatch(
            'REVERSE_REPLACE',
            { replacements: [{ originalEventId: ids[i], events: [fix] }] },
            { arPolicy: h.arPolicy },
          );
        }
        const locked = await act(batchId, 'lock', ['LOCKED']);
        const p = await preview(batchId);
        const linesBefore = await billLines(sub);
        const balancesBefore = await balances(sub);
        if (locked.counts.errored > 0) {
          // A refused correction writes nothing: revert and compare.
          await act(batchId, 'revert', ['DRAFT']);
          expect(await billLines(sub)).toEqual(linesBefore);
          expect(await balances(sub)).toEqual(balancesBefore);
          return;
        }
        expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
        const after = new Map((await billLines(sub)).map((l) => [l.period, l]));
        for (const line of p.subscriptions[0].billLines) {
          const actual = after.get(line.period);
          expect({
            period: line.period,
            total: actual?.total ?? '0.00',
            usage: actual?.usageAmount ?? '0.00',
            trueUp: actual?.minimumTrueUp ?? '0.00',
            adjustments: actual?.adjustments ?? '0.00',
          }).toEqual({
            period: line.period,
            total: line.after.total,
            usage: line.after.usage,
            trueUp: line.after.trueUp,
            adjustments: line.after.adjustments,
          });
        }
        const registers = new Map((await balances(sub)).map((b) => [b.register, b]));
        for (const part of p.partitions) {
          const b = registers.get(part.register)!;
          expect(quantity(b.granted) - quantity(b.consumed)).toBe(quantity(part.after));
        }
        // Lines the preview does not name did not move.
        const named = new Set(p.subscriptions[0].billLines.map((l: any) => l.period));
        for (const l of linesBefore) if (!named.has(l.period)) expect(after.get(l.period)).toEqual(l);
        expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
