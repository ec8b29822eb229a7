import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { anEvent, aSubscription, uniqueId } from '../support/builders';
import { anAccountWith, expectConserved, rated, refusedWithoutWrites } from '../support/accounts';
import { useTestTable, type TestTable } from '../support/dynamo';
import type { DomainEvent, EventPublisher } from '../../shared/domain/domain-events';
import { setEventPublisher } from '../../shared/events/publisher';
import { publishPending } from '../../shared/services/publish-events';
import { transferBalance } from '../../shared/services/balances';
import { allLedgerEntries, getRegister } from '../../shared/store/balances';
import { getOutboxEntry } from '../../shared/store/outbox';
import { planFor } from '../../shared/store/partition-rating';
import { applyPlan, ratePartitionFrom } from '../support/rate-directly';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvent } from '../../shared/store/usage-events';

let table: TestTable;
const published: DomainEvent[] = [];
const recording: EventPublisher = { publish: async (events) => void published.push(...events) };
beforeAll(async () => {
  table = await useTestTable('balmgmt');
  setEventPublisher(recording);
});
afterAll(async () => {
  setEventPublisher(undefined);
  await table.drop();
});
beforeEach(() => void (published.length = 0));

const M = 1_000_000n;
const refused = (run: () => Promise<{ status: number; body: any }>, status: number, code: string) =>
  refusedWithoutWrites(table, run, status, code);

const transfer = (
  from: string,
  to: string,
  amount: string | number,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) =>
  call('POST', '/v1/balance-transfers', {
    body: {
      from: { subscriptionId: from, register: 'MINUTES' },
      to: { subscriptionId: to, register: 'MINUTES' },
      amount,
      ...extra,
    },
    headers,
    actor: 'ops-7',
  });

const balance = async (sub: string) =>
  (await call('GET', `/v1/subscriptions/${sub}/balances`)).body.items.find(
    (b: { register: string }) => b.register === 'MINUTES',
  );

