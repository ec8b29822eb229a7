import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { allLedgerEntries, getRegister } from '../../shared/store/balances';
import { listBillLines } from '../../shared/store/bill-lines';
import { checkSubscription } from '../../shared/store/invariants';
import { planFor, type RatePartitionRequest } from '../../shared/store/partition-rating';
import { applyPlan, ratePartitionFrom } from '../support/rate-directly';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvent, getEvents } from '../../shared/store/usage-events';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('rating');
});
afterAll(async () => table.drop());

const now = () => new Date().toISOString();

async function aSubscriptionWith(
  events: Array<Record<string, unknown>>,
  grant?: string,
  overrides: Record<string, unknown> = {},
) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription(overrides) });
  if (grant)
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: grant } })).status,
    ).toBe(201);
  const withSub = events.map((e) => anEvent({ subscriptionId: sub, ...e }));
  for (let i = 0; i < withSub.length; i += 500) {
    const res = await call('POST', '/v1/usage-events', { body: { events: withSub.slice(i, i + 500) } });
    expect(res.body.rejected).toEqual([]);
  }
  return { sub, eventIds: withSub.map((e) => e.eventId as string) };
}

const rate = (sub: string, toRate: string[], extra: Partial<RatePartitionRequest> = {}) =>
  ratePartitionFrom({
    subscriptionId: sub,
    register: 'MINUTES',
    toRate,
    stepId: uniqueId('step'),
    actor: 'test',
    now: now(),
    ...extra,
  });

const amounts = async (ids: string[]) =>
  (await getEvents(ids)).sort((a, b) => ids.indexOf(a.eventId) - ids.indexOf(b.eventId)).map((e) => e.rating?.amount);

describe('the worked example of DESIGN.md §4, through the store', () => {
  it('rates 30, 50, 40 against 100 minutes, then re-rates after a top-up of 50', async () => {
    const { sub, eventIds } = await aSubscriptionWith(
      [
        { quantity: '30', occurredAt: '2026-03-01T10:00:00Z' },
        { quantity: '50', occurredAt: '2026-03-02T10:00:00Z' },
        { quantity: '40', occurredAt: '2026-03-03T10:00:00Z' },
      ],
      '100',
    );
    const first = await rate(sub, eventIds);
    expect(first.changed).toBe(3);
    const events = await getEvents(eventIds);
    const byId = new Map(events.map((e) => [e.eventId, e]));
    expect(eventIds.map((id) => byId.get(id)!.rating!.allowanceUsed)).toEqual([30_000_000n, 50_000_000n, 20_000_000n]);
    expect(eventIds.map((id) => byId.get(id)!.rating!.overageQuantity)).toEqual([0n, 0n, 20_000_000n]);
    expect(await amounts(eventIds)).toEqual([0n, 0n, 100n]);
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items).toEqual([
      expect.objectContaining({ period: '2026-03', usageAmount: '1.00', total: '1.00', status: 'OPEN', eventCount: 3 }),
    ]);

    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: 50 } });
    const rerate = await rate(sub, [], { from: { occurredAt: '2026-03-01T10:00:00.000Z', eventId: eventIds[0]! } });
    expect(rerate.changed).toBe(1); // only the third event changes
    expect(await amounts(eventIds)).toEqual([0n, 0n, 0n]);
    expect((await getEvent(eventIds[2]!))!.rating!.allowanceUsed).toBe(40_000_000n);
    const balances = (await call('GET', `/v1/subscriptions/${sub}/balances`)).body.items;
    expect(balances).toEqual([{ register: 'MINUTES', granted: '150', consumed: '120', available: '30' }]);
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items[0]).toMatchObject({
      usageAmount: '0.00',
      total: '0.00',
    });
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});

