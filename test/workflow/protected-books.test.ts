// Protected books: a batch never changes a period closed in the ledger or before the account
// existed (refused at lock per member, or posted as credit/rebill in the earliest open period);
// effectiveAt follows the backdating rules and dates the postings; a BILLED line that changes is
// flagged for re-invoicing with a domain event, and a credit-only correction never reopens it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { allLedgerEntries } from '../../shared/store/balances';
import { checkSubscription } from '../../shared/store/invariants';
import { getOutboxEntry } from '../../shared/store/outbox';
import { requireSubscription } from '../../shared/store/subscriptions';
import { anAccountWith, products } from '../support/accounts';
import { call } from '../support/api';
import { anEvent, aSubscription, uniqueId } from '../support/builders';
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

const invariantsHold = async (sub: string) =>
  expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
const reprice = (sub: string, accountId: string, price: string) =>
  call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({ accountId, products: { ...products, voice: { register: 'MINUTES', unitPrice: price } } }),
  });
const memberCodes = async (batchId: string) =>
  (await call('GET', `/v1/batches/${batchId}/members`)).body.items.map((m: any) => [m.state, m.errorCode]);

describe('a period before the account existed', () => {
  it('is refused BEFORE_ACCOUNT_CREATED at lock, per member; under CREDIT_REBILL it is posted in the first period of the account', async () => {
    const { accountId, subs } = await anAccountWith(1, undefined, { createdAt: '2026-05-10T00:00:00Z' });
    const sub = subs[0]!;
    const events = [anEvent({ subscriptionId: sub, quantity: '20', occurredAt: '2026-04-20T10:00:00Z' })];
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(1);
    const refused = await newBatch('RATING', { eventIds: [events[0]!.eventId] });
    expect((await act(refused, 'lock', ['LOCKED'])).counts.errored).toBe(1);
    expect(await memberCodes(refused)).toEqual([['ERROR', 'BEFORE_ACCOUNT_CREATED']]);
    await act(refused, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${refused}/events/remove`, { body: { mode: 'ALL' } });

    const posted = await newBatch('RATING', { eventIds: [events[0]!.eventId] }, { arPolicy: 'CREDIT_REBILL' });
    await act(posted, 'lock', ['LOCKED']);
    const p = await preview(posted);
    expect(p.subscriptions[0].creditRebill).toEqual([
      { kind: 'REBILL', amount: '1.00', originalPeriod: '2026-04', period: '2026-05' },
    ]);
    expect((await act(posted, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-04', '2026-05'])).toEqual({ '2026-05': '1.00' });
    void accountId;
    await invariantsHold(sub);
  });
});

describe('effectiveAt', () => {
  it('follows the backdating rules (before the account existed: BACKDATE_OUT_OF_RANGE) and dates the ledger entries the batch posts', async () => {
    const { accountId, subs } = await anAccountWith(1, '10', { createdAt: '2026-02-01T00:00:00Z' });
    const sub = subs[0]!;
    const ids = await rateThroughBatch(sub, [{ quantity: '30', occurredAt: '2026-03-05T10:00:00Z' }]);
    expect((await reprice(sub, accountId, '0.10')).status).toBe(200);
    const early = await newBatch('RERATE', { eventIds: ids }, { effectiveAt: '2026-01-15T00:00:00Z' });
    await act(early, 'lock', ['LOCKED']);
    expect(await memberCodes(early)).toEqual([['ERROR', 'BACKDATE_OUT_OF_RANGE']]);
    await act(early, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${early}/events/remove`, { body: { mode: 'ALL' } });

    const dated = await newBatch('RERATE', { eventIds: ids }, { effectiveAt: '2026-03-31T00:00:00Z' });
    await act(dated, 'lock', ['LOCKED']);
    expect((await act(dated, 'submit', FINISHED)).status).toBe('COMPLETED');
    // Only the price changed: no allowance moves, so the batch posts no ledger entry.
    expect((await allLedgerEntries(sub, 'MINUTES')).filter((e) => e.batchId === dated)).toEqual([]);
    // A batch that moves allowance dates its entry at effectiveAt.
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
      body: { amount: '50', validFrom: '2026-03-01T00:00:00Z' },
    });
    const moving = await newBatch('RERATE', { eventIds: ids }, { effectiveAt: '2026-03-31T00:00:00Z' });
    await act(moving, 'lock', ['LOCKED']);
    expect((await act(moving, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(
      (await allLedgerEntries(sub, 'MINUTES')).filter((e) => e.batchId === moving).map((e) => [e.kind, e.at]),
    ).toEqual([['CONSUMPTION', '2026-03-31T00:00:00.000Z']]);
    await invariantsHold(sub);
  });
});

describe('a BILLED line', () => {
  it('changed by a batch is shown reinvoiceRequired in the preview and emits BILL_REINVOICE_REQUIRED for the billing system', async () => {
    const { accountId, subs } = await anAccountWith(1);
    const sub = subs[0]!;
    const ids = await rateThroughBatch(sub, [{ quantity: '30', occurredAt: '2026-07-05T10:00:00Z' }]);
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/2026-07/status`, { body: { status: 'BILLED' } })).status,
    ).toBe(200);
    expect((await reprice(sub, accountId, '0.10')).status).toBe(200);
    const batchId = await newBatch('RERATE', { eventIds: ids });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(p.subscriptions[0].billLines).toEqual([
      expect.objectContaining({
        period: '2026-07',
        status: 'BILLED',
        reinvoiceRequired: true,
        before: expect.objectContaining({ total: '1.50' }),
        after: expect.objectContaining({ total: '3.00' }),
      }),
    ]);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-07'])).toEqual(previewTotals(p, sub));
    const event = await getOutboxEntry(`BILL_REINVOICE_REQUIRED:${batchId}:${sub}`);
    expect(event?.event).toMatchObject({
      type: 'BILL_REINVOICE_REQUIRED',
      accountId,
      detail: {
        subscriptionId: sub,
        batchId,
        currency: 'USD',
        lines: [{ period: '2026-07', before: '1.50', after: '3.00' }],
      },
    });
    await invariantsHold(sub);
  });

  it('is never reopened by a credit-only reversal: it stays 1.00, and the credit lands in the next open period', async () => {
    const { subs } = await anAccountWith(1);
    const sub = subs[0]!;
    const ids = await rateThroughBatch(sub, [{ quantity: '20', occurredAt: '2026-08-05T10:00:00Z' }]);
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/2026-08/status`, { body: { status: 'BILLED' } })).status,
    ).toBe(200);
    const batchId = await newBatch('REVERSE_REPLACE', { eventIds: ids }, { creditOnly: true });
    await act(batchId, 'lock', ['LOCKED']);
    const p = await preview(batchId);
    expect(
      p.subscriptions[0].billLines.map((l: any) => [
        l.period,
        l.status,
        l.after.total,
        l.frozenBecause ?? null,
        l.reinvoiceRequired,
      ]),
    ).toEqual([
      ['2026-08', 'BILLED', '1.00', 'BILLED', false],
      ['2026-09', 'OPEN', '-1.00', null, false],
    ]);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect((await billLines(sub)).map((l) => [l.period, l.status, l.total])).toEqual([
      ['2026-08', 'BILLED', '1.00'],
      ['2026-09', 'OPEN', '-1.00'],
    ]);
    await invariantsHold(sub);
  });
});

