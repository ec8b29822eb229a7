import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { ratePartitionFrom } from '../support/rate-directly';
import { getEvent, getEvents } from '../../shared/store/usage-events';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('batches');
});
afterAll(async () => table.drop());

async function subscriptionWithEvents(n: number, opts: { day?: string; parentOf?: number } = {}) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const events = Array.from({ length: n }, (_, i) =>
    anEvent({
      subscriptionId: sub,
      quantity: String(1 + (i % 5)),
      occurredAt: `${opts.day ?? '2026-03-10'}T${String(Math.floor(i / 60) % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`,
    }),
  );
  for (let i = 0; i < events.length; i += 500) {
    const res = await call('POST', '/v1/usage-events', { body: { events: events.slice(i, i + 500) } });
    expect(res.body.rejected).toEqual([]);
  }
  return { sub, ids: events.map((e) => e.eventId as string) };
}

const rateAll = (sub: string, ids: string[]) =>
  ratePartitionFrom({
    subscriptionId: sub,
    register: 'MINUTES',
    toRate: ids,
    stepId: uniqueId('s'),
    actor: 't',
    now: new Date().toISOString(),
  });

async function newBatch(type: string, options: Record<string, unknown> = {}) {
  const res = await call('POST', '/v1/batches', { body: { type, name: `${type} test`, options } });
  expect(res.status).toBe(201);
  return res.body.batchId as string;
}