describe('POST /v1/balance-transfers', () => {
  it('debits one register and credits the other in one transaction, with two linked, audited ledger entries', async () => {
    const { accountId, subs } = await anAccountWith(2, '100');
    const [s1, s2] = subs as [string, string];
    const res = await transfer(s1, s2, '30.5', { reason: 'share with family' });
    expect(res.status).toBe(201);
    const { transferId } = res.body;
    expect(res.body).toMatchObject({
      amount: '30.5',
      from: {
        subscriptionId: s1,
        register: 'MINUTES',
        balance: { granted: '69.5', available: '69.5' },
        entry: {
          kind: 'TRANSFER_OUT',
          granted: '-30.5',
          actor: 'ops-7',
          reason: 'share with family',
          counterpart: { subscriptionId: s2, entryId: `transfer:${transferId}:in` },
        },
      },
      to: {
        subscriptionId: s2,
        register: 'MINUTES',
        balance: { granted: '130.5', available: '130.5' },
        entry: {
          kind: 'TRANSFER_IN',
          granted: '30.5',
          counterpart: { subscriptionId: s1, entryId: `transfer:${transferId}:out` },
        },
      },
    });
    expect(
      (await call('GET', `/v1/subscriptions/${s2}/balances/MINUTES/ledger`)).body.items.map(
        (e: { kind: string }) => e.kind,
      ),
    ).toEqual(['GRANT', 'TRANSFER_IN']);
    const log = (await call('GET', `/v1/accounts/${accountId}/log`)).body.items;
    expect(log.at(-1)).toMatchObject({
      action: 'BALANCE_TRANSFERRED',
      actor: 'ops-7',
      data: { transferId, amount: '30.5', from: s1, to: s2, reason: 'share with family' },
    });
    expect(published).toEqual([
      expect.objectContaining({
        type: 'BALANCE_TRANSFERRED',
        accountId,
        detail: expect.objectContaining({ transferId, amount: '30.5' }),
      }),
    ]);
    expect((await getOutboxEntry(`BALANCE_TRANSFERRED:${transferId}`))?.status).toBe('PUBLISHED');
    await expectConserved(accountId, subs);
  });

  it('moves allowance that rating then uses on the target and no longer finds on the source', async () => {
    const { accountId, subs } = await anAccountWith(2, '100');
    const [s1, s2] = subs as [string, string];
    expect((await transfer(s1, s2, '60', { effectiveAt: '2026-03-01T00:00:00Z' })).status).toBe(201);
    const [onTarget] = await rated(s2, [{ quantity: '150', occurredAt: '2026-03-05T10:00:00Z' }]);
    const [onSource] = await rated(s1, [{ quantity: '50', occurredAt: '2026-03-05T10:00:00Z' }]);
    // The target's own 100 and the transferred 60 cover 150; the source has 40 left for its 50.
    expect((await getEvent(onTarget!))!.rating).toMatchObject({ allowanceUsed: 150n * M, overageQuantity: 0n });
    expect((await getEvent(onSource!))!.rating).toMatchObject({
      allowanceUsed: 40n * M,
      overageQuantity: 10n * M,
      amount: 50n,
    });
    await expectConserved(accountId, subs);
  });

  it('keeps backdated credit from covering usage before the effective instant', async () => {
    const { accountId, subs } = await anAccountWith(2, '50');
    const [s1, s2] = subs as [string, string];
    await transfer(s1, s2, '50', { effectiveAt: '2026-04-01T00:00:00Z' });
    const [march] = await rated(s2, [{ quantity: '80', occurredAt: '2026-03-20T00:00:00Z' }]);
    expect((await getEvent(march!))!.rating!.allowanceUsed).toBe(50n * M);
    await expectConserved(accountId, subs);
  });

  describe('refusals write nothing', () => {
    it('refuses more than the source has available as INSUFFICIENT_BALANCE', async () => {
      const { accountId, subs } = await anAccountWith(2, '100');
      await refused(() => transfer(subs[0]!, subs[1]!, '100.000001'), 409, 'INSUFFICIENT_BALANCE');
      await expectConserved(accountId, subs);
    });

    it('refuses allowance that rated usage has already drawn', async () => {
      const { accountId, subs } = await anAccountWith(2, '100');
      await rated(subs[0]!, [{ quantity: '90', occurredAt: '2026-03-01T00:00:00Z' }]);
      const res = await refused(() => transfer(subs[0]!, subs[1]!, '11'), 409, 'INSUFFICIENT_BALANCE');
      expect(res.body.detail).toContain('holds 10 available');
      expect((await transfer(subs[0]!, subs[1]!, '10')).status).toBe(201);
      await expectConserved(accountId, subs);
    });

    it('refuses the leftover of an expired grant', async () => {
      const { accountId, subs } = await anAccountWith(2);
      await call('POST', `/v1/subscriptions/${subs[0]}/balances/MINUTES/grants`, {
        body: { amount: '40', validTo: '2026-02-01T00:00:00Z' },
      });
      await refused(() => transfer(subs[0]!, subs[1]!, '1'), 409, 'INSUFFICIENT_BALANCE');
      // Dated while the grant was valid, the same transfer goes through (and expires with it).
      const res = await transfer(subs[0]!, subs[1]!, '1', { effectiveAt: '2026-01-15T00:00:00Z' });
      expect(res.status).toBe(201);
      expect(res.body.to.balance).toEqual({ register: 'MINUTES', granted: '1', consumed: '0', available: '0' });
      await expectConserved(accountId, subs);
    });

    it('refuses a transfer to a subscription of another account as CROSS_ACCOUNT', async () => {
      const a = await anAccountWith(1, '100');
      const b = await anAccountWith(1, '100');
      await refused(() => transfer(a.subs[0]!, b.subs[0]!, '1'), 422, 'CROSS_ACCOUNT');
      await expectConserved(a.accountId, a.subs);
    });

    it('refuses a transfer between two resources as RESOURCE_MISMATCH', async () => {
      const { accountId, subs } = await anAccountWith(2, '100');
      const body = {
        from: { subscriptionId: subs[0], register: 'MINUTES' },
        to: { subscriptionId: subs[1], register: 'DATA_MB' },
        amount: '1',
      };
      await refused(() => call('POST', '/v1/balance-transfers', { body }), 422, 'RESOURCE_MISMATCH');
      await expectConserved(accountId, subs);
    });

    it.each([
      ['a future effective date', { effectiveAt: '2099-01-01T00:00:00Z' }, 422, 'FUTURE_DATED'],
      [
        'an effective date before the account was created',
        { effectiveAt: '2025-12-31T00:00:00Z' },
        422,
        'BACKDATE_OUT_OF_RANGE',
      ],
      ['a zero amount', { amount: '0' }, 400, 'VALIDATION_FAILED'],
      ['an amount with seven decimals', { amount: '0.0000001' }, 400, 'VALIDATION_FAILED'],
    ])('refuses %s', async (_n, extra, status, code) => {
      const { accountId, subs } = await anAccountWith(2, '100');
      await refused(() => transfer(subs[0]!, subs[1]!, '1', extra), status, code);
      await expectConserved(accountId, subs);
    });

    it('refuses a register no product draws on, an unknown subscription, and a subscription whose account does not exist', async () => {
      const { subs } = await anAccountWith(2, '100');
      const body = (register: string, to = subs[1]) => ({
        from: { subscriptionId: subs[0], register },
        to: { subscriptionId: to, register },
        amount: '1',
      });
      await refused(() => call('POST', '/v1/balance-transfers', { body: body('SMS') }), 404, 'NOT_FOUND');
      await refused(() => call('POST', '/v1/balance-transfers', { body: body('MINUTES', 'nobody') }), 404, 'NOT_FOUND');
      const [orphanA, orphanB] = [uniqueId('sub'), uniqueId('sub')];
      for (const s of [orphanA, orphanB])
        await call('PUT', `/v1/subscriptions/${s}`, { body: aSubscription({ accountId: 'never-created' }) });
      await call('POST', `/v1/subscriptions/${orphanA}/balances/MINUTES/grants`, { body: { amount: '5' } });
      await refused(() => transfer(orphanA, orphanB, '1'), 404, 'NOT_FOUND');
    });
  });

  describe('exactly once', () => {
    it('transfers once for one Idempotency-Key, through the API and past it', async () => {
      const { accountId, subs } = await anAccountWith(2, '100');
      const [s1, s2] = subs as [string, string];
      const first = await transfer(s1, s2, '10', {}, { 'idempotency-key': 'xfer-1' });
      const again = await transfer(s1, s2, '10', {}, { 'idempotency-key': 'xfer-1' });
      expect([again.status, again.headers['idempotent-replayed'], again.body.transferId]).toEqual([
        201,
        'true',
        first.body.transferId,
      ]);
      // Once the key's record is gone (expired, or released by a crash), the transfer id still finds the transfer.
      const req = {
        from: { subscriptionId: s1, register: 'MINUTES' },
        to: { subscriptionId: s2, register: 'MINUTES' },
        amount: 10n * M,
      };
      const replay = await transferBalance(req, 'ops-7', new Date().toISOString(), 'xfer-1');
      expect(replay.transferId).toBe(first.body.transferId);
      expect((await allLedgerEntries(s1, 'MINUTES')).filter((e) => e.kind === 'TRANSFER_OUT')).toHaveLength(1);
      expect((await getRegister(s1, 'MINUTES')).granted).toBe(90n * M);
      await expectConserved(accountId, subs);
    });

    it('never loses or creates value under 50 concurrent transfers each way between the same two registers', async () => {
      const { accountId, subs } = await anAccountWith(2, '2000');
      const [s1, s2] = subs as [string, string];
      const calls = Array.from({ length: 50 }, (_, i) => [
        transfer(s1, s2, `${i + 1}.25`),
        transfer(s2, s1, `${i + 1}.5`),
      ]).flat();
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.status !== 201).map((r) => r.body)).toEqual([]);
      const [r1, r2] = [await getRegister(s1, 'MINUTES'), await getRegister(s2, 'MINUTES')];
      expect(r1.granted + r2.granted).toBe(4000n * M);
      // Each side gave 1..50 plus .25 or .5 fifty times: s1 gained 12.5 net.
      expect(r1.granted).toBe(2012_500_000n);
      expect((await allLedgerEntries(s1, 'MINUTES')).filter((e) => e.kind !== 'GRANT')).toHaveLength(100);
      await expectConserved(accountId, subs);
    });

    it('never overdraws the source when concurrent transfers want more than it holds', async () => {
      const { accountId, subs } = await anAccountWith(2, '10');
      const [s1, s2] = subs as [string, string];
      const results = await Promise.all(Array.from({ length: 30 }, () => transfer(s1, s2, '1')));
      expect(results.filter((r) => r.status === 201)).toHaveLength(10);
      expect(results.filter((r) => r.status !== 201).every((r) => r.body.code === 'INSUFFICIENT_BALANCE')).toBe(true);
      expect([(await balance(s1)).available, (await balance(s2)).available]).toEqual(['0', '20']);
      await expectConserved(accountId, subs);
    });

    it('makes a rating planned before a transfer re-plan instead of drawing what the grant gave away', async () => {
      const { accountId, subs } = await anAccountWith(2, '100');
      const [s1, s2] = subs as [string, string];
      const events = [anEvent({ subscriptionId: s1, quantity: '80', occurredAt: '2026-03-01T00:00:00Z' })];
      await call('POST', '/v1/usage-events', { body: { events } });
      const subscription = await requireSubscription(s1);
      const req = {
        subscriptionId: s1,
        register: 'MINUTES',
        toRate: [events[0]!.eventId as string],
        stepId: 'race',
        actor: 't',
        now: new Date().toISOString(),
      };
      const stalePlan = await planFor(subscription, req);
      expect((await transfer(s1, s2, '70')).status).toBe(201);
      await expect(applyPlan(subscription, req, stalePlan)).rejects.toMatchObject({
        name: 'TransactionCanceledException',
      });
      await ratePartitionFrom(req);
      expect((await getEvent(events[0]!.eventId as string))!.rating).toMatchObject({
        allowanceUsed: 30n * M,
        overageQuantity: 50n * M,
      });
      await expectConserved(accountId, subs);
    });
  });

  describe('events', () => {
    it('keeps the event in the outbox when publishing fails, and the relay publishes it later', async () => {
      const { subs } = await anAccountWith(2, '100');
      setEventPublisher({ publish: async () => Promise.reject(new Error('EventBridge is down')) });
      const res = await transfer(subs[0]!, subs[1]!, '1');
      setEventPublisher(recording);
      expect(res.status).toBe(201);
      const eventId = `BALANCE_TRANSFERRED:${res.body.transferId}`;
      expect((await getOutboxEntry(eventId))?.status).toBe('PENDING');
      await publishPending(new Date().toISOString());
      expect(published.map((e) => e.eventId)).toContain(eventId);
      expect((await getOutboxEntry(eventId))?.status).toBe('PUBLISHED');
    });
  });
});