describe('a plan too large for one transaction', () => {
  it('is refused PLAN_TOO_LARGE at lock, per member, rather than half-applied at submit', async () => {
    const { accountId } = await anAccountWith(0);
    const sub = uniqueId('sub');
    // 50 products on 50 registers: the totals would need more than DynamoDB's 100 items.
    const many = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`p${i}`, { register: `R${i}`, unitPrice: '0.01' }]),
    );
    expect(
      (await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription({ accountId, products: many }) })).status,
    ).toBe(201);
    const events = Array.from({ length: 50 }, (_, i) =>
      anEvent({ subscriptionId: sub, productId: `p${i}`, quantity: '1', occurredAt: '2026-06-01T10:00:00Z' }),
    );
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(50);
    const batchId = await newBatch('RATING', { eventIds: events.map((e) => e.eventId) });
    expect((await act(batchId, 'lock', ['LOCKED'])).counts).toMatchObject({ events: 50, errored: 50 });
    expect(new Set((await memberCodes(batchId)).map(([, code]: [string, string]) => code))).toEqual(
      new Set(['PLAN_TOO_LARGE']),
    );
    expect(await billLines(sub)).toEqual([]);
  });
});

// Last: the ledger close is one setting for the whole table, and it only moves forward.
describe('a period closed in the ledger', () => {
  it('is refused PERIOD_CLOSED at lock per member; under CREDIT_REBILL the change is posted in the earliest open period', async () => {
    const { accountId, subs } = await anAccountWith(1);
    const sub = subs[0]!;
    const ids = await rateThroughBatch(sub, [{ quantity: '30', occurredAt: '2026-10-05T10:00:00Z' }]);
    expect((await call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: '2026-10' } })).status).toBe(200);
    expect((await reprice(sub, accountId, '0.10')).status).toBe(200);
    const refused = await newBatch('RERATE', { eventIds: ids });
    await act(refused, 'lock', ['LOCKED']);
    expect(await memberCodes(refused)).toEqual([['ERROR', 'PERIOD_CLOSED']]);
    await act(refused, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${refused}/events/remove`, { body: { mode: 'ALL' } });

    const posted = await newBatch('RERATE', { eventIds: ids }, { arPolicy: 'CREDIT_REBILL' });
    await act(posted, 'lock', ['LOCKED']);
    const p = await preview(posted);
    expect(p.subscriptions[0].creditRebill).toEqual([
      { kind: 'CREDIT', amount: '-1.50', originalPeriod: '2026-10', period: '2026-11' },
      { kind: 'REBILL', amount: '3.00', originalPeriod: '2026-10', period: '2026-11' },
    ]);
    expect((await act(posted, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-10', '2026-11'])).toEqual({ '2026-10': '1.50', '2026-11': '1.50' });
    await invariantsHold(sub);
  });

  it('late usage dated in it is refused PERIOD_CLOSED at lock, or rated into the earliest open period as a rebill under CREDIT_REBILL', async () => {
    const { subs } = await anAccountWith(1);
    const sub = subs[0]!;
    const late = [anEvent({ subscriptionId: sub, quantity: '40', occurredAt: '2026-09-20T10:00:00Z' })];
    expect((await call('POST', '/v1/usage-events', { body: { events: late } })).body.accepted).toBe(1);
    const refused = await newBatch('RATING', { eventIds: [late[0]!.eventId] });
    await act(refused, 'lock', ['LOCKED']);
    expect(await memberCodes(refused)).toEqual([['ERROR', 'PERIOD_CLOSED']]);
    await act(refused, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${refused}/events/remove`, { body: { mode: 'ALL' } });
    const posted = await newBatch('RATING', { eventIds: [late[0]!.eventId] }, { arPolicy: 'CREDIT_REBILL' });
    await act(posted, 'lock', ['LOCKED']);
    expect((await preview(posted)).subscriptions[0].creditRebill).toEqual([
      { kind: 'REBILL', amount: '2.00', originalPeriod: '2026-09', period: '2026-11' },
    ]);
    expect((await act(posted, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(sub, ['2026-09', '2026-11'])).toEqual({ '2026-11': '2.00' });
    await invariantsHold(sub);
  });
});