describe('exactly-once application', () => {
  it('a chunk applied again from the same plan (a retry after a lost answer) changes nothing', async () => {
    const { sub, eventIds } = await aSubscriptionWith(
      [{ quantity: '30' }, { quantity: '90', occurredAt: '2026-03-05T00:00:00Z' }],
      '100',
    );
    const subscription = await requireSubscription(sub);
    const req: RatePartitionRequest = {
      subscriptionId: sub,
      register: 'MINUTES',
      toRate: eventIds,
      stepId: 'batch-1:rate',
      actor: 't',
      now: now(),
    };
    const plan = await planFor(subscription, req);
    await applyPlan(subscription, req, plan);
    const ledgerBefore = await allLedgerEntries(sub, 'MINUTES');
    const registerBefore = await getRegister(sub, 'MINUTES');
    await expect(applyPlan(subscription, req, plan)).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(await allLedgerEntries(sub, 'MINUTES')).toEqual(ledgerBefore);
    expect(await getRegister(sub, 'MINUTES')).toEqual(registerBefore);
    // The public entry point re-plans and finds nothing left to do.
    expect((await ratePartitionFrom(req)).changed).toBe(0);
    expect(await checkSubscription(subscription)).toEqual([]);
  });

  it('a crash after some chunks, then a retry, ends exactly like an uninterrupted run', async () => {
    const spec = Array.from({ length: 300 }, (_, i) => ({
      quantity: String(1 + (i % 7)),
      occurredAt: `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
    }));
    const crashed = await aSubscriptionWith(spec, '500');
    const clean = await aSubscriptionWith(spec, '500');
    const subscription = await requireSubscription(crashed.sub);
    const req: RatePartitionRequest = {
      subscriptionId: crashed.sub,
      register: 'MINUTES',
      toRate: crashed.eventIds,
      stepId: 'b:rate',
      actor: 't',
      now: now(),
    };
    const partial = await applyPlan(subscription, req, await planFor(subscription, req), 2);
    expect(partial.chunks).toBe(2);
    const retry = await ratePartitionFrom(req);
    expect(partial.changed + retry.changed).toBe(300);
    await rate(clean.sub, clean.eventIds);

    const strip = async (ids: string[]) => (await amounts(ids)).map(String);
    expect(await strip(crashed.eventIds)).toEqual(await strip(clean.eventIds));
    const [a, b] = [await listBillLines(crashed.sub), await listBillLines(clean.sub)];
    expect(a.map((l) => [l.period, l.usageAmount, l.eventCount])).toEqual(
      b.map((l) => [l.period, l.usageAmount, l.eventCount]),
    );
    expect((await getRegister(crashed.sub, 'MINUTES')).consumed).toBe(500_000_000n);
    expect(await checkSubscription(subscription)).toEqual([]);
  });

  it('two runners rating the same partition at once apply each change once', async () => {
    const { sub, eventIds } = await aSubscriptionWith(
      Array.from({ length: 120 }, (_, i) => ({
        quantity: '2',
        occurredAt: `2026-04-01T00:${String(i % 60).padStart(2, '0')}:${String(Math.floor(i / 60)).padStart(2, '0')}Z`,
      })),
      '100',
    );
    await Promise.all([rate(sub, eventIds), rate(sub, eventIds), rate(sub, eventIds)]);
    const events = await getEvents(eventIds);
    expect(events.every((e) => e.status === 'RATED')).toBe(true);
    expect(events.reduce((s, e) => s + e.rating!.allowanceUsed, 0n)).toBe(100_000_000n);
    expect(events.reduce((s, e) => s + e.rating!.amount, 0n)).toBe(140n * 5n); // 140 minutes over at 0.05
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});

describe('ledger conservation', () => {
  it('many concurrent top-ups all land, each with its ledger entry', async () => {
    const { sub } = await aSubscriptionWith([]);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: `${i + 1}.5` } }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const ledger = await allLedgerEntries(sub, 'MINUTES');
    expect(ledger).toHaveLength(40);
    const expected = Array.from({ length: 40 }, (_, i) => BigInt(i + 1) * 1_000_000n + 500_000n).reduce(
      (a, b) => a + b,
      0n,
    );
    expect((await getRegister(sub, 'MINUTES')).granted).toBe(expected);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
    const page = await call('GET', `/v1/subscriptions/${sub}/balances/MINUTES/ledger?limit=15`);
    expect(page.body.items).toHaveLength(15);
    expect(page.body.nextCursor).toBeTruthy();
  });

  it('a grant sent several times at once with one Idempotency-Key grants once', async () => {
    const { sub } = await aSubscriptionWith([]);
    const send = () =>
      call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
        body: { amount: '10' },
        headers: { 'idempotency-key': 'topup-7' },
      });
    const answers = await Promise.all([send(), send(), send()]);
    // One runs; the others replay its answer or are told it is still in progress.
    expect(answers.map((a) => a.status).sort()).toEqual(expect.arrayContaining([201]));
    expect(answers.every((a) => a.status === 201 || (a.status === 409 && a.body.code === 'CONFLICT'))).toBe(true);
    expect((await getRegister(sub, 'MINUTES')).granted).toBe(10_000_000n);
    expect(await allLedgerEntries(sub, 'MINUTES')).toHaveLength(1);
  });

  it.each([
    ['zero', { amount: '0' }, 400, 'VALIDATION_FAILED'],
    [
      'a window that ends before it starts',
      { amount: '1', validFrom: '2026-05-01T00:00:00Z', validTo: '2026-04-01T00:00:00Z' },
      422,
      'VALIDATION_FAILED',
    ],
    [
      'a start before the subscription',
      { amount: '1', validFrom: '2025-05-01T00:00:00Z' },
      422,
      'BACKDATE_OUT_OF_RANGE',
    ],
  ])('refuses a grant of %s and writes nothing', async (_n, body, status, code) => {
    const { sub } = await aSubscriptionWith([]);
    const res = await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body });
    expect([res.status, res.body.code]).toEqual([status === 422 && code === 'VALIDATION_FAILED' ? 400 : status, code]);
    expect(await allLedgerEntries(sub, 'MINUTES')).toEqual([]);
  });

  it('refuses a grant to a register no product draws on', async () => {
    const { sub } = await aSubscriptionWith([]);
    const res = await call('POST', `/v1/subscriptions/${sub}/balances/SMS/grants`, { body: { amount: '1' } });
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('bill line status', () => {
  it('moves OPEN → BILLED → INTERFACED only forward, and an interfaced period is never re-rated', async () => {
    const { sub, eventIds } = await aSubscriptionWith([{ quantity: '10' }]);
    await rate(sub, eventIds);
    const path = `/v1/subscriptions/${sub}/bill-lines/2026-03/status`;
    expect((await call('POST', path, { body: { status: 'INTERFACED' } })).body.code).toBe('INVALID_TRANSITION');
    expect((await call('POST', path, { body: { status: 'BILLED' } })).body.status).toBe('BILLED');
    expect((await call('POST', path, { body: { status: 'BILLED' } })).status).toBe(200);
    expect((await call('POST', path, { body: { status: 'INTERFACED' } })).body.status).toBe('INTERFACED');
    expect((await call('POST', path, { body: { status: 'BILLED' } })).body.code).toBe('INVALID_TRANSITION');
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/2026-04/status`, { body: { status: 'BILLED' } })).status,
    ).toBe(404);

    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.10' } } }),
    });
    const before = await getEvent(eventIds[0]!);
    await expect(
      rate(sub, [], { from: { occurredAt: '2026-03-01T00:00:00.000Z', eventId: '' } }),
    ).rejects.toMatchObject({ code: 'AR_INTERFACED' });
    expect(await getEvent(eventIds[0]!)).toEqual(before);
  });

  it('adds the period minimum as a true-up when usage falls below it', async () => {
    const { sub, eventIds } = await aSubscriptionWith([{ quantity: '10' }], undefined, { periodMinimum: '2.00' });
    await rate(sub, eventIds);
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items[0]).toMatchObject({
      usageAmount: '0.50',
      minimumTrueUp: '1.50',
      total: '2.00',
    });
  });
});