async function memberIds(batchId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await call('GET', `/v1/batches/${batchId}/members?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    ids.push(...page.body.items.map((m: { eventId: string }) => m.eventId));
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids.sort();
}

describe('POST /v1/batches and GET', () => {
  it('creates a DRAFT batch with counts, allowed actions and a log entry', async () => {
    const id = await newBatch('REVERSE_REPLACE', { creditOnly: true });
    const res = await call('GET', `/v1/batches/${id}`);
    expect(res.body).toMatchObject({
      status: 'DRAFT',
      type: 'REVERSE_REPLACE',
      options: { arPolicy: 'REJECT', creditOnly: true },
      counts: { events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 },
      allowedActions: ['ADD_EVENTS', 'REMOVE_EVENTS', 'CANCEL'],
      createdBy: 'test-user',
    });
    const log = await call('GET', `/v1/batches/${id}/log`);
    expect(log.body.items).toEqual([expect.objectContaining({ action: 'CREATE', actor: 'test-user' })]);
    const list = await call('GET', '/v1/batches?type=REVERSE_REPLACE&limit=1000');
    expect(list.body.items.map((b: { batchId: string }) => b.batchId)).toContain(id);
  });

  it.each([
    [
      'creditOnly on a RERATE batch',
      { type: 'RERATE', options: { creditOnly: true } },
      422,
      'ACTION_NOT_ALLOWED_FOR_TYPE',
    ],
    ['an unknown type', { type: 'REVERSAL' }, 400, 'VALIDATION_FAILED'],
    ['a future effectiveAt', { type: 'RERATE', options: { effectiveAt: '2099-01-01T00:00:00Z' } }, 422, 'FUTURE_DATED'],
  ])('refuses %s', async (_n, body, status, code) => {
    const res = await call('POST', '/v1/batches', { body });
    expect([res.status, res.body.code]).toEqual([status, code]);
  });
});

describe('holding events', () => {
  it('two batches racing to add the same 1,000 events end with each event held by exactly one', async () => {
    const { ids } = await subscriptionWithEvents(1000);
    const [a, b] = [await newBatch('RATING'), await newBatch('RATING')];
    const slices = Array.from({ length: 10 }, (_, i) => ids.slice(i * 100, i * 100 + 100));
    const calls = slices.flatMap((slice) =>
      [a, b].map((batch) => call('POST', `/v1/batches/${batch}/events`, { body: { eventIds: slice } })),
    );
    const answers = await Promise.all(calls);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const [ma, mb] = [await memberIds(a), await memberIds(b)];
    expect(ma.length + mb.length).toBe(1000);
    expect(ma.filter((id) => mb.includes(id))).toEqual([]);
    const events = await getEvents(ids);
    const holder = new Map(events.map((e) => [e.eventId, e.heldBy]));
    expect(ma.every((id) => holder.get(id) === a) && mb.every((id) => holder.get(id) === b)).toBe(true);
    const added = answers.reduce((s, r) => s + r.body.added, 0);
    expect(added).toBe(1000);
    expect(
      answers.flatMap((r) => r.body.rejected).every((r: { code: string }) => r.code === 'EVENT_HELD_BY_OTHER_BATCH'),
    ).toBe(true);
    expect(
      (await call('GET', `/v1/batches/${a}`)).body.counts.events +
        (await call('GET', `/v1/batches/${b}`)).body.counts.events,
    ).toBe(1000);
  });

  it('refuses each ineligible event with its code and holds the rest', async () => {
    const { sub, ids } = await subscriptionWithEvents(4);
    await rateAll(sub, [ids[0]!]);
    const other = await newBatch('RATING');
    await call('POST', `/v1/batches/${other}/events`, { body: { eventIds: [ids[1]] } });
    const rating = await newBatch('RATING');
    const res = await call('POST', `/v1/batches/${rating}/events`, {
      body: { eventIds: [ids[0], ids[1], ids[2], 'no-such-event'] },
    });
    expect(res.body.added).toBe(1);
    const codes = new Map(res.body.rejected.map((r: { eventId: string; code: string }) => [r.eventId, r.code]));
    expect(Object.fromEntries(codes)).toEqual({
      [ids[0]!]: 'EVENT_ALREADY_PROCESSED',
      [ids[1]!]: 'EVENT_HELD_BY_OTHER_BATCH',
      'no-such-event': 'EVENT_NOT_FOUND',
    });
    const rerate = await newBatch('RERATE');
    const r2 = await call('POST', `/v1/batches/${rerate}/events`, { body: { eventIds: [ids[3]] } });
    expect(r2.body.rejected).toEqual([expect.objectContaining({ eventId: ids[3], code: 'EVENT_NOT_RATED' })]);
    expect((await getEvent(ids[3]!))!.heldBy).toBeUndefined();
  });

  it('adding the same event twice is a no-op, and removal releases every event', async () => {
    const { ids } = await subscriptionWithEvents(6);
    const id = await newBatch('RATING');
    await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: ids } });
    const again = await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: ids.slice(0, 2) } });
    expect(again.body).toMatchObject({ added: 0, rejected: [] });
    const byRule = await call('POST', `/v1/batches/${id}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { eventIds: ids.slice(0, 2) } },
    });
    expect(byRule.body.removed).toBe(2);
    expect((await getEvents(ids.slice(0, 2))).map((e) => e.heldBy)).toEqual([undefined, undefined]);
    const all = await call('POST', `/v1/batches/${id}/events/remove`, { body: { mode: 'ALL' } });
    expect(all.body.removed).toBe(4);
    expect((await getEvents(ids)).every((e) => e.heldBy === undefined)).toBe(true);
    expect(await memberIds(id)).toEqual([]);
    expect((await call('GET', `/v1/batches/${id}`)).body.counts.events).toBe(0);
    // Released events can be held by another batch at once.
    const next = await newBatch('RATING');
    expect((await call('POST', `/v1/batches/${next}/events`, { body: { eventIds: ids } })).body.added).toBe(6);
  });

  it('a parent brings its children', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const parent = anEvent({ subscriptionId: sub });
    const kids = [
      anEvent({ subscriptionId: sub, parentEventId: parent.eventId }),
      anEvent({ subscriptionId: sub, parentEventId: parent.eventId }),
    ];
    await call('POST', '/v1/usage-events', { body: { events: [parent, ...kids] } });
    const id = await newBatch('RATING');
    const res = await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: [parent.eventId] } });
    expect(res.body.added).toBe(3);
    const members = (await call('GET', `/v1/batches/${id}/members`)).body.items;
    expect(
      members
        .filter((m: { role: string }) => m.role === 'CHILD')
        .map((m: { eventId: string }) => m.eventId)
        .sort(),
    ).toEqual(kids.map((k) => k.eventId).sort());
  });
});