describe('POST /v1/accounts/{accountId}/balance-groups/{balanceGroupId}/move', () => {
  const move = (accountId: string, group: string, toBillUnitId: string, actor = 'ops-7') =>
    call('POST', `/v1/accounts/${accountId}/balance-groups/${group}/move`, {
      body: { toBillUnitId, reason: 'cost centre split' },
      actor,
    });
  const addBillUnit = async (accountId: string) => {
    const bu = uniqueId('bu');
    expect((await call('POST', `/v1/accounts/${accountId}/bill-units`, { body: { billUnitId: bu } })).status).toBe(201);
    return bu;
  };
  const lines = async (sub: string) =>
    Object.fromEntries(
      (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items.map(
        (l: { period: string; billUnitId: string }) => [l.period, l.billUnitId],
      ),
    );
  const groupsOf = async (accountId: string) =>
    Object.fromEntries(
      (await call('GET', `/v1/accounts/${accountId}/balance-groups`)).body.items.map(
        (g: { balanceGroupId: string; billUnitId: string }) => [g.balanceGroupId, g.billUnitId],
      ),
    );

  it('sends new bill lines to the new bill unit while lines already produced stay with the old one', async () => {
    const { accountId, subs } = await anAccountWith(2);
    const [s1, s2] = subs as [string, string];
    const bu = await addBillUnit(accountId);
    await rated(s1, [{ quantity: '10', occurredAt: '2026-03-10T00:00:00Z' }]);

    const res = await move(accountId, s1, bu);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      moveId: `${s1}.1`,
      fromBillUnitId: accountId,
      toBillUnitId: bu,
      balanceGroup: {
        balanceGroupId: s1,
        kind: 'SUBSCRIPTION',
        billUnitId: bu,
        history: [{ billUnitId: accountId }, { billUnitId: bu, by: 'ops-7', moveId: `${s1}.1` }],
      },
    });
    await rated(s1, [
      { quantity: '10', occurredAt: '2026-04-10T00:00:00Z' },
      { quantity: '5', occurredAt: '2026-03-20T00:00:00Z' },
    ]);
    // A bill line belongs to the bill unit it was created in: March existed before the move.
    expect(await lines(s1)).toEqual({ '2026-03': accountId, '2026-04': bu });
    expect(await groupsOf(accountId)).toEqual({ _default: accountId, [s1]: bu, [s2]: accountId });
    expect((await call('GET', `/v1/accounts/${accountId}/log`)).body.items.at(-1)).toMatchObject({
      action: 'BALANCE_GROUP_MOVED',
      actor: 'ops-7',
      data: { balanceGroupId: s1, toBillUnitId: bu, reason: 'cost centre split' },
    });
    expect(published).toEqual([
      expect.objectContaining({ type: 'BALANCE_GROUP_MOVED', eventId: `BALANCE_GROUP_MOVED:${s1}.1` }),
    ]);
    await expectConserved(accountId, subs);
  });

  it('leaves a new empty balance group behind when the last group leaves a bill unit, and only then', async () => {
    const { accountId, subs } = await anAccountWith(2);
    const [s1, s2] = subs as [string, string];
    const bu = await addBillUnit(accountId);
    await move(accountId, s1, bu);
    await move(accountId, s2, bu);
    expect((await move(accountId, s1, accountId)).body.emptyBalanceGroupId).toBeUndefined();
    const last = await move(accountId, s2, accountId);
    expect(last.body).toMatchObject({ fromBillUnitId: bu, emptyBalanceGroupId: `_empty.${bu}` });
    expect(await groupsOf(accountId)).toEqual({
      _default: accountId,
      [`_empty.${bu}`]: bu,
      [s1]: accountId,
      [s2]: accountId,
    });
    await move(accountId, s1, bu);
    expect((await move(accountId, s1, accountId)).body.emptyBalanceGroupId).toBeUndefined();
    await expectConserved(accountId, subs);
  });

  it('keeps every bill unit with a group when its last groups leave at the same time', async () => {
    const { accountId, subs } = await anAccountWith(4);
    const bu = await addBillUnit(accountId);
    for (const s of subs) await move(accountId, s, bu);
    const results = await Promise.all(subs.map((s) => move(accountId, s, accountId)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.filter((r) => r.body.emptyBalanceGroupId)).toHaveLength(1);
    expect(
      (await call('GET', `/v1/accounts/${accountId}/balance-groups`)).body.items.filter(
        (g: { billUnitId: string }) => g.billUnitId === bu,
      ),
    ).toEqual([expect.objectContaining({ balanceGroupId: `_empty.${bu}`, kind: 'EMPTY' })]);
    await expectConserved(accountId, subs);
  });

  it('makes a rating planned before a move re-plan, so its new bill line goes to the new bill unit', async () => {
    const { accountId, subs } = await anAccountWith(1);
    const [s1] = subs as [string];
    const bu = await addBillUnit(accountId);
    const events = [anEvent({ subscriptionId: s1, quantity: '10', occurredAt: '2026-05-01T00:00:00Z' })];
    await call('POST', '/v1/usage-events', { body: { events } });
    const subscription = await requireSubscription(s1);
    const req = {
      subscriptionId: s1,
      register: 'MINUTES',
      toRate: [events[0]!.eventId as string],
      stepId: 'race',
      actor: 't',
      now: new Date().toISOString(),
    };
    const stalePlan = await planFor(subscription, req);
    await move(accountId, s1, bu);
    await expect(applyPlan(subscription, req, stalePlan)).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    await ratePartitionFrom(req);
    expect(await lines(s1)).toEqual({ '2026-05': bu });
    await expectConserved(accountId, subs);
  });

  describe('refusals write nothing', () => {
    it.each(['UNALLOCATED_PAYMENT', 'UNALLOCATED_ADJUSTMENT', 'OPEN_REFUND', 'UNRESOLVED_DISPUTE'])(
      'refuses to move a group out of a bill unit with an open %s, and moves it once resolved',
      async (kind) => {
        const { accountId, subs } = await anAccountWith(1);
        const bu = await addBillUnit(accountId);
        const items = `/v1/accounts/${accountId}/bill-units/${accountId}/open-items`;
        await call('POST', items, { body: { openItemId: 'x-1', kind } });
        const res = await refused(() => move(accountId, subs[0]!, bu), 409, 'BILL_UNIT_HAS_OPEN_ITEMS');
        expect(res.body.detail).toContain(`1 ${kind}`);
        await expectConserved(accountId, subs);
        await call('POST', `${items}/x-1/resolve`, { body: {} });
        expect((await move(accountId, subs[0]!, bu)).status).toBe(200);
        await expectConserved(accountId, subs);
      },
    );

    it('does not mind open items on the target bill unit', async () => {
      const { accountId, subs } = await anAccountWith(1);
      const bu = await addBillUnit(accountId);
      await call('POST', `/v1/accounts/${accountId}/bill-units/${bu}/open-items`, {
        body: { kind: 'UNRESOLVED_DISPUTE' },
      });
      expect((await move(accountId, subs[0]!, bu)).status).toBe(200);
      await expectConserved(accountId, subs);
    });

    it("refuses to move the account's default balance group as DEFAULT_BALANCE_GROUP", async () => {
      const { accountId, subs } = await anAccountWith(1);
      const bu = await addBillUnit(accountId);
      await refused(() => move(accountId, '_default', bu), 422, 'DEFAULT_BALANCE_GROUP');
      await expectConserved(accountId, subs);
    });

    it("refuses another account's bill unit or subscription as CROSS_ACCOUNT", async () => {
      const a = await anAccountWith(1);
      const b = await anAccountWith(1);
      const theirs = await addBillUnit(b.accountId);
      await refused(() => move(a.accountId, a.subs[0]!, theirs), 422, 'CROSS_ACCOUNT');
      const ours = await addBillUnit(a.accountId);
      await refused(() => move(a.accountId, b.subs[0]!, ours), 422, 'CROSS_ACCOUNT');
      await expectConserved(a.accountId, a.subs);
      await expectConserved(b.accountId, b.subs);
    });

    it('refuses an empty group, the bill unit the group is already in, and unknown ids', async () => {
      const { accountId, subs } = await anAccountWith(1);
      const bu = await addBillUnit(accountId);
      await move(accountId, subs[0]!, bu);
      await move(accountId, subs[0]!, accountId);
      await refused(() => move(accountId, `_empty.${bu}`, accountId), 400, 'VALIDATION_FAILED');
      await refused(() => move(accountId, subs[0]!, accountId), 409, 'CONFLICT');
      await refused(() => move(accountId, subs[0]!, 'no-such-bu'), 404, 'NOT_FOUND');
      await refused(() => move(accountId, 'no-such-sub', bu), 404, 'NOT_FOUND');
      await refused(() => move('no-such-account', subs[0]!, bu), 404, 'NOT_FOUND');
      await refused(() => move(accountId, '_nonsense', bu), 400, 'VALIDATION_FAILED');
      await expectConserved(accountId, subs);
    });
  });
});
