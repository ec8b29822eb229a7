// Bill lines are computed as a whole: across every register and product of a subscription and
// period, minimum true-up included, in the preview, in submit and in credit/rebill. Preview and
// result are equal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { anAccountWith, products } from '../support/accounts';
import { call } from '../support/api';
import { anEvent, aSubscription } from '../support/builders';
import {
  actualTotals,
  billLines,
  FINISHED,
  newBatch,
  preview,
  previewTotals,
  rateThroughBatch,
} from '../support/corrections';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const withMinimum = { periodMinimum: '5.00' };
const invariantsHold = async (sub: string) =>
  expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
const interface_ = async (sub: string, period: string) => {
  for (const status of ['BILLED', 'INTERFACED'])
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/${period}/status`, { body: { status } })).status,
    ).toBe(200);
};

describe('a period minimum over two registers', () => {
  it('is trued up once for the subscription: halving both prices takes 8.00 to 5.00 (−3.00), in the preview and the result', async () => {
    const { accountId, subs } = await anAccountWith(1, undefined, {}, withMinimum);
    const sub = subs[0]!;
    // voice 100 min × 0.05 = 5.00 on MINUTES; data 300 MB × 0.01 = 3.00 on DATA_MB: 8.00, over the minimum.
    const ids = await rateThroughBatch(sub, [
      { productId: 'voice', quantity: '100', occurredAt: '2026-03-01T10:00:00Z' },
      { productId: 'data', quantity: '300', occurredAt: '2026-03-02T10:00:00Z' },
    ]);
    expect(await actualTotals(sub, ['2026-03'])).toEqual({ '2026-03': '8.00' });
    const halved = {
      voice: { register: 'MINUTES', unitPrice: '0.025' },
      data: { register: 'DATA_MB', unitPrice: '0.005' },
    };
    expect(
      (
        await call('PUT', `/v1/subscriptions/${sub}`, {
          body: aSubscription({ accountId, products: halved, ...withMinimum }),
        })
      ).status,
    ).toBe(200);
    const batchId = await newBatch('RERATE', { eventIds: ids });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(p.partitions.map((x: any) => x.register)).toEqual(['DATA_MB', 'MINUTES']);
    expect(p.subscriptions).toHaveLength(1);
    expect(p.subscriptions[0]).toMatchObject({
      chargeDelta: '-3.00',
      billLines: [
        {
          period: '2026-03',
          status: 'OPEN',
          before: { usage: '8.00', trueUp: '0.00', adjustments: '0.00', total: '8.00' },
          after: { usage: '4.00', trueUp: '1.00', adjustments: '0.00', total: '5.00' },
        },
      ],
    });
    expect(p.totals.chargeDelta).toEqual({ USD: '-3.00' });
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-03'])).toEqual(previewTotals(p, sub));
    expect((await billLines(sub))[0]).toMatchObject({ usageAmount: '4.00', minimumTrueUp: '1.00', total: '5.00' });
    await invariantsHold(sub);
  });
});

describe('a bill line the batch creates', () => {
  it('shows its minimum true-up in the preview: 1.50 of April usage is billed 5.00', async () => {
    const { subs } = await anAccountWith(1, undefined, {}, withMinimum);
    const sub = subs[0]!;
    const events = [anEvent({ subscriptionId: sub, quantity: '30', occurredAt: '2026-04-02T10:00:00Z' })];
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(1);
    const batchId = await newBatch('RATING', { eventIds: [events[0]!.eventId] });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(p.subscriptions[0].billLines).toEqual([
      expect.objectContaining({
        period: '2026-04',
        created: true,
        before: { usage: '0.00', trueUp: '0.00', adjustments: '0.00', total: '0.00' },
        after: { usage: '1.50', trueUp: '3.50', adjustments: '0.00', total: '5.00' },
      }),
    ]);
    expect(p.subscriptions[0].chargeDelta).toBe('5.00');
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-04'])).toEqual({ '2026-04': '5.00' });
    await invariantsHold(sub);
  });
});

describe('credit/rebill with a period minimum', () => {
  it('credits the interfaced line total and rebills the corrected total, true-up included: a 1.50 usage drop under the minimum nets 0.00', async () => {
    const { accountId, subs } = await anAccountWith(1, undefined, {}, withMinimum);
    const sub = subs[0]!;
    // March: 30 + 30 min at 0.05 = 3.00 usage, trued up to the 5.00 minimum; then interfaced.
    const ids = await rateThroughBatch(sub, [
      { quantity: '30', occurredAt: '2026-03-01T10:00:00Z' },
      { quantity: '30', occurredAt: '2026-03-02T10:00:00Z' },
    ]);
    await interface_(sub, '2026-03');
    // Half the price: March usage drops 1.50, to 1.50, still under the minimum.
    const halved = { ...products, voice: { register: 'MINUTES', unitPrice: '0.025' } };
    expect(
      (
        await call('PUT', `/v1/subscriptions/${sub}`, {
          body: aSubscription({ accountId, products: halved, ...withMinimum }),
        })
      ).status,
    ).toBe(200);
    const batchId = await newBatch('RERATE', { eventIds: ids }, { arPolicy: 'CREDIT_REBILL' });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(
      p.subscriptions[0].billLines.map((l: any) => [
        l.period,
        l.status,
        l.before.total,
        l.after.total,
        l.frozenBecause,
        l.creditRebillPeriod,
        l.correctedTotal,
      ]),
    ).toEqual([
      ['2026-03', 'INTERFACED', '5.00', '5.00', 'INTERFACED', '2026-04', '5.00'],
      ['2026-04', 'OPEN', '0.00', '0.00', undefined, undefined, undefined],
    ]);
    expect(p.subscriptions[0].creditRebill).toEqual([
      { kind: 'CREDIT', amount: '-5.00', originalPeriod: '2026-03', period: '2026-04' },
      { kind: 'REBILL', amount: '5.00', originalPeriod: '2026-03', period: '2026-04' },
    ]);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-03', '2026-04'])).toEqual(previewTotals(p, sub));
    // The documents are visible: on the adjustments list and on both lines.
    const listed = (await call('GET', `/v1/subscriptions/${sub}/adjustments`)).body.creditRebill;
    expect(
      listed.map((d: any) => [d.kind, d.amount, d.originalPeriod, d.period, d.usageBefore, d.usageAfter, d.batchId]),
    ).toEqual([
      ['CREDIT', '-5.00', '2026-03', '2026-04', '3.00', '1.50', batchId],
      ['REBILL', '5.00', '2026-03', '2026-04', '3.00', '1.50', batchId],
    ]);
    const lines = await billLines(sub);
    expect(lines.map((l) => [l.period, l.total, l.creditRebill?.length])).toEqual([
      ['2026-03', '5.00', 2],
      ['2026-04', '0.00', 2],
    ]);
    await invariantsHold(sub);
  });

  it('a correction above the minimum rebills the whole corrected total: 5.00 credited, 10.00 rebilled', async () => {
    const { subs } = await anAccountWith(1, undefined, {}, withMinimum);
    const sub = subs[0]!;
    const ids = await rateThroughBatch(sub, [{ quantity: '30', occurredAt: '2026-03-01T10:00:00Z' }]);
    await interface_(sub, '2026-03');
    const fix = anEvent({ subscriptionId: sub, quantity: '200', occurredAt: '2026-03-01T10:00:00Z' });
    const batchId = await newBatch(
      'REVERSE_REPLACE',
      { replacements: [{ originalEventId: ids[0], events: [fix] }] },
      { arPolicy: 'CREDIT_REBILL' },
    );
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(p.subscriptions[0].creditRebill.map((d: any) => [d.kind, d.amount])).toEqual([
      ['CREDIT', '-5.00'],
      ['REBILL', '10.00'],
    ]);
    expect(p.subscriptions[0].chargeDelta).toBe('5.00');
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-03', '2026-04'])).toEqual({ '2026-03': '5.00', '2026-04': '5.00' });
    expect(await actualTotals(sub, ['2026-03', '2026-04'])).toEqual(previewTotals(p, sub));
    await invariantsHold(sub);
  });
});