describe('selection by criteria', () => {
  it('dry-runs a count, then adds page by page with the cursor; ids and criteria give the same members', async () => {
    const { sub, ids } = await subscriptionWithEvents(30, { day: '2026-05-04' });
    const byCriteria = await newBatch('RATING');
    const dry = await call('POST', `/v1/batches/${byCriteria}/events`, {
      body: { criteria: { subscriptionIds: [sub] }, dryRun: true },
    });
    expect(dry.body).toMatchObject({ dryRun: true, matched: 30, added: 0 });
    expect(await memberIds(byCriteria)).toEqual([]);
    const res = await call('POST', `/v1/batches/${byCriteria}/events`, {
      body: { criteria: { subscriptionIds: [sub] } },
    });
    expect(res.body).toMatchObject({ added: 30, matched: 30 });
    expect(await memberIds(byCriteria)).toEqual([...ids].sort());
  });

  it('selects by a time window alone through the day index', async () => {
    const { ids } = await subscriptionWithEvents(12, { day: '2026-06-17' });
    const id = await newBatch('RATING');
    const res = await call('POST', `/v1/batches/${id}/events`, {
      body: { criteria: { from: '2026-06-17T00:00:00Z', to: '2026-06-18T00:00:00Z' } },
    });
    expect(res.body.added).toBe(12);
    expect(await memberIds(id)).toEqual([...ids].sort());
  });

  it.each([
    ['no subscription and no window', {}],
    ['an open-ended window', { from: '2026-01-01T00:00:00Z' }],
    ['a window of more than 31 days', { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }],
  ])('refuses %s with CRITERIA_TOO_BROAD', async (_n, criteria) => {
    const id = await newBatch('RATING');
    const res = await call('POST', `/v1/batches/${id}/events`, { body: { criteria } });
    expect([res.status, res.body.code]).toEqual([422, 'CRITERIA_TOO_BROAD']);
  });
});

