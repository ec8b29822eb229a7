import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { call } from '../support/api';
import { aSubscription, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('subs');
});
afterAll(async () => table.drop());

const itemCount = async () =>
  (await table.raw.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }))).Count;

describe('PUT/GET /v1/subscriptions/{id}', () => {
  it('creates with 201, answers decimal strings, and replaces with 200 and a new plan version', async () => {
    const id = uniqueId('sub');
    const first = await call('PUT', `/v1/subscriptions/${id}`, { body: aSubscription({ periodMinimum: '10' }) });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      subscriptionId: id,
      currency: 'USD',
      periodMinimum: '10.00',
      planVersion: 1,
      products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
    });
    const second = await call('PUT', `/v1/subscriptions/${id}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.04' } } }),
    });
    expect(second.status).toBe(200);
    expect(second.body.planVersion).toBe(2);
    expect(second.body.periodMinimum).toBeUndefined();
    const read = await call('GET', `/v1/subscriptions/${id}`);
    expect(read.body.products.voice.unitPrice).toBe('0.04');
  });

  it.each([
    ['an unknown currency', { currency: 'XXQ' }, 'body.currency'],
    [
      'a negative price',
      { products: { voice: { register: 'MINUTES', unitPrice: '-1' } } },
      'body.products.voice.unitPrice',
    ],
    [
      'a price with exponent',
      { products: { voice: { register: 'MINUTES', unitPrice: '1e3' } } },
      'body.products.voice.unitPrice',
    ],
    [
      'a lower-case register',
      { products: { voice: { register: 'minutes', unitPrice: '1' } } },
      'body.products.voice.register',
    ],
    ['no products', { products: {} }, 'body.products'],
    ['an impossible start date', { startDate: '2026-02-30' }, 'body.startDate'],
    ['a minimum with too many decimals', { periodMinimum: '1.001' }, 'body.periodMinimum'],
    ['an unknown field', { discount: '5' }, 'body'],
  ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_name, overrides, path) => {
    const before = await itemCount();
    const res = await call('PUT', `/v1/subscriptions/${uniqueId('sub')}`, { body: aSubscription(overrides) });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await itemCount()).toBe(before);
  });

  it('refuses changing the currency or moving a product to another register, leaving the plan as it was', async () => {
    const id = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${id}`, { body: aSubscription() });
    const res = await call('PUT', `/v1/subscriptions/${id}`, {
      body: aSubscription({ currency: 'EUR', products: { voice: { register: 'DATA_MB', unitPrice: '0.05' } } }),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.currency',
      'body.products.voice.register',
    ]);
    expect((await call('GET', `/v1/subscriptions/${id}`)).body).toMatchObject({ currency: 'USD', planVersion: 1 });
  });

  it('answers 404 NOT_FOUND for an unknown subscription', async () => {
    const res = await call('GET', '/v1/subscriptions/nobody');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });
});
