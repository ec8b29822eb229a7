import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { anAccount, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { tableSnapshot } from '../support/table-snapshot';
import { checkAccount } from '../../shared/store/invariants';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('accounts');
});
afterAll(async () => table.drop());

/** Runs a call that must be refused, and proves the table is exactly as before. */
async function refused(run: () => Promise<{ status: number; body: any }>, status: number, code: string) {
  const before = await tableSnapshot(table);
  const res = await run();
  expect([res.status, res.body.code]).toEqual([status, code]);
  expect(res.body.type).toBe(`urn:usage-corrections:problem:${code}`);
  expect(await tableSnapshot(table)).toEqual(before);
  return res;
}

async function anAccountWith(overrides: Record<string, unknown> = {}) {
  const accountId = uniqueId('acct');
  const res = await call('PUT', `/v1/accounts/${accountId}`, { body: anAccount(overrides) });
  expect(res.status).toBe(201);
  return accountId;
}

const period = (monthsAgo: number) => {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - monthsAgo);
  return d.toISOString().slice(0, 7);
};

describe('PUT/GET /v1/accounts/{accountId}', () => {
  it('creates the account with its default bill unit and default balance group, and audits it', async () => {
    const accountId = uniqueId('acct');
    const res = await call('PUT', `/v1/accounts/${accountId}`, {
      body: anAccount({ accountingMethod: 'OPEN_ITEM' }),
      actor: 'ops-1',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      accountId,
      currency: 'USD',
      accountingMethod: 'OPEN_ITEM',
      createdAt: '2026-01-01T00:00:00.000Z',
      defaultBillUnitId: accountId,
      defaultBalanceGroupId: '_default',
      billUnits: [{ billUnitId: accountId, isDefault: true, openItems: { total: 0, UNALLOCATED_PAYMENT: 0 } }],
    });
    expect((await call('GET', `/v1/accounts/${accountId}`)).body).toEqual(res.body);
    const log = (await call('GET', `/v1/accounts/${accountId}/log`)).body.items;
    expect(log).toEqual([expect.objectContaining({ actor: 'ops-1', action: 'ACCOUNT_CREATED' })]);
    expect(await checkAccount(accountId)).toEqual([]);
  });

  it('answers the same request again with 200 and the account unchanged', async () => {
    const accountId = await anAccountWith();
    const before = await tableSnapshot(table);
    const again = await call('PUT', `/v1/accounts/${accountId}`, { body: anAccount() });
    expect(again.status).toBe(200);
    expect(await tableSnapshot(table)).toEqual(before);
  });

  it('refuses changing the currency, accounting method or creation date, naming each field', async () => {
    const accountId = await anAccountWith();
    const res = await refused(
      () =>
        call('PUT', `/v1/accounts/${accountId}`, {
          body: anAccount({ currency: 'EUR', accountingMethod: 'OPEN_ITEM', createdAt: '2026-02-01T00:00:00Z' }),
        }),
      400,
      'VALIDATION_FAILED',
    );
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.accountingMethod',
      'body.createdAt',
      'body.currency',
    ]);
  });

  it('refuses a creation date in the future as FUTURE_DATED', async () => {
    await refused(
      () => call('PUT', `/v1/accounts/${uniqueId('acct')}`, { body: anAccount({ createdAt: '2099-01-01T00:00:00Z' }) }),
      422,
      'FUTURE_DATED',
    );
  });

  it('refuses a default bill unit id another account already uses, writing nothing', async () => {
    const taken = await anAccountWith();
    await refused(
      () => call('PUT', `/v1/accounts/${uniqueId('acct')}`, { body: anAccount({ defaultBillUnitId: taken }) }),
      409,
      'CONFLICT',
    );
  });

  it('answers 404 for an unknown account', async () => {
    expect((await call('GET', '/v1/accounts/nobody')).status).toBe(404);
    expect((await call('GET', '/v1/accounts/nobody/log')).status).toBe(404);
  });
});

