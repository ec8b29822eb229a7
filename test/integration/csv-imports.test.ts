// CSV drops end to end: files put into the local S3 are imported by the real handler into
// DynamoDB Local, and read back through the API and the results/ reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { errorsKeyOf } from '../../shared/domain/import-keys';
import { Readable } from 'node:stream';
import { getImportMarker } from '../../shared/store/import-markers';
import { clients } from '../../shared/store/clients';
import { ratePartitionFrom } from '../support/rate-directly';
import { call } from '../support/api';
import { aSubscription, uniqueId } from '../support/builders';
import { eventually } from '../support/eventually';
import { type Bucket, deliver, objectCreated, startStackWithBucket, type StackWithBucket } from '../support/s3';

let stack: LocalStack;
let bucket: Bucket;

let env: StackWithBucket;

beforeAll(async () => {
  env = await startStackWithBucket('csv');
  ({ stack, bucket } = env);
});

afterAll(async () => env?.stop());

const HEADER = 'event_id,subscription_id,product_id,quantity,occurred_at,parent_event_id';

async function newSubscription(): Promise<string> {
  const sub = uniqueId('sub');
  expect((await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() })).status).toBeLessThan(300);
  return sub;
}

const at = (i: number) => new Date(Date.UTC(2026, 2, 1) + i * 1000).toISOString();

/** All of a subscription's events through the API, paged. */
async function eventIdsOf(sub: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(
      'GET',
      `/v1/usage-events?subscriptionId=${sub}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(page.status).toBe(200);
    ids.push(...page.body.items.map((e: { eventId: string }) => e.eventId));
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids.sort();
}

async function memberIdsOf(batchId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(
      'GET',
      `/v1/batches/${batchId}/members?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    ids.push(...page.body.items.map((m: { eventId: string }) => m.eventId));
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids.sort();
}

async function newBatch(type: string): Promise<string> {
  const res = await call('POST', '/v1/batches', { body: { type } });
  expect(res.status).toBe(201);
  return res.body.batchId as string;
}

async function loadEvents(sub: string, n: number, prefix = uniqueId('e')): Promise<string[]> {
  const events = Array.from({ length: n }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    subscriptionId: sub,
    productId: 'voice',
    quantity: String(1 + (i % 7)),
    occurredAt: at(i),
  }));
  for (let i = 0; i < n; i += 500) {
    const res = await call('POST', '/v1/usage-events', { body: { events: events.slice(i, i + 500) } });
    expect(res.body.rejected).toEqual([]);
  }
  return events.map((e) => e.eventId);
}

