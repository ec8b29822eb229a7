// The preview binds submit: for each input that can move under a locked batch, submit writes
// nothing that differs from the preview, and says why (PREVIEW_STALE, lock again).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';
import { anAccountWith, products } from '../support/accounts';
import { call } from '../support/api';
import { aSubscription } from '../support/builders';
import {
  actualTotals,
  balances,
  billLines,
  FINISHED,
  newBatch,
  preview,
  previewTotals,
  rateThroughBatch,
} from '../support/corrections';
import { act, useLocalWorkflows, waitForStatus } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const reprice = (sub: string, accountId: string, price: string) =>
  call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({ accountId, products: { ...products, voice: { register: 'MINUTES', unitPrice: price } } }),
  });

/**
 * A subscription whose March events (30, 50, 40 against 100 minutes: 20 over at 0.05) are rated,
 * then repriced to 0.10 and a RERATE batch locked: the preview says March goes 1.00 → 2.00.
 */
async function lockedRerate() {
  const { accountId, subs } = await anAccountWith(2, '100');
  const [sub, other] = subs as [string, string];
  const ids = await rateThroughBatch(sub, [
    { quantity: '30', occurredAt: '2026-03-01T10:00:00Z' },
    { quantity: '50', occurredAt: '2026-03-02T10:00:00Z' },
    { quantity: '40', occurredAt: '2026-03-03T10:00:00Z' },
  ]);
  expect((await reprice(sub, accountId, '0.10')).status).toBe(200);
  const batchId = await newBatch('RERATE', { eventIds: ids });
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  const res = await call('GET', `/v1/batches/${batchId}/preview`);
  expect(res.body.subscriptions[0].billLines.map((l: any) => [l.period, l.before.total, l.after.total])).toEqual([
    ['2026-03', '1.00', '2.00'],
  ]);
  expect(res.body.stale).toBe(false);
  const before = { lines: await billLines(sub), balances: await balances(sub), events: await getEvents(ids) };
  return { accountId, sub, other, ids, batchId, tag: res.headers.etag as string, before };
}

/** Submit after `move`: nothing of the subscription is written, and the batch says why. */
async function expectNotApplied(x: Awaited<ReturnType<typeof lockedRerate>>, reason: RegExp) {
  const stale = await preview(x.batchId);
  expect(stale.stale).toBe(true);
  expect(stale.subscriptions[0]).toMatchObject({ state: 'STALE', staleReason: expect.stringMatching(reason) });
  // The tag read before the move no longer submits.
  const refused = await call('POST', `/v1/batches/${x.batchId}/submit`, { headers: { 'if-match': x.tag } });
  expect([refused.status, refused.body.code]).toEqual([412, 'PREVIEW_STALE']);
  const linesAfterMove = await billLines(x.sub);
  const balancesAfterMove = await balances(x.sub);
  // Without If-Match, submit runs and writes nothing of the stale subscription.
  const done = await act(x.batchId, 'submit', FINISHED);
  expect(done.status).toBe('FAILED');
  expect(done.lastError).toMatchObject({
    code: 'PREVIEW_STALE',
    message: expect.stringMatching(/lock it to see the new preview/),
  });
  const members = (await call('GET', `/v1/batches/${x.batchId}/members`)).body.items;
  expect(members.map((m: any) => [m.state, m.errorCode])).toEqual(x.ids.map(() => ['FAILED', 'PREVIEW_STALE']));
  expect(members[0].errorMessage).toMatch(reason);
  expect(await billLines(x.sub)).toEqual(linesAfterMove);
  expect(await balances(x.sub)).toEqual(balancesAfterMove);
  const events = await getEvents(x.ids);
  expect(events.map((e) => [e.ratingRev, e.rating!.amount, e.heldBy])).toEqual(
    x.before.events.map((e) => [e.ratingRev, e.rating!.amount, undefined]),
  );
  expect(await checkSubscription(await requireSubscription(x.sub))).toEqual([]);
}

describe('a locked batch whose inputs do not move', () => {
  it('submits with the preview tag as If-Match and writes exactly the preview', async () => {
    const x = await lockedRerate();
    const p = await preview(x.batchId);
    const res = await call('POST', `/v1/batches/${x.batchId}/submit`, { headers: { 'if-match': x.tag } });
    expect(res.status).toBe(202);
    expect((await waitForStatus(x.batchId, FINISHED)).status).toBe('COMPLETED');
    expect(await actualTotals(x.sub, ['2026-03'])).toEqual(previewTotals(p, x.sub));
    const after = await preview(x.batchId);
    expect(after.subscriptions[0].state).toBe('APPLIED');
  });
});

describe('an input that moves between lock and submit', () => {
  it('a grant (top-up) to the register: not applied, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    expect(
      (await call('POST', `/v1/subscriptions/${x.sub}/balances/MINUTES/grants`, { body: { amount: '50' } })).status,
    ).toBe(201);
    await expectNotApplied(x, /register MINUTES/);
  });

  it('a transfer into the register: not applied, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    const t = await call('POST', '/v1/balance-transfers', {
      body: {
        from: { subscriptionId: x.other, register: 'MINUTES' },
        to: { subscriptionId: x.sub, register: 'MINUTES' },
        amount: '10',
      },
    });
    expect(t.status).toBe(201);
    await expectNotApplied(x, /register MINUTES/);
  });

  it('a register adjustment: not applied, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    const a = await call('POST', `/v1/subscriptions/${x.sub}/adjustments`, {
      body: {
        target: 'REGISTER',
        register: 'MINUTES',
        direction: 'CREDIT',
        amount: '5',
        effectiveAt: '2026-03-01T00:00:00Z',
        reason: 'goodwill',
      },
    });
    expect(a.status).toBe(201);
    await expectNotApplied(x, /register MINUTES/);
  });

  it('a price change: not applied, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    expect((await reprice(x.sub, x.accountId, '0.20')).status).toBe(200);
    await expectNotApplied(x, /price plan/);
  });

  it('a bill-line status change (INTERFACED after lock): the line is not touched, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    for (const status of ['BILLED', 'INTERFACED'])
      expect(
        (await call('POST', `/v1/subscriptions/${x.sub}/bill-lines/2026-03/status`, { body: { status } })).status,
      ).toBe(200);
    await expectNotApplied(x, /bill line 2026-03/);
    expect((await billLines(x.sub))[0]).toMatchObject({ status: 'INTERFACED', total: '1.00' });
  });

  // Last: the ledger close is one setting for the whole table, and it only moves forward.
  it('a ledger close over the period: not applied, PREVIEW_STALE', async () => {
    const x = await lockedRerate();
    expect((await call('PUT', '/v1/settings/ledger-close', { body: { closedThrough: '2026-03' } })).status).toBe(200);
    await expectNotApplied(x, /ledger close/);
  });
});