describe('bill units', () => {
  it('adds bill units to an account, listed after the default one, and answers a repeat with 200', async () => {
    const accountId = await anAccountWith();
    const bu = uniqueId('bu');
    const res = await call('POST', `/v1/accounts/${accountId}/bill-units`, {
      body: { billUnitId: bu, name: 'Head office' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ billUnitId: bu, name: 'Head office', isDefault: false });
    expect(
      (await call('POST', `/v1/accounts/${accountId}/bill-units`, { body: { billUnitId: bu, name: 'Head office' } }))
        .status,
    ).toBe(200);
    const account = (await call('GET', `/v1/accounts/${accountId}`)).body;
    expect(account.billUnits.map((b: { billUnitId: string }) => b.billUnitId)).toEqual([accountId, bu]);
    expect((await call('GET', `/v1/accounts/${accountId}/bill-units/${bu}`)).body).toMatchObject({ billUnitId: bu });
    expect(await checkAccount(accountId)).toEqual([]);
  });

  it("refuses a bill unit id another account uses (409) and hides another account's bill unit (404)", async () => {
    const [a, b] = [await anAccountWith(), await anAccountWith()];
    const bu = uniqueId('bu');
    await call('POST', `/v1/accounts/${a}/bill-units`, { body: { billUnitId: bu } });
    await refused(() => call('POST', `/v1/accounts/${b}/bill-units`, { body: { billUnitId: bu } }), 409, 'CONFLICT');
    expect((await call('GET', `/v1/accounts/${b}/bill-units/${bu}`)).status).toBe(404);
    await refused(
      () => call('POST', `/v1/accounts/nobody/bill-units`, { body: { billUnitId: uniqueId('bu') } }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('open items', () => {
  it('counts open items per kind on the bill unit until they are resolved', async () => {
    const accountId = await anAccountWith();
    const path = `/v1/accounts/${accountId}/bill-units/${accountId}/open-items`;
    const payment = await call('POST', path, {
      body: { openItemId: 'pay-1', kind: 'UNALLOCATED_PAYMENT', amount: '25.5', reference: 'AR-981' },
    });
    expect(payment.status).toBe(201);
    expect(payment.body).toMatchObject({ openItemId: 'pay-1', status: 'OPEN', amount: '25.50', currency: 'USD' });
    const dispute = await call('POST', path, {
      body: { kind: 'UNRESOLVED_DISPUTE' },
      headers: { 'idempotency-key': 'd-1' },
    });
    expect(dispute.body.openItemId).toMatch(/^[0-9a-f]{32}$/);
    expect((await call('GET', `/v1/accounts/${accountId}/bill-units/${accountId}`)).body.openItems).toMatchObject({
      total: 2,
      UNALLOCATED_PAYMENT: 1,
      UNRESOLVED_DISPUTE: 1,
    });
    expect(await checkAccount(accountId)).toEqual([]);

    const resolved = await call('POST', `${path}/pay-1/resolve`, {
      body: { resolution: 'allocated to invoice 7' },
      actor: 'ar',
    });
    expect(resolved.body).toMatchObject({ status: 'RESOLVED', resolvedBy: 'ar', resolution: 'allocated to invoice 7' });
    const again = await call('POST', `${path}/pay-1/resolve`, { body: {} });
    expect([again.status, again.body.resolvedBy]).toEqual([200, 'ar']);
    expect((await call('GET', `/v1/accounts/${accountId}/bill-units/${accountId}`)).body.openItems).toMatchObject({
      total: 1,
      UNALLOCATED_PAYMENT: 0,
    });
    expect((await call('GET', `${path}?status=OPEN`)).body.items.map((o: { kind: string }) => o.kind)).toEqual([
      'UNRESOLVED_DISPUTE',
    ]);
    const actions = (await call('GET', `/v1/accounts/${accountId}/log`)).body.items.map(
      (e: { action: string }) => e.action,
    );
    expect(actions.sort()).toEqual([
      'ACCOUNT_CREATED',
      'OPEN_ITEM_RECORDED',
      'OPEN_ITEM_RECORDED',
      'OPEN_ITEM_RESOLVED',
    ]);
    expect(await checkAccount(accountId)).toEqual([]);
  });

  it('answers the same open item again with 200 and refuses the id with other content', async () => {
    const accountId = await anAccountWith();
    const path = `/v1/accounts/${accountId}/bill-units/${accountId}/open-items`;
    await call('POST', path, { body: { openItemId: 'ref-1', kind: 'OPEN_REFUND' } });
    expect((await call('POST', path, { body: { openItemId: 'ref-1', kind: 'OPEN_REFUND' } })).status).toBe(200);
    await refused(
      () => call('POST', path, { body: { openItemId: 'ref-1', kind: 'UNRESOLVED_DISPUTE' } }),
      409,
      'CONFLICT',
    );
    expect(await checkAccount(accountId)).toEqual([]);
  });

  it.each([
    [
      'an amount with more decimals than the currency',
      { kind: 'OPEN_REFUND', amount: '1.001' },
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown kind', { kind: 'LOST_CHEQUE' }, 400, 'VALIDATION_FAILED'],
  ])('refuses %s and writes nothing', async (_n, body, status, code) => {
    const accountId = await anAccountWith();
    await refused(
      () => call('POST', `/v1/accounts/${accountId}/bill-units/${accountId}/open-items`, { body }),
      status,
      code,
    );
  });

  it('answers 404 for resolving an unknown open item', async () => {
    const accountId = await anAccountWith();
    await refused(
      () => call('POST', `/v1/accounts/${accountId}/bill-units/${accountId}/open-items/nope/resolve`, { body: {} }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('PUT /v1/settings/ledger-close', () => {
  it('moves the close forward only, over ended periods, and keeps who moved it', async () => {
    expect((await call('GET', '/v1/settings/ledger-close')).body).toEqual({ closedThrough: null });
    const first = await call('PUT', '/v1/settings/ledger-close', {
      body: { closedThrough: period(3) },
      actor: 'controller',
    });
    expect(first.body).toMatchObject({ closedThrough: period(3), updatedBy: 'controller' });
    expect((await call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: period(3) } })).status).toBe(200);
    expect(
      (await call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: period(2) } })).body.closedThrough,
    ).toBe(period(2));
    await refused(
      () => call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: period(4) } }),
      409,
      'INVALID_TRANSITION',
    );
    await refused(
      () => call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: period(0) } }),
      422,
      'FUTURE_DATED',
    );
    await refused(
      () => call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: '2026-13' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect((await call('GET', '/v1/settings/ledger-close')).body.closedThrough).toBe(period(2));
  });
});