describe('usage-events/<name>.csv', () => {
  it('imports 10,000 good rows and reports exactly the 100 bad ones, by row number, in the errors CSV', async () => {
    const sub = await newSubscription();
    const lines = [HEADER];
    const bad = new Map<number, string>();
    const faults: Array<[code: string, row: (i: number) => string]> = [
      ['VALIDATION_FAILED', (i) => `bad-${i},${sub},voice,-3,${at(i)},`], // negative quantity
      ['NOT_FOUND', (i) => `bad-${i},no-such-sub,voice,1,${at(i)},`],
      ['VALIDATION_FAILED', (i) => `bad-${i},${sub},voice,1`], // too few columns
      ['FUTURE_DATED', (i) => `bad-${i},${sub},voice,1,2099-01-01T00:00:00Z,`],
      ['VALIDATION_FAILED', (i) => `=HYPERLINK("http://evil/${i}"),${sub},voice,1,${at(i)},`], // injection, and not an id
    ];
    let good = 0;
    for (let row = 1; good < 10_000 || bad.size < 100; row++) {
      if (row % 101 === 0 && bad.size < 100) {
        const [code, make] = faults[bad.size % faults.length]!;
        lines.push(make(row));
        bad.set(row, code);
      } else {
        lines.push(`ok-${sub}-${row},${sub},voice,${1 + (row % 9)},${at(row)},`);
        good++;
      }
    }
    const key = `usage-events/${uniqueId('big')}.csv`;
    await bucket.put(key, `${lines.join('\n')}\n`);

    const result = await bucket.result(key, 120_000);
    expect(result).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 10_100,
      accepted: 10_000,
      duplicates: 0,
      rejected: 100,
      errorsKey: errorsKeyOf(key),
    });
    const errors = (await bucket.errors(key))!;
    expect(errors[0]).toEqual(['row', 'code', 'message', ...HEADER.split(',')]);
    const reported = errors.slice(1);
    expect(reported.map((r) => Number(r[0]))).toEqual([...bad.keys()]);
    expect(reported.map((r) => r[1])).toEqual([...bad.values()]);
    // The original cells follow, as they were: a formula comes back as text.
    const injected = reported.find((r) => r[3]!.includes('HYPERLINK'))!;
    expect(injected[3]).toMatch(/^'=HYPERLINK\("http:\/\/evil\/\d+"\)$/);
    expect(reported.find((r) => r[2]!.startsWith('expected 6 column'))).toHaveLength(3 + 4);

    expect(await eventIdsOf(sub)).toHaveLength(10_000);
  });

  it('imports a file once however often S3 delivers it: three times after it finished, then three at once', async () => {
    const sub = await newSubscription();
    const rows = Array.from({ length: 1_200 }, (_, i) => `once-${sub}-${i},${sub},voice,2,${at(i)},`);
    const key = `usage-events/${uniqueId('once')}.csv`;
    const { eTag } = await bucket.put(key, [HEADER, ...rows].join('\n'));
    const first = await bucket.result(key);
    expect(first).toMatchObject({ status: 'COMPLETED', rows: 1_200, accepted: 1_200, duplicates: 0 });

    const event = objectCreated(stack.bucketName, key, eTag);
    for (let i = 0; i < 3; i++) await deliver(event);
    await Promise.all([deliver(event), deliver(event), deliver(event)]);

    // A second run would have reported every row as a duplicate.
    expect(await bucket.result(key)).toEqual(first);
    expect(await getImportMarker({ bucket: stack.bucketName, key, version: eTag })).toMatchObject({
      status: 'COMPLETED',
      attempts: 1,
    });
    expect(await eventIdsOf(sub)).toHaveLength(1_200);
  });

  it('imports a file version again after an import that failed: a read that found it empty does not block it', async () => {
    const sub = await newSubscription();
    const rows = Array.from({ length: 30 }, (_, i) => `again-${sub}-${i},${sub},voice,2,${at(i)},`);
    const key = `usage-events/${uniqueId('again')}.csv`;
    // The first read of the file finds nothing, as a read of an object being rewritten did.
    let emptied = false;
    clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string; Range?: string };
        if (!emptied && context.commandName === 'GetObjectCommand' && input.Key === key) {
          emptied = true;
          return { output: { Body: Readable.from([]), $metadata: {} }, response: {} } as never;
        }
        return next(args);
      },
      { step: 'initialize', name: 'emptyFirstRead' },
    );
    try {
      const { eTag } = await bucket.put(key, [HEADER, ...rows].join('\n'));
      expect(await bucket.result(key)).toMatchObject({ status: 'FAILED' });
      expect(await getImportMarker({ bucket: stack.bucketName, key, version: eTag })).toMatchObject({
        status: 'FAILED',
      });
      // S3 notifies again (or the same bytes are put again): the file is imported this time.
      await deliver(objectCreated(stack.bucketName, key, eTag));
      expect(await bucket.result(key)).toMatchObject({ status: 'COMPLETED', rows: 30, accepted: 30 });
      expect(await getImportMarker({ bucket: stack.bucketName, key, version: eTag })).toMatchObject({
        status: 'COMPLETED',
        attempts: 2,
      });
      expect(await eventIdsOf(sub)).toHaveLength(30);
    } finally {
      clients.s3.middlewareStack.remove('emptyFirstRead');
    }
  });

  it('changes nothing on a notification that arrives after a later upload of the key (out of order)', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('order')}.csv`;
    await bucket.put(key, [HEADER, `order-${sub}-0,${sub},voice,2,${at(0)},`].join('\n'));
    const firstReport = await bucket.result(key);
    const { eTag } = await bucket.put(
      key,
      [HEADER, ...[1, 2].map((i) => `order-${sub}-${i},${sub},voice,2,${at(i)},`)].join('\n'),
    );
    const latest = await eventually('the second upload to be imported', async () => {
      const r = await bucket.result(key);
      return r.rows === 2 ? r : undefined;
    });
    expect(firstReport).toMatchObject({ rows: 1, accepted: 1 });
    // The first upload's notification, delayed: it names a version that is no longer there.
    const stale = '0123456789abcdef0123456789abcdef';
    await deliver(objectCreated(stack.bucketName, key, stale));
    expect(await getImportMarker({ bucket: stack.bucketName, key, version: stale })).toBeUndefined();
    expect(await bucket.result(key)).toEqual(latest);
    expect(await getImportMarker({ bucket: stack.bucketName, key, version: eTag })).toMatchObject({
      status: 'COMPLETED',
      attempts: 1,
    });
    expect(await eventIdsOf(sub)).toHaveLength(3);
  });

  it('imports a file once when deliveries race from the start', async () => {
    const sub = await newSubscription();
    const rows = Array.from({ length: 1_200 }, (_, i) => `race-${sub}-${i},${sub},voice,2,${at(i)},`);
    const key = `usage-events/${uniqueId('race')}.csv`;
    const { eTag } = await bucket.put(key, [HEADER, ...rows].join('\n'));
    // S3's own delivery is already on its way; three more join it.
    const event = objectCreated(stack.bucketName, key, eTag);
    await Promise.all([deliver(event), deliver(event), deliver(event)]);

    const result = await bucket.result(key);
    expect(result).toMatchObject({ status: 'COMPLETED', rows: 1_200, accepted: 1_200, duplicates: 0, rejected: 0 });
    expect(await getImportMarker({ bucket: stack.bucketName, key, version: eTag })).toMatchObject({
      status: 'COMPLETED',
      attempts: 1,
    });
  });

  it('reads a BOM, CRLF line ends, quoted cells, blank lines and attr_ columns', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('format')}.csv`;
    const id = uniqueId('fmt');
    const text = [
      `\uFEFF${HEADER},attr_note,attr_cell`,
      '',
      `${id},${sub},voice,"1.5",${at(1)},,"a, ""quoted""\nnote",cell-7`,
      '',
      `${id}-child,${sub},voice,2,${at(2)},${id},,`,
      ',,,,,,,',
    ].join('\r\n');
    await bucket.put(key, text);
    expect(await bucket.result(key)).toEqual({ status: 'COMPLETED', rows: 2, accepted: 2, duplicates: 0, rejected: 0 });
    const stored = await call('GET', `/v1/usage-events/${id}`);
    expect(stored.body).toMatchObject({
      quantity: '1.5',
      attributes: { note: 'a, "quoted"\nnote', cell: 'cell-7' },
      lineage: { childEventIds: [`${id}-child`] },
    });
  });

  it.each([
    ['a missing column', 'event_id,subscription_id,product_id,occurred_at', 'missing column(s): quantity'],
    ['an unknown column', `${HEADER},price`, 'unknown column(s): price'],
    ['no header at all (an empty file)', '', 'the file is empty'],
  ])('reports a file with %s as FAILED with VALIDATION_FAILED, importing nothing', async (_name, header, message) => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('header')}.csv`;
    await bucket.put(key, header ? `${header}\nh-${sub},${sub},voice,1,${at(1)},\n` : '');
    expect(await bucket.result(key)).toEqual({
      status: 'FAILED',
      rows: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      error: { code: 'VALIDATION_FAILED', message: expect.stringContaining(message) },
    });
    expect(await eventIdsOf(sub)).toEqual([]);
    expect(await bucket.text(errorsKeyOf(key))).toBeUndefined();
  });

  it('imports the rows before a huge field, then stops there and says so', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('huge')}.csv`;
    const rows = [1, 2, 3].map((i) => `huge-${sub}-${i},${sub},voice,1,${at(i)},`);
    await bucket.put(
      key,
      [
        HEADER,
        ...rows,
        `x,${sub},voice,1,${at(4)},"${'y'.repeat(200_000)}"`,
        `after-${sub},${sub},voice,1,${at(5)},`,
      ].join('\n'),
    );
    expect(await bucket.result(key)).toEqual({
      status: 'FAILED',
      rows: 3,
      accepted: 3,
      duplicates: 0,
      rejected: 0,
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/after row 3 .*longer than 65536 characters/),
      },
    });
    expect(await eventIdsOf(sub)).toHaveLength(3);
  });

  it('keeps the errors CSV in row order when bad rows pile up behind a pending chunk', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('pile')}.csv`;
    const bad = Array.from({ length: 2_500 }, (_, i) => `pile-${i},${sub},voice,not-a-number,${at(i)},`);
    await bucket.put(
      key,
      [HEADER, `pile-ok-1,no-such-sub,voice,1,${at(1)},`, ...bad, `pile-ok-2,${sub},voice,1,${at(2)},`].join('\n'),
    );
    expect(await bucket.result(key)).toMatchObject({ rows: 2_502, accepted: 1, rejected: 2_501 });
    const rows = (await bucket.errors(key))!.slice(1).map((r) => Number(r[0]));
    expect(rows).toEqual(Array.from({ length: 2_501 }, (_, i) => i + 1));
  });

  it('counts the same row twice as a duplicate, and the same id with other content as EVENT_ID_CONFLICT', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('twice')}.csv`;
    const row = `twice-${sub},${sub},voice,1,${at(1)},`;
    await bucket.put(key, [HEADER, row, row, `twice-${sub},${sub},voice,2,${at(1)},`].join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 3,
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      errorsKey: errorsKeyOf(key),
    });
    expect((await bucket.errors(key))![1]!.slice(0, 3)).toEqual([
      '3',
      'EVENT_ID_CONFLICT',
      'eventId repeats row 1 of the file with other content',
    ]);
  });

  it("keeps the file's order across chunks written at once: the first row of an id wins, and a child finds the parent of an earlier chunk", async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('order')}.csv`;
    const id = (i: number) => `order-${sub}-${i}`;
    const lines = [HEADER];
    for (let row = 1; row <= 1_200; row++) {
      if (row === 501)
        lines.push(`${id(500)},${sub},voice,2,${at(500)},`); // row 500's id, other content: the next chunk
      else if (row === 502)
        lines.push(`${id(502)},${sub},voice,1,${at(502)},${id(499)}`); // a child of row 499
      else if (row === 1_001)
        lines.push(`${id(500)},${sub},voice,1,${at(500)},`); // row 500 again
      else lines.push(`${id(row)},${sub},voice,1,${at(row)},`);
    }
    await bucket.put(key, lines.join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 1_200,
      accepted: 1_198,
      duplicates: 1,
      rejected: 1,
      errorsKey: errorsKeyOf(key),
    });
    expect((await bucket.errors(key))!.slice(1).map((r) => r.slice(0, 2))).toEqual([['501', 'EVENT_ID_CONFLICT']]);
    expect((await call('GET', `/v1/usage-events/${id(500)}`)).body.quantity).toBe('1');
    expect((await call('GET', `/v1/usage-events/${id(499)}`)).body.lineage.childEventIds).toEqual([id(502)]);
  });

  it('counts rows imported before as duplicates, and empties the errors report an earlier upload left', async () => {
    const sub = await newSubscription();
    const key = `usage-events/${uniqueId('again')}.csv`;
    const good = `again-${sub},${sub},voice,1,${at(1)},`;
    await bucket.put(key, [HEADER, good, `again-${sub}-bad,${sub},voice,x,${at(2)},`].join('\n'));
    expect(await bucket.result(key)).toMatchObject({ status: 'COMPLETED_WITH_ERRORS', accepted: 1, rejected: 1 });
    expect(await bucket.errors(key)).toHaveLength(2);

    await bucket.put(key, [HEADER, good, `again-${sub}-fixed,${sub},voice,2,${at(2)},`].join('\n'));
    const fixed = await eventually("the second upload's report", async () => {
      const r = await bucket.result(key);
      return r.rejected === 0 ? r : undefined;
    });
    expect(fixed).toEqual({ status: 'COMPLETED', rows: 2, accepted: 1, duplicates: 1, rejected: 0 });
    expect(await bucket.errors(key)).toEqual([['row', 'code', 'message', ...HEADER.split(',')]]);
  });
});

describe('batches/<batchId>/events/<name>.csv', () => {
  async function snapshot(batchId: string) {
    const batch = (await call('GET', `/v1/batches/${batchId}`)).body;
    return { members: await memberIdsOf(batchId), counts: batch.counts, status: batch.status };
  }

  it('builds the same batch as adding by ids and by criteria: members and counts through the API', async () => {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, 200);
    // A parent brings its children, whichever way it is added.
    const parent = ids[0]!;
    const children = [`${parent}-c1`, `${parent}-c2`];
    const res = await call('POST', '/v1/usage-events', {
      body: {
        events: children.map((eventId, i) => ({
          eventId,
          subscriptionId: sub,
          productId: 'voice',
          quantity: '1',
          occurredAt: at(2_000 + i),
          parentEventId: parent,
        })),
      },
    });
    expect(res.body.accepted).toBe(2);

    const byIds = await newBatch('RATING');
    expect((await call('POST', `/v1/batches/${byIds}/events`, { body: { eventIds: ids } })).body).toMatchObject({
      added: 202,
      rejected: [],
    });
    const viaIds = await snapshot(byIds);
    await call('POST', `/v1/batches/${byIds}/events/remove`, { body: { mode: 'ALL' } });

    const byCriteria = await newBatch('RATING');
    expect(
      (await call('POST', `/v1/batches/${byCriteria}/events`, { body: { criteria: { subscriptionIds: [sub] } } })).body,
    ).toMatchObject({ added: 202 });
    const viaCriteria = await snapshot(byCriteria);
    await call('POST', `/v1/batches/${byCriteria}/events/remove`, { body: { mode: 'ALL' } });

    const byCsv = await newBatch('RATING');
    const key = `batches/${byCsv}/events/selection.csv`;
    await bucket.put(key, ['event_id', ...ids].join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED',
      rows: 200,
      accepted: 200,
      duplicates: 0,
      rejected: 0,
      children: { added: 2, rejected: 0 },
    });
    const viaCsv = await snapshot(byCsv);

    expect(viaIds.members).toHaveLength(202);
    expect(viaIds.counts.events).toBe(202);
    expect(viaCriteria).toEqual(viaIds);
    expect(viaCsv).toEqual(viaIds);
  });

  it('adds at most 1,000 ids per call, each call in the batch log with the file as its source and the uploader as actor', async () => {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, 5);
    const batchId = await newBatch('RATING');
    const key = `batches/${batchId}/events/${uniqueId('big')}.csv`;
    const unknown = Array.from({ length: 1_000 }, (_, i) => `unknown-${i}`);
    await bucket.put(key, ['event_id', ...unknown, ...ids].join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 1_005,
      accepted: 5,
      duplicates: 0,
      rejected: 1_000,
      errorsKey: errorsKeyOf(key),
    });
    expect(await bucket.errors(key)).toHaveLength(1 + 1_000);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items;
    expect(log.filter((e: { action: string }) => e.action === 'ADD_EVENTS')).toEqual([
      expect.objectContaining({
        actor: 'AWS:local',
        data: expect.objectContaining({ source: `csv:${key}`, added: 0, rejected: 1_000 }),
      }),
      expect.objectContaining({
        actor: 'AWS:local',
        data: expect.objectContaining({ source: `csv:${key}`, added: 5, rejected: 0 }),
      }),
    ]);
  });

  it('reports unknown ids, events held by another batch and bad ids by row; an id twice is a duplicate', async () => {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, 3);
    const other = await newBatch('RATING');
    await call('POST', `/v1/batches/${other}/events`, { body: { eventIds: [ids[2]] } });
    const batchId = await newBatch('RATING');
    const key = `batches/${batchId}/events/mixed.csv`;
    await bucket.put(key, ['event_id', ids[0], 'ghost-1', ids[1], ids[0], ids[2], '@SUM(1)', ''].join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 6,
      accepted: 2,
      duplicates: 1,
      rejected: 3,
      errorsKey: errorsKeyOf(key),
    });
    expect(await bucket.errors(key)).toEqual([
      ['row', 'code', 'message', 'event_id'],
      ['2', 'EVENT_NOT_FOUND', 'no usage event has this id', 'ghost-1'],
      ['5', 'EVENT_HELD_BY_OTHER_BATCH', 'another open batch holds this event', ids[2]],
      ['6', 'VALIDATION_FAILED', expect.stringContaining('event_id: must be'), "'@SUM(1)"],
    ]);
    expect((await snapshot(batchId)).members).toEqual([ids[0], ids[1]].sort());
  });

  it.each([
    ['an unknown batch', async () => '00000000-0000-4000-8000-000000000000', 'NOT_FOUND'],
    ['a key whose batch id is no batch id', async () => 'not-a-batch', 'NOT_FOUND'],
    [
      'a batch that left DRAFT',
      async () => {
        const id = await newBatch('RATING');
        const { transitionBatch } = await import('../../shared/store/batches');
        await transitionBatch(id, ['DRAFT'], 'LOCKING', new Date().toISOString());
        return id;
      },
      'INVALID_TRANSITION',
    ],
    [
      'a batch type that takes no replacements',
      async () => newBatch('RATING'),
      'ACTION_NOT_ALLOWED_FOR_TYPE',
      'replacements',
    ],
  ])(
    'reports a file for %s as FAILED with its code, holding nothing',
    async (_name, batch, code, folder = 'events') => {
      const sub = await newSubscription();
      const ids = await loadEvents(sub, 2);
      const batchId = await batch();
      const key = `batches/${batchId}/${folder}/x.csv`;
      await bucket.put(
        key,
        folder === 'events' ? ['event_id', ...ids].join('\n') : ['original_event_id', ...ids].join('\n'),
      );
      expect(await bucket.result(key)).toEqual({
        status: 'FAILED',
        rows: 0,
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        error: { code, message: expect.any(String) },
      });
      for (const id of ids) expect((await call('GET', `/v1/usage-events/${id}`)).body.heldBy).toBeUndefined();
    },
  );
});

describe('batches/<batchId>/replacements/<name>.csv', () => {
  const REPLACEMENT_HEADER = `original_event_id,${HEADER}`;

  async function ratedEvents(n: number): Promise<{ sub: string; ids: string[] }> {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, n);
    await ratePartitionFrom({
      subscriptionId: sub,
      register: 'MINUTES',
      toRate: ids,
      stepId: uniqueId('s'),
      actor: 't',
      now: new Date().toISOString(),
    });
    return { sub, ids };
  }

  it('holds originals with their replacements and reverse-only rows; rejects a bad original whole and a late repeat', async () => {
    const { sub, ids } = await ratedEvents(4);
    const [a, b, c, d] = ids as [string, string, string, string];
    const batchId = await newBatch('REVERSE_REPLACE');
    const key = `batches/${batchId}/replacements/fix.csv`;
    await bucket.put(
      key,
      [
        REPLACEMENT_HEADER,
        `${a},${a}-r1,${sub},voice,10,${at(1)},`,
        `${a},${a}-r2,${sub},voice,5,${at(1)},`,
        `${b},,,,,,`, // reverse only
        `${c},${c}-r1,${sub},voice,3,${at(3)},`,
        `${c},${c}-r2,${sub},voice,=1+1,${at(3)},`, // a bad row takes its original's other rows with it
        `${a},${a}-r3,${sub},voice,1,${at(1)},`, // a's rows ended at row 2
        `${d},,,,,,`,
        `${d},,,,,,`, // the same reverse-only row again
      ].join('\n'),
    );
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 8,
      accepted: 4,
      duplicates: 1,
      rejected: 3,
      errorsKey: errorsKeyOf(key),
    });
    const errors = (await bucket.errors(key))!;
    expect(errors.slice(1).map((r) => [r[0], r[1], r[2]])).toEqual([
      ['4', 'VALIDATION_FAILED', expect.stringMatching(/^row 5 of the same original was rejected: quantity: /)],
      ['5', 'VALIDATION_FAILED', expect.stringMatching(/^quantity: /)],
      ['6', 'REPLACEMENT_ROWS_NOT_ADJACENT', expect.stringContaining(`the rows of original ${a} must be adjacent`)],
    ]);
    expect(errors[2]![7]).toBe("'=1+1"); // the quantity cell, neutralised

    const members = (await call('GET', `/v1/batches/${batchId}/members?limit=1000`)).body.items;
    const replacements = Object.fromEntries(
      members.map((m: { eventId: string; replacements?: string[] }) => [m.eventId, m.replacements]),
    );
    expect(replacements).toEqual({ [a]: [`${a}-r1`, `${a}-r2`], [b]: [], [d]: [] });
    expect((await call('GET', `/v1/batches/${batchId}`)).body.counts.events).toBe(3);
  });

  it('rejects an original with more than 50 rows whole, in row order', async () => {
    const { sub, ids } = await ratedEvents(2);
    const batchId = await newBatch('REVERSE_REPLACE');
    const key = `batches/${batchId}/replacements/many.csv`;
    const many = Array.from({ length: 60 }, (_, i) => `${ids[0]},${ids[0]}-m${i},${sub},voice,1,${at(i)},`);
    await bucket.put(key, [REPLACEMENT_HEADER, ...many, `${ids[1]},,,,,,`].join('\n'));
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 61,
      accepted: 1,
      duplicates: 0,
      rejected: 60,
      errorsKey: errorsKeyOf(key),
    });
    const errors = (await bucket.errors(key))!.slice(1);
    expect(errors.map((r) => Number(r[0]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(new Set(errors.map((r) => r[2]))).toEqual(
      new Set([expect.stringContaining('at most 50 replacement events per original')]),
    );
  });

  it('changes nothing when the same replacements arrive in another file: every row is a duplicate', async () => {
    const { sub, ids } = await ratedEvents(2);
    const batchId = await newBatch('REVERSE_REPLACE');
    const rows = [REPLACEMENT_HEADER, `${ids[0]},${ids[0]}-r,${sub},voice,4,${at(0)},`, `${ids[1]},,,,,,`].join('\n');
    await bucket.put(`batches/${batchId}/replacements/first.csv`, rows);
    expect(await bucket.result(`batches/${batchId}/replacements/first.csv`)).toMatchObject({
      status: 'COMPLETED',
      accepted: 2,
      duplicates: 0,
    });
    await bucket.put(`batches/${batchId}/replacements/again.csv`, rows);
    expect(await bucket.result(`batches/${batchId}/replacements/again.csv`)).toEqual({
      status: 'COMPLETED',
      rows: 2,
      accepted: 0,
      duplicates: 2,
      rejected: 0,
    });
    expect((await call('GET', `/v1/batches/${batchId}`)).body.counts.events).toBe(2);
  });
});