describe('replacements', () => {
  it('holds originals with their replacement events; an empty list reverses only', async () => {
    const { sub, ids } = await subscriptionWithEvents(3);
    await rateAll(sub, ids);
    const id = await newBatch('REVERSE_REPLACE');
    const res = await call('POST', `/v1/batches/${id}/replacements`, {
      body: {
        replacements: [
          {
            originalEventId: ids[0],
            events: [anEvent({ subscriptionId: sub, eventId: `${ids[0]}-fix`, quantity: '10' })],
          },
          { originalEventId: ids[1], events: [] },
          { originalEventId: ids[2], events: [anEvent({ subscriptionId: sub, quantity: '-1' })] },
          { originalEventId: 'ghost', events: [] },
        ],
      },
    });
    expect(res.body).toMatchObject({ added: 2, replacements: 1 });
    expect(
      res.body.rejected.map((r: { originalEventId: string; code: string }) => [r.originalEventId, r.code]).sort(),
    ).toEqual(
      [
        [ids[2], 'VALIDATION_FAILED'],
        ['ghost', 'EVENT_NOT_FOUND'],
      ].sort(),
    );
    const members = (await call('GET', `/v1/batches/${id}/members`)).body.items;
    expect(members.find((m: { eventId: string }) => m.eventId === ids[0]).replacements).toEqual([`${ids[0]}-fix`]);
    expect(await getEvent(`${ids[0]}-fix`)).toBeUndefined(); // inserted only at submit
  });

  it('records the same replacements once: a repeat is counted as already and leaves the counts alone', async () => {
    const { sub, ids } = await subscriptionWithEvents(2);
    await rateAll(sub, ids);
    const id = await newBatch('REVERSE_REPLACE');
    const body = {
      replacements: [
        {
          originalEventId: ids[0],
          events: [anEvent({ subscriptionId: sub, eventId: `${ids[0]}-fix`, quantity: '10' })],
        },
        { originalEventId: ids[1], events: [] },
      ],
    };
    const first = await call('POST', `/v1/batches/${id}/replacements`, { body });
    expect(first.body).toEqual({ added: 2, already: 0, replacements: 1, rejected: [] });
    const again = await call('POST', `/v1/batches/${id}/replacements`, { body });
    expect(again.body).toEqual({ added: 0, already: 2, replacements: 0, rejected: [] });
    expect((await call('GET', `/v1/batches/${id}`)).body.counts.events).toBe(2);

    const other = await call('POST', `/v1/batches/${id}/replacements`, {
      body: { replacements: [{ originalEventId: ids[1], events: [anEvent({ subscriptionId: sub, quantity: '3' })] }] },
    });
    expect(other.body.rejected).toEqual([
      expect.objectContaining({
        originalEventId: ids[1],
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('other replacements'),
      }),
    ]);
  });

  it('gives an original added by id its replacements without counting it twice', async () => {
    const { sub, ids } = await subscriptionWithEvents(1);
    await rateAll(sub, ids);
    const id = await newBatch('REVERSE_REPLACE');
    expect((await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: ids } })).body).toMatchObject({
      added: 1,
      already: 0,
    });
    expect((await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: ids } })).body).toMatchObject({
      added: 0,
      already: 1,
    });
    const res = await call('POST', `/v1/batches/${id}/replacements`, {
      body: {
        replacements: [
          {
            originalEventId: ids[0],
            events: [anEvent({ subscriptionId: sub, eventId: `${ids[0]}-fix`, quantity: '7' })],
          },
        ],
      },
    });
    expect(res.body).toEqual({ added: 1, already: 0, replacements: 1, rejected: [] });
    expect((await call('GET', `/v1/batches/${id}`)).body.counts.events).toBe(1);
    const members = (await call('GET', `/v1/batches/${id}/members`)).body.items;
    expect(members).toEqual([expect.objectContaining({ eventId: ids[0], replacements: [`${ids[0]}-fix`] })]);
  });

  it('refuses replacements on a RATING batch and on a creditOnly batch, changing nothing', async () => {
    const { sub, ids } = await subscriptionWithEvents(1);
    await rateAll(sub, ids);
    for (const [type, options] of [
      ['RATING', {}],
      ['REVERSE_REPLACE', { creditOnly: true }],
    ] as const) {
      const id = await newBatch(type, options);
      const res = await call('POST', `/v1/batches/${id}/replacements`, {
        body: { replacements: [{ originalEventId: ids[0], events: [] }] },
      });
      expect([res.status, res.body.code]).toEqual([422, 'ACTION_NOT_ALLOWED_FOR_TYPE']);
    }
    expect((await getEvent(ids[0]!))!.heldBy).toBeUndefined();
  });
});

describe('status guards', () => {
  it('refuses edits once the batch has left DRAFT, with 409 INVALID_TRANSITION, changing nothing', async () => {
    const { ids } = await subscriptionWithEvents(2);
    const id = await newBatch('RATING');
    await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: [ids[0]] } });
    // Simulate the lock workflow having moved it on.
    const { transitionBatch } = await import('../../shared/store/batches');
    await transitionBatch(id, ['DRAFT'], 'LOCKING', new Date().toISOString());
    const add = await call('POST', `/v1/batches/${id}/events`, { body: { eventIds: [ids[1]] } });
    expect([add.status, add.body.code]).toEqual([409, 'INVALID_TRANSITION']);
    const remove = await call('POST', `/v1/batches/${id}/events/remove`, { body: { mode: 'ALL' } });
    expect([remove.status, remove.body.code]).toEqual([409, 'INVALID_TRANSITION']);
    expect((await getEvent(ids[1]!))!.heldBy).toBeUndefined();
    expect((await getEvent(ids[0]!))!.heldBy).toBe(id);
    const items = await clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
        ExpressionAttributeValues: { ':pk': keys.batchPartition(id), ':m': 'MEM#' },
      }),
    );
    expect(items.Items).toHaveLength(1);
  });

  it('answers 404 for an unknown batch and 400 for a malformed id', async () => {
    expect((await call('GET', '/v1/batches/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call('GET', '/v1/batches/not-a-uuid')).body.code).toBe('VALIDATION_FAILED');
  });
});
