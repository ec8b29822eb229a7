import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { anAccountWith, expectConserved, rated, refusedWithoutWrites } from '../support/accounts';
import { uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { tableSnapshot } from '../support/table-snapshot';
import type { DomainEvent } from '../../shared/domain/domain-events';
import { setEventPublisher } from '../../shared/events/publisher';
import { adjust } from '../../shared/services/adjustments';
import { applyAdjustment } from '../../shared/store/adjustments';
import { allLedgerEntries } from '../../shared/store/balances';
import { ratePartitionFrom } from '../support/rate-directly';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvent } from '../../shared/store/usage-events';

let table: TestTable;
const published: DomainEvent[] = [];
beforeAll(async () => {
  table = await useTestTable('adjust');
  setEventPublisher({ publish: async (events) => void published.push(...events) });
  // January is final in this file: every other test dates its adjustments from February on.
  expect((await call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: '2026-01' } })).status).toBe(200);
});
afterAll(async () => {
  setEventPublisher(undefined);
  await table.drop();
});
beforeEach(() => void (published.length = 0));

const M = 1_000_000n;
const refused = (run: () => Promise<{ status: number; body: any }>, status: number, code: string) =>
  refusedWithoutWrites(table, run, status, code);
const adjustment = (sub: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call('POST', `/v1/subscriptions/${sub}/adjustments`, {
    body: { reason: 'network outage credit', ...body },
    headers,
    actor: 'csr-4',
  });
const lineOf = async (sub: string, period: string) =>
  (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items.find(
    (l: { period: string }) => l.period === period,
  );
const setStatus = (sub: string, period: string, status: string) =>
  call('POST', `/v1/subscriptions/${sub}/bill-lines/${period}/status`, { body: { status } });

describe('register adjustments', () => {
  it('credits allowance from a backdated instant, which re-rating then uses, with an audited ledger entry', async () => {
    const { accountId, subs } = await anAccountWith(1);
    const [sub] = subs as [string];
    const [early, later] = await rated(sub, [
      { quantity: '30', occurredAt: '2026-03-01T10:00:00Z' },
      { quantity: '40', occurredAt: '2026-03-20T10:00:00Z' },
    ]);
    const res = await adjustment(sub, {
      target: 'REGISTER',
      register: 'MINUTES',
      direction: 'CREDIT',
      amount: '50',
      effectiveAt: '2026-03-10T00:00:00Z',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      adjustment: {
        target: 'REGISTER',
        direction: 'CREDIT',
        amount: '50',
        register: 'MINUTES',
        effectiveAt: '2026-03-10T00:00:00.000Z',
        treatment: 'REGISTER',
        actor: 'csr-4',
        reason: 'network outage credit',
      },
      entry: {
        kind: 'ADJUSTMENT',
        granted: '50',
        actor: 'csr-4',
        reason: 'network outage credit',
        effectiveAt: '2026-03-10T00:00:00.000Z',
      },
      balance: { granted: '50', available: '50' },
    });
    // Re-rating the partition: the credit covers only usage from its effective instant on.
    await ratePartitionFrom({
      subscriptionId: sub,
      register: 'MINUTES',
      toRate: [],
      from: { occurredAt: '2026-03-01T00:00:00.000Z', eventId: '' },
      stepId: 'rerate',
      actor: 't',
      now: new Date().toISOString(),
    });
    expect((await getEvent(early!))!.rating!.allowanceUsed).toBe(0n);
    expect((await getEvent(later!))!.rating!.allowanceUsed).toBe(40n * M);
    expect((await call('GET', `/v1/accounts/${accountId}/log`)).body.items.at(-1)).toMatchObject({
      action: 'BALANCE_ADJUSTED',
      actor: 'csr-4',
      data: { treatment: 'REGISTER', amount: '50' },
    });
    expect(published).toEqual([
      expect.objectContaining({
        type: 'BALANCE_ADJUSTED',
        detail: expect.objectContaining({ treatment: 'REGISTER', amount: '50' }),
      }),
    ]);
    await expectConserved(accountId, subs);
  });

  it('debits only allowance still undrawn, and refuses more as INSUFFICIENT_BALANCE', async () => {
    const { accountId, subs } = await anAccountWith(1, '100');
    const [sub] = subs as [string];
    await rated(sub, [{ quantity: '60', occurredAt: '2026-03-01T10:00:00Z' }]);
    await refused(
      () =>
        adjustment(sub, {
          target: 'REGISTER',
          register: 'MINUTES',
          direction: 'DEBIT',
          amount: '40.5',
          effectiveAt: '2026-04-01T00:00:00Z',
        }),
      409,
      'INSUFFICIENT_BALANCE',
    );
    const res = await adjustment(sub, {
      target: 'REGISTER',
      register: 'MINUTES',
      direction: 'DEBIT',
      amount: '40',
      effectiveAt: '2026-04-01T00:00:00Z',
    });
    expect(res.body.balance).toEqual({ register: 'MINUTES', granted: '60', consumed: '60', available: '0' });
    expect(res.body.entry.grantChanges).toEqual([expect.objectContaining({ amount: '-40' })]);
    await expectConserved(accountId, subs);
  });
});

describe('bill adjustments', () => {
  it.each(['BALANCE_FORWARD', 'OPEN_ITEM'])(
    'puts an adjustment of a period not billed yet on its own line (%s)',
    async (accountingMethod) => {
      const { accountId, subs } = await anAccountWith(1, undefined, { accountingMethod });
      const [sub] = subs as [string];
      await rated(sub, [{ quantity: '100', occurredAt: '2026-03-05T10:00:00Z' }]);
      const res = await adjustment(sub, {
        target: 'BILL',
        direction: 'CREDIT',
        amount: '2.5',
        effectiveAt: '2026-03-15T00:00:00Z',
      });
      expect(res.body.adjustment).toMatchObject({
        treatment: 'ON_BILL',
        period: '2026-03',
        amount: '2.50',
        currency: 'USD',
      });
      expect(res.body.billLine).toMatchObject({
        period: '2026-03',
        usageAmount: '5.00',
        adjustments: '-2.50',
        total: '2.50',
        previousBalanceAdjustments: '0.00',
      });
      await expectConserved(accountId, subs);
    },
  );

  it.each(['BILLED', 'INTERFACED'])(
    'carries a balance-forward adjustment of a %s period into the next bill’s previous balance, leaving both totals alone',
    async (status) => {
      const { accountId, subs } = await anAccountWith(1, undefined, { accountingMethod: 'BALANCE_FORWARD' });
      const [sub] = subs as [string];
      await rated(sub, [
        { quantity: '100', occurredAt: '2026-03-05T10:00:00Z' },
        { quantity: '20', occurredAt: '2026-04-05T10:00:00Z' },
      ]);
      await setStatus(sub, '2026-03', 'BILLED');
      if (status === 'INTERFACED') await setStatus(sub, '2026-03', 'INTERFACED');
      const march = await lineOf(sub, '2026-03');
      const res = await adjustment(sub, {
        target: 'BILL',
        direction: 'DEBIT',
        amount: '4',
        effectiveAt: '2026-03-10T00:00:00Z',
        reason: 'late roaming charge',
      });
      expect(res.body.adjustment).toMatchObject({ treatment: 'PREVIOUS_BALANCE', period: '2026-04' });
      expect(await lineOf(sub, '2026-03')).toEqual(march);
      expect(await lineOf(sub, '2026-04')).toMatchObject({
        usageAmount: '1.00',
        adjustments: '0.00',
        total: '1.00',
        previousBalanceAdjustments: '4.00',
      });
      await expectConserved(accountId, subs);
    },
  );

  it('creates the next bill line to carry it when every existing line is billed', async () => {
    const { accountId, subs } = await anAccountWith(1, undefined, { accountingMethod: 'BALANCE_FORWARD' });
    const [sub] = subs as [string];
    await rated(sub, [{ quantity: '100', occurredAt: '2026-03-05T10:00:00Z' }]);
    await setStatus(sub, '2026-03', 'BILLED');
    await adjustment(sub, { target: 'BILL', direction: 'CREDIT', amount: '1.25', effectiveAt: '2026-03-10T00:00:00Z' });
    expect(await lineOf(sub, '2026-04')).toMatchObject({
      usageAmount: '0.00',
      total: '0.00',
      previousBalanceAdjustments: '-1.25',
      status: 'OPEN',
      billUnitId: accountId,
    });
    await expectConserved(accountId, subs);
  });

  it('settles an open-item adjustment of a billed period against that bill without touching any line', async () => {
    const { accountId, subs } = await anAccountWith(1, undefined, { accountingMethod: 'OPEN_ITEM' });
    const [sub] = subs as [string];
    await rated(sub, [
      { quantity: '100', occurredAt: '2026-03-05T10:00:00Z' },
      { quantity: '20', occurredAt: '2026-04-05T10:00:00Z' },
    ]);
    await setStatus(sub, '2026-03', 'BILLED');
    const before = (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items;
    const res = await adjustment(sub, {
      target: 'BILL',
      direction: 'CREDIT',
      amount: '3',
      effectiveAt: '2026-03-10T00:00:00Z',
    });
    expect(res.body.adjustment).toMatchObject({ treatment: 'AGAINST_BILLED_ITEM', period: '2026-03' });
    expect(res.body.billLine).toBeUndefined();
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items).toEqual(before);
    expect(published).toEqual([
      expect.objectContaining({
        type: 'BALANCE_ADJUSTED',
        detail: expect.objectContaining({ treatment: 'AGAINST_BILLED_ITEM', postedPeriod: '2026-03', amount: '3.00' }),
      }),
    ]);
    expect((await call('GET', `/v1/subscriptions/${sub}/adjustments`)).body.items).toEqual([res.body.adjustment]);
    await expectConserved(accountId, subs);
  });
});

describe('refusals write nothing', () => {
  const bill = { target: 'BILL', direction: 'CREDIT', amount: '1' };

  it.each([
    ['a future effective date', { ...bill, effectiveAt: '2099-01-01T00:00:00Z' }, 422, 'FUTURE_DATED'],
    [
      'a date in the closed ledger period',
      { ...bill, effectiveAt: '2026-01-31T23:00:00Z' },
      422,
      'BACKDATE_OUT_OF_RANGE',
    ],
    ['money with more decimals than the currency', { ...bill, amount: '1.005' }, 400, 'VALIDATION_FAILED'],
    ['zero money', { ...bill, amount: '0.00' }, 400, 'VALIDATION_FAILED'],
    [
      'a register no product draws on',
      { target: 'REGISTER', register: 'SMS', direction: 'CREDIT', amount: '1' },
      404,
      'NOT_FOUND',
    ],
    [
      'a credit expiring before it starts',
      {
        target: 'REGISTER',
        register: 'MINUTES',
        direction: 'CREDIT',
        amount: '1',
        effectiveAt: '2026-03-01T00:00:00Z',
        validTo: '2026-02-01T00:00:00Z',
      },
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown direction', { ...bill, direction: 'REFUND' }, 400, 'VALIDATION_FAILED'],
    ['no reason', { ...bill, reason: undefined }, 400, 'VALIDATION_FAILED'],
  ])('refuses %s', async (_n, body, status, code) => {
    const { accountId, subs } = await anAccountWith(1, '10');
    await refused(() => adjustment(subs[0]!, body), status, code);
    await expectConserved(accountId, subs);
  });

  it("refuses a date before the account's creation or the subscription's start as BACKDATE_OUT_OF_RANGE", async () => {
    const late = await anAccountWith(1, undefined, { createdAt: '2026-03-01T00:00:00Z' });
    const res = await refused(
      () => adjustment(late.subs[0]!, { ...bill, effectiveAt: '2026-02-15T00:00:00Z' }),
      422,
      'BACKDATE_OUT_OF_RANGE',
    );
    expect(res.body.detail).toContain("account's creation");
    const startsLater = await anAccountWith(1, undefined, {}, { startDate: '2026-05-01' });
    expect(
      (
        await refused(
          () => adjustment(startsLater.subs[0]!, { ...bill, effectiveAt: '2026-04-15T00:00:00Z' }),
          422,
          'BACKDATE_OUT_OF_RANGE',
        )
      ).body.detail,
    ).toContain("subscription's start");
  });

  it('refuses an unknown subscription, and one whose account does not exist', async () => {
    await refused(() => adjustment('nobody', bill), 404, 'NOT_FOUND');
    const orphan = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${orphan}`, {
      body: {
        accountId: 'never-created',
        startDate: '2026-01-01',
        currency: 'USD',
        products: { voice: { register: 'MINUTES', unitPrice: '1' } },
      },
    });
    await refused(() => adjustment(orphan, bill), 404, 'NOT_FOUND');
  });

  it('refuses, inside the transaction, a period the ledger close reached after the dates were checked', async () => {
    const { accountId, subs } = await anAccountWith(1);
    const sub = await requireSubscription(subs[0]!);
    const before = await tableSnapshot(table);
    const draft = {
      adjustmentId: 'raced',
      subscriptionId: sub.subscriptionId,
      accountId,
      target: 'BILL',
      direction: 'CREDIT',
      amount: 100n,
      currency: 'USD',
      effectiveAt: '2026-01-20T00:00:00.000Z',
      at: new Date().toISOString(),
      actor: 't',
      reason: 'r',
    } as const;
    await expect(
      applyAdjustment({
        draft,
        subscription: sub,
        accountingMethod: 'BALANCE_FORWARD',
        guardOpenPeriod: '2026-01',
        record: () => ({
          log: {
            accountId,
            operationId: 'x',
            at: draft.at,
            actor: 't',
            action: 'BALANCE_ADJUSTED',
            message: '',
            data: {},
          },
          event: {
            eventId: 'e-raced',
            type: 'BALANCE_ADJUSTED',
            source: 'usage-corrections',
            accountId,
            occurredAt: draft.at,
            actor: 't',
            detail: {
              adjustmentId: 'raced',
              subscriptionId: sub.subscriptionId,
              target: 'BILL',
              direction: 'CREDIT',
              amount: '1.00',
              effectiveAt: draft.effectiveAt,
              treatment: 'ON_BILL',
              reason: 'r',
            },
          },
        }),
      }),
    ).rejects.toMatchObject({ code: 'BACKDATE_OUT_OF_RANGE' });
    expect(await tableSnapshot(table)).toEqual(before);
  });
});

describe('exactly once', () => {
  it('adjusts once for one Idempotency-Key, through the API and past it', async () => {
    const { accountId, subs } = await anAccountWith(1, '10');
    const [sub] = subs as [string];
    const body = {
      target: 'REGISTER',
      register: 'MINUTES',
      direction: 'CREDIT',
      amount: '5',
      effectiveAt: '2026-03-01T00:00:00Z',
    };
    const first = await adjustment(sub, body, { 'idempotency-key': 'adj-1' });
    const again = await adjustment(sub, body, { 'idempotency-key': 'adj-1' });
    expect([again.headers['idempotent-replayed'], again.body.adjustment.adjustmentId]).toEqual([
      'true',
      first.body.adjustment.adjustmentId,
    ]);
    const replay = await adjust(
      sub,
      {
        target: 'REGISTER',
        register: 'MINUTES',
        direction: 'CREDIT',
        amount: 5n * M,
        effectiveAt: '2026-03-01T00:00:00.000Z',
        reason: 'network outage credit',
      },
      'csr-4',
      new Date().toISOString(),
      'adj-1',
    );
    expect(replay.adjustment.adjustmentId).toBe(first.body.adjustment.adjustmentId);
    expect((await allLedgerEntries(sub, 'MINUTES')).filter((e) => e.kind === 'ADJUSTMENT')).toHaveLength(1);
    await expectConserved(accountId, subs);
  });
});
