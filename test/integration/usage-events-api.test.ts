import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { clients } from '../../shared/store/clients';
import { getEvent } from '../../shared/store/usage-events';

let table: TestTable;
const sub = uniqueId('sub');
beforeAll(async () => {
  table = await useTestTable('events');
  await call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({
      products: {
        voice: { register: 'MINUTES', unitPrice: '0.05' },
        data: { register: 'DATA_MB', unitPrice: '0.001' },
      },
    }),
  });
});
afterAll(async () => table.drop());

const ev = (o: Record<string, unknown> = {}) => anEvent({ subscriptionId: sub, ...o });

describe('POST /v1/usage-events', () => {
  it('lands good events as LOADED and rejects each bad one with its index and code', async () => {
    const good1 = ev({ quantity: 12.5 });
    const good2 = ev({ quantity: '0' });
    const res = await call('POST', '/v1/usage-events', {
      body: {
        events: [
          good1,
          ev({ quantity: '-3' }),
          ev({ subscriptionId: 'nobody' }),
          ev({ productId: 'sms' }),
          good2,
          ev({ occurredAt: '2025-12-31T23:59:59Z' }),
          ev({ occurredAt: '2099-01-01T00:00:00Z' }),
          ev({ occurredAt: '2026-02-30T00:00:00Z' }),
          ev({ quantity: '1.0000001' }),
          { eventId: 'x y' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(2);
    expect(res.body.duplicates).toBe(0);
    expect(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'VALIDATION_FAILED'],
      [2, 'NOT_FOUND'],
      [3, 'VALIDATION_FAILED'],
      [5, 'BACKDATE_OUT_OF_RANGE'],
      [6, 'FUTURE_DATED'],
      [7, 'VALIDATION_FAILED'],
      [8, 'VALIDATION_FAILED'],
      [9, 'VALIDATION_FAILED'],
    ]);
    const stored = await getEvent(good1.eventId);
    expect(stored).toMatchObject({
      status: 'LOADED',
      quantity: 12_500_000n,
      register: 'MINUTES',
      occurredAt: '2026-03-01T10:00:00.000Z',
    });
  });

  it('counts the same event again as a duplicate and other content under its id as EVENT_ID_CONFLICT', async () => {
    const e = ev({ attributes: { cell: 'A1', zone: 'eu' } });
    expect((await call('POST', '/v1/usage-events', { body: { events: [e] } })).body.accepted).toBe(1);
    const again = await call('POST', '/v1/usage-events', {
      // Same content: attribute order and quantity spelling do not matter.
      body: {
        events: [
          { ...e, quantity: 30, attributes: { zone: 'eu', cell: 'A1' } },
          { ...e, eventId: e.eventId, quantity: '31' },
        ],
      },
    });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(again.body.rejected[0]).toMatchObject({
      index: 1,
      code: 'EVENT_ID_CONFLICT',
      message: 'eventId repeats item 0 of this request with other content',
    });
    const dup = await call('POST', '/v1/usage-events', { body: { events: [{ ...e, quantity: '30.000' }] } });
    expect(dup.body).toMatchObject({ accepted: 0, duplicates: 1, rejected: [] });
    const conflict = await call('POST', '/v1/usage-events', { body: { events: [{ ...e, quantity: '31' }] } });
    expect(conflict.body.rejected).toEqual([
      expect.objectContaining({ index: 0, eventId: e.eventId, code: 'EVENT_ID_CONFLICT' }),
    ]);
    expect((await getEvent(e.eventId))!.quantity).toBe(30_000_000n);
  });

  it('links children to a parent in the same call or already stored, and refuses an unknown parent', async () => {
    const parent = ev();
    const child = ev({ parentEventId: parent.eventId, productId: 'data', quantity: '500' });
    const orphan = ev({ parentEventId: 'no-such-parent' });
    const res = await call('POST', '/v1/usage-events', { body: { events: [child, parent, orphan] } });
    expect(res.body.accepted).toBe(2);
    expect(res.body.rejected).toEqual([expect.objectContaining({ index: 2, code: 'EVENT_NOT_FOUND' })]);
    const detail = await call('GET', `/v1/usage-events/${parent.eventId}`);
    expect(detail.body.lineage.childEventIds).toEqual([child.eventId]);
    const childDetail = await call('GET', `/v1/usage-events/${child.eventId}`);
    expect(childDetail.body).toMatchObject({
      quantity: '500',
      register: 'DATA_MB',
      status: 'LOADED',
      lineage: { parentEventId: parent.eventId },
    });
  });

  it('lands the new events of a large request among stored ones, settling each stored one as a duplicate or a conflict', async () => {
    const parent = ev();
    expect((await call('POST', '/v1/usage-events', { body: { events: [parent] } })).body.accepted).toBe(1);
    // 300 children of one stored parent: more than one transaction's worth.
    const children = Array.from({ length: 300 }, (_, i) =>
      ev({ parentEventId: parent.eventId, quantity: String(1 + (i % 5)) }),
    );
    const stored = children.filter((_, i) => i % 3 === 0);
    expect((await call('POST', '/v1/usage-events', { body: { events: stored } })).body).toMatchObject({
      accepted: 100,
      duplicates: 0,
      rejected: [],
    });

    const changed = new Set([3, 150, 297]); // stored, sent again with another quantity
    const res = await call('POST', '/v1/usage-events', {
      body: { events: children.map((c, i) => (changed.has(i) ? { ...c, quantity: '99' } : c)) },
    });
    expect(res.body.accepted).toBe(200);
    expect(res.body.duplicates).toBe(97);
    expect(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual(
      [...changed].map((i) => [i, 'EVENT_ID_CONFLICT']),
    );
    // Each child is counted on its parent once, however many rounds its transaction took.
    expect((await getEvent(parent.eventId))!.childCount).toBe(300);
    expect((await getEvent(children[3]!.eventId))!.quantity).toBe(BigInt(1 + (3 % 5)) * 1_000_000n);
  });

  it('sends a transaction cancelled by throttling or contention alone again, landing every event once', async () => {
    let refusals = 2;
    const name = 'refuseTransactionsTwice';
    clients.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && refusals-- > 0) {
          const items = (args.input as { TransactItems: unknown[] }).TransactItems;
          throw new TransactionCanceledException({
            message: 'Transaction cancelled',
            $metadata: {},
            CancellationReasons: items.map((_, i) => ({
              Code: i === 0 ? (refusals === 1 ? 'ThrottlingError' : 'TransactionConflict') : 'None',
            })),
          });
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      const events = Array.from({ length: 120 }, () => ev());
      expect((await call('POST', '/v1/usage-events', { body: { events } })).body).toEqual({
        accepted: 120,
        duplicates: 0,
        rejected: [],
      });
      expect(refusals).toBeLessThan(0);
    } finally {
      clients.dynamo.middlewareStack.remove(name);
    }
  });

  it.each([
    ['no events', { events: [] }],
    ['more than 500 events', { events: Array.from({ length: 501 }, () => ({})) }],
    ['events that are not a list', { events: 'all' }],
    ['an unknown top-level field', { events: [{}], dryRun: true }],
  ])('refuses a body with %s as a whole', async (_name, body) => {
    const res = await call('POST', '/v1/usage-events', { body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /v1/usage-events', () => {
  it('pages a subscription in rating order with filters and an opaque cursor', async () => {
    const s = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${s}`, { body: aSubscription() });
    const events = Array.from({ length: 7 }, (_, i) =>
      anEvent({ subscriptionId: s, occurredAt: `2026-03-0${i + 1}T00:00:00Z` }),
    );
    await call('POST', '/v1/usage-events', { body: { events: events.reverse() } });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(
        'GET',
        `/v1/usage-events?subscriptionId=${s}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((i: { occurredAt: string }) => i.occurredAt.slice(0, 10)));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
    ]);
    const window = await call(
      'GET',
      `/v1/usage-events?subscriptionId=${s}&from=2026-03-02T00:00:00Z&to=2026-03-04T00:00:00Z`,
    );
    expect(window.body.items.map((i: { occurredAt: string }) => i.occurredAt.slice(0, 10))).toEqual([
      '2026-03-02',
      '2026-03-03',
    ]);
  });

  it('requires a subscription and refuses a forged cursor', async () => {
    expect((await call('GET', '/v1/usage-events')).body.code).toBe('VALIDATION_FAILED');
    const res = await call('GET', `/v1/usage-events?subscriptionId=${sub}&cursor=bm90LWEtY3Vyc29y`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('query.cursor');
  });
});
