// A correction in March re-rates the later events of the partition in April and May: allowance is
// consumed in time order. Each later period follows its own rule: an open line changes, a billed
// line changes and is flagged for re-invoicing, an interfaced line stays and is credited/rebilled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';
import { anAccountWith } from '../support/accounts';
import { call } from '../support/api';
import { anEvent } from '../support/builders';
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

const M = 1_000_000n;
const setStatus = async (sub: string, period: string, ...statuses: string[]) => {
  for (const status of statuses)
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/${period}/status`, { body: { status } })).status,
    ).toBe(200);
};

/** 100 minutes from March; 40 minutes in each of March, April and May: May pays 20 over (1.00). */
async function threePeriods() {
  const { subs } = await anAccountWith(1);
  const sub = subs[0]!;
  expect(
    (
      await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
        body: { amount: '100', validFrom: '2026-03-01T00:00:00Z' },
      })
    ).status,
  ).toBe(201);
  const ids = await rateThroughBatch(sub, [
    { quantity: '40', occurredAt: '2026-03-10T10:00:00Z' },
    { quantity: '40', occurredAt: '2026-04-10T10:00:00Z' },
    { quantity: '40', occurredAt: '2026-05-10T10:00:00Z' },
  ]);
  expect(await actualTotals(sub, ['2026-03', '2026-04', '2026-05'])).toEqual({
    '2026-03': '0.00',
    '2026-04': '0.00',
    '2026-05': '1.00',
  });
  return { sub, ids };
}

/** March's 40 minutes were really 80: April and May lose the allowance March now takes. */
const doubleMarch = (sub: string, original: string, options: Record<string, unknown> = {}) =>
  newBatch(
    'REVERSE_REPLACE',
    {
      replacements: [
        {
          originalEventId: original,
          events: [anEvent({ subscriptionId: sub, quantity: '80', occurredAt: '2026-03-10T10:00:00Z' })],
        },
      ],
    },
    options,
  );

describe('a correction in March', () => {
  it('re-rates April and May as related events; open lines change, preview equals result', async () => {
    const { sub, ids } = await threePeriods();
    const batchId = await doubleMarch(sub, ids[0]!);
    const locked = await act(batchId, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 1, related: 2, errored: 0 });
    const p = await preview(batchId);
    expect(p.subscriptions[0].billLines.map((l: any) => [l.period, l.before.total, l.after.total])).toEqual([
      ['2026-03', '0.00', '0.00'],
      ['2026-04', '0.00', '1.00'],
      ['2026-05', '1.00', '2.00'],
    ]);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-03', '2026-04', '2026-05'])).toEqual(previewTotals(p, sub));
    // getEvents answers in no particular order.
    const used = new Map((await getEvents([ids[1]!, ids[2]!])).map((e) => [e.eventId, e.rating!.allowanceUsed]));
    expect([used.get(ids[1]!), used.get(ids[2]!)]).toEqual([20n * M, 0n]);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('with April interfaced and May billed: refused AR_INTERFACED under REJECT; under CREDIT_REBILL April is credited/rebilled in June and May is re-invoiced', async () => {
    const { sub, ids } = await threePeriods();
    await setStatus(sub, '2026-04', 'BILLED', 'INTERFACED');
    await setStatus(sub, '2026-05', 'BILLED');

    const rejected = await doubleMarch(sub, ids[0]!);
    expect((await act(rejected, 'lock', ['LOCKED'])).counts.errored).toBe(1);
    expect((await call('GET', `/v1/batches/${rejected}/members?errorCode=AR_INTERFACED`)).body.items).toHaveLength(1);
    await act(rejected, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${rejected}/events/remove`, { body: { mode: 'ALL' } });

    const batchId = await doubleMarch(sub, ids[0]!, { arPolicy: 'CREDIT_REBILL' });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(
      p.subscriptions[0].billLines.map((l: any) => [
        l.period,
        l.status,
        l.before.total,
        l.after.total,
        l.reinvoiceRequired,
        l.creditRebillPeriod ?? null,
      ]),
    ).toEqual([
      ['2026-03', 'OPEN', '0.00', '0.00', false, null],
      ['2026-04', 'INTERFACED', '0.00', '0.00', false, '2026-06'],
      ['2026-05', 'BILLED', '1.00', '2.00', true, null],
      ['2026-06', 'OPEN', '0.00', '1.00', false, null],
    ]);
    // April billed nothing, so nothing is credited; its corrected 1.00 is rebilled in June.
    expect(p.subscriptions[0].creditRebill).toEqual([
      { kind: 'REBILL', amount: '1.00', originalPeriod: '2026-04', period: '2026-06' },
    ]);
    expect(p.subscriptions[0].chargeDelta).toBe('2.00');
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-03', '2026-04', '2026-05', '2026-06'])).toEqual(previewTotals(p, sub));
    // What the customer owes over the three periods: 160 minutes, 100 included, 60 at 0.05.
    const cents = (await billLines(sub)).reduce((s, l) => s + BigInt((l.total as string).replace('.', '')), 0n);
    expect(cents).toBe(300n);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});
