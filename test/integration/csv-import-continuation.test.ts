// Files longer than one invocation: each invocation reads at most 250 rows here (the stack's
// IMPORT_ROWS_PER_INVOCATION), saves a checkpoint and invokes the import again through the local
// Lambda endpoint; the next goes on from the checkpoint with a ranged read. The report must be
// the one a single invocation would write, whatever is delivered twice or crashes in between.
// Uploads notify nothing here: each test delivers S3's notification itself.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/import/handler';
import { lambdaContext } from '../../infra/local/api-gateway-event';
import type { LocalStack } from '../../infra/local/stack';
import { resetConfig } from '../../shared/config';
import {
  continuationOf,
  errorsKeyOf,
  importFileOf,
  importTargetOf,
  resultKeyOf,
} from '../../shared/domain/import-keys';
import { getImportMarker } from '../../shared/store/import-markers';
import { ratePartitionFrom } from '../support/rate-directly';
import { call } from '../support/api';
import { aSubscription, uniqueId } from '../support/builders';
import { eventually } from '../support/eventually';
import { type Bucket, deliver, objectCreated, startStackWithBucket, type StackWithBucket } from '../support/s3';

const continuations = vi.hoisted(() => ({ failNext: 0, sent: 0 }));

vi.mock('../../shared/store/import-continuations', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../shared/store/import-continuations')>();
  return {
    ...real,
    sendImportContinuation: async (...args: Parameters<typeof real.sendImportContinuation>) => {
      if (continuations.failNext > 0) {
        continuations.failNext--;
        throw new Error('simulated crash after the checkpoint, before the continuation was sent');
      }
      continuations.sent++;
      return real.sendImportContinuation(...args);
    },
  };
});

const ROWS_PER_INVOCATION = 250;
const HEADER = 'event_id,subscription_id,product_id,quantity,occurred_at,parent_event_id,attr_note';

let stack: LocalStack;
let bucket: Bucket;
let env: StackWithBucket;

beforeAll(async () => {
  env = await startStackWithBucket('continue', { importRowsPerInvocation: ROWS_PER_INVOCATION, importUploads: false });
  ({ stack, bucket } = env);
});

afterAll(async () => env?.stop());

const at = (i: number) => new Date(Date.UTC(2026, 2, 1) + i * 1000).toISOString();

async function newSubscription(): Promise<string> {
  const sub = uniqueId('sub');
  expect((await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() })).status).toBeLessThan(300);
  return sub;
}

async function eventCountOf(sub: string): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await call(
      'GET',
      `/v1/usage-events?subscriptionId=${sub}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    count += page.body.items.length;
    cursor = page.body.nextCursor;
  } while (cursor);
  return count;
}

/** Runs `fn` with another limit of rows per invocation (the handler reads its configuration per invocation). */
async function withRowsPerInvocation<T>(rows: number, fn: () => Promise<T>): Promise<T> {
  process.env.IMPORT_ROWS_PER_INVOCATION = String(rows);
  resetConfig();
  try {
    return await fn();
  } finally {
    process.env.IMPORT_ROWS_PER_INVOCATION = String(ROWS_PER_INVOCATION);
    resetConfig();
  }
}

/**
 * 1,200 rows (CRLF, a BOM): every 97th row bad, row 251 a repeat of row 250 (across the first
 * checkpoint), a quoted cell with a line break on rows 500 and 501 and a bad last row.
 */
function aLongFile(sub: string) {
  const lines = [`\uFEFF${HEADER}`];
  const bad: number[] = [];
  for (let row = 1; row <= 1_200; row++) {
    const id = `long-${sub}-${row}`;
    if (row === 251) lines.push(`long-${sub}-250,${sub},voice,2,${at(250)},,`);
    else if (row % 97 === 0 || row === 1_200) {
      lines.push(`${id},${sub},voice,-${row},${at(row)},,`);
      bad.push(row);
    } else if (row === 500 || row === 501) lines.push(`${id},${sub},voice,2,${at(row)},,"a note\r\non two lines"`);
    else lines.push(`${id},${sub},voice,2,${at(row)},,`);
  }
  return { body: lines.join('\r\n'), bad };
}

/** Uploads a file and delivers S3's notification; the continuations run on their own. */
async function upload(key: string, body: string) {
  const { eTag } = await bucket.put(key, body);
  const event = objectCreated(stack.bucketName, key, eTag);
  const file = importFileOf(event.Records[0]!, key, importTargetOf(key)!);
  const marker = () => getImportMarker(file);
  // The report is written just before the marker is marked COMPLETED (FAILED: the file may be imported again).
  const completed = (status: 'COMPLETED' | 'FAILED' = 'COMPLETED') =>
    eventually(`the import to be marked ${status}`, async () =>
      (await marker())?.status === status ? marker() : undefined,
    );
  return { eTag, event, file, marker, completed };
}

describe('a usage-events file longer than one invocation', () => {
  it('is imported in several invocations, each from the last checkpoint, with the report a single one writes', async () => {
    const sub = await newSubscription();
    const { body, bad } = aLongFile(sub);
    const key = `usage-events/${uniqueId('long')}.csv`;
    const { event, completed } = await upload(key, body);
    await deliver(event);

    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 1_200,
      accepted: 1_200 - bad.length - 1,
      duplicates: 1,
      rejected: bad.length,
      errorsKey: errorsKeyOf(key),
    });
    const errors = (await bucket.errors(key))!;
    expect(errors[0]).toEqual(['row', 'code', 'message', ...HEADER.split(',')]);
    expect(errors.slice(1).map((r) => [Number(r[0]), r[1], r[6]])).toEqual(
      bad.map((row) => [row, 'VALIDATION_FAILED', `'-${row}`]),
    );
    // One claim per invocation: 1,200 rows at 250 an invocation.
    expect(await completed()).toMatchObject({ attempts: 5, checkpoint: { seq: 5, rows: 1_200, finished: {} } });
    expect(await eventCountOf(sub)).toBe(1_200 - bad.length - 1);
    expect((await call('GET', `/v1/usage-events/long-${sub}-501`)).body.attributes).toEqual({
      note: 'a note\r\non two lines',
    });
  });

  it('stops reading at the deadline its time limit sets, and goes on in a fresh invocation', async () => {
    const sub = await newSubscription();
    const rows = Array.from({ length: 300 }, (_, i) => `late-${sub}-${i},${sub},voice,1,${at(i)},,`);
    const key = `usage-events/${uniqueId('deadline')}.csv`;
    const { event, completed } = await upload(key, [HEADER, ...rows].join('\n'));
    // A minute left, all of it kept back for the report: one row, then a checkpoint (an invocation always moves the file on).
    await handler(event, { ...lambdaContext('import'), getRemainingTimeInMillis: () => 60_000 });

    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED',
      rows: 300,
      accepted: 300,
      duplicates: 0,
      rejected: 0,
    });
    expect(await completed()).toMatchObject({ attempts: 3 }); // 1 row, then 250, then 49
    expect(await eventCountOf(sub)).toBe(300);
  });

  it("goes on from the checkpoint when it crashed before the continuation was sent: Lambda's retry counts no row twice", async () => {
    const sub = await newSubscription();
    const { body, bad } = aLongFile(sub);
    const key = `usage-events/${uniqueId('crash')}.csv`;
    const { event, marker, completed } = await upload(key, body);
    continuations.failNext = 1;
    await expect(deliver(event)).rejects.toThrow(/simulated crash/);
    // The checkpoint is saved and the lease given up; nothing runs until Lambda retries the delivery.
    expect(await marker()).toMatchObject({ status: 'IN_PROGRESS', leaseUntil: 0, checkpoint: { seq: 1, rows: 250 } });
    expect(await bucket.text(resultKeyOf(key))).toBeUndefined();

    await deliver(event);
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 1_200,
      accepted: 1_200 - bad.length - 1,
      duplicates: 1,
      rejected: bad.length,
      errorsKey: errorsKeyOf(key),
    });
    expect((await bucket.errors(key))!.slice(1).map((r) => Number(r[0]))).toEqual(bad);
    // The retry read rows 251 to 500: no invocation read a row twice.
    expect(await completed()).toMatchObject({ attempts: 5 });
  });

  it('imports a file once however often S3 and the import itself deliver it while it is read', async () => {
    const sub = await newSubscription();
    const { body, bad } = aLongFile(sub);
    const key = `usage-events/${uniqueId('often')}.csv`;
    const { event, file, completed } = await upload(key, body);
    // S3's delivery and three duplicates at once; then continuations sent again from every checkpoint.
    await Promise.all([deliver(event), deliver(event), deliver(event), deliver(event)]);
    for (let seq = 1; seq <= 5; seq++) await deliver(continuationOf(file, seq));

    const result = await bucket.result(key);
    expect(result).toEqual({
      status: 'COMPLETED_WITH_ERRORS',
      rows: 1_200,
      accepted: 1_200 - bad.length - 1,
      duplicates: 1,
      rejected: bad.length,
      errorsKey: errorsKeyOf(key),
    });
    await completed();
    for (const again of [event, continuationOf(file, 2)]) await deliver(again);
    expect(await bucket.result(key)).toEqual(result);
    expect((await bucket.errors(key))!.slice(1).map((r) => Number(r[0]))).toEqual(bad);
    expect(await eventCountOf(sub)).toBe(1_200 - bad.length - 1);
  });
});

describe('batch files longer than one invocation (two rows an invocation)', () => {
  async function loadEvents(sub: string, n: number): Promise<string[]> {
    const events = Array.from({ length: n }, (_, i) => ({
      eventId: uniqueId('e'),
      subscriptionId: sub,
      productId: 'voice',
      quantity: '1',
      occurredAt: at(i),
    }));
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.rejected).toEqual([]);
    return events.map((e) => e.eventId);
  }

  async function newBatch(type: string): Promise<string> {
    return (await call('POST', '/v1/batches', { body: { type } })).body.batchId as string;
  }

  it('hold replacements as a single invocation does: an open original, a late repeat and waiting rejections carried across checkpoints', async () => {
    const sub = await newSubscription();
    const [a, b, c, d] = (await loadEvents(sub, 4)) as [string, string, string, string];
    await ratePartitionFrom({
      subscriptionId: sub,
      register: 'MINUTES',
      toRate: [a, b, c, d],
      stepId: uniqueId('s'),
      actor: 't',
      now: new Date().toISOString(),
    });
    const batchId = await newBatch('REVERSE_REPLACE');
    const key = `batches/${batchId}/replacements/fix.csv`;
    const { event, completed } = await upload(
      key,
      [
        `original_event_id,${HEADER}`,
        `${a},${a}-r1,${sub},voice,10,${at(1)},,`,
        `${a},${a}-r2,${sub},voice,5,${at(1)},,`, // checkpoint: a's rows still open
        `${b},,,,,,,`,
        `${c},${c}-r1,${sub},voice,3,${at(3)},,`, // checkpoint: a and b sent, c open
        `${c},${c}-r2,${sub},voice,=1+1,${at(3)},,`,
        `${a},${a}-r3,${sub},voice,1,${at(1)},,`, // a's rows ended before the last checkpoint; checkpoint: this rejection waits for c
        `${d},,,,,,,`,
        `${d},,,,,,,`,
      ].join('\n'),
    );
    await withRowsPerInvocation(2, async () => {
      await deliver(event);
      expect(await bucket.result(key)).toEqual({
        status: 'COMPLETED_WITH_ERRORS',
        rows: 8,
        accepted: 4,
        duplicates: 1,
        rejected: 3,
        errorsKey: errorsKeyOf(key),
      });
    });
    expect((await bucket.errors(key))!.slice(1).map((r) => [r[0], r[1], r[2]])).toEqual([
      ['4', 'VALIDATION_FAILED', expect.stringMatching(/^row 5 of the same original was rejected: quantity: /)],
      ['5', 'VALIDATION_FAILED', expect.stringMatching(/^quantity: /)],
      ['6', 'REPLACEMENT_ROWS_NOT_ADJACENT', expect.stringContaining(`the rows of original ${a} must be adjacent`)],
    ]);
    expect(await completed()).toMatchObject({ attempts: 4 });
    const members = (await call('GET', `/v1/batches/${batchId}/members?limit=1000`)).body.items;
    expect(
      Object.fromEntries(members.map((m: { eventId: string; replacements?: string[] }) => [m.eventId, m.replacements])),
    ).toEqual({ [a]: [`${a}-r1`, `${a}-r2`], [b]: [], [d]: [] });
  });

  it('add events as a single invocation does, children and duplicates counted once', async () => {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, 4);
    const children = [`${ids[0]}-c1`, `${ids[0]}-c2`];
    const res = await call('POST', '/v1/usage-events', {
      body: {
        events: children.map((eventId, i) => ({
          eventId,
          subscriptionId: sub,
          productId: 'voice',
          quantity: '1',
          occurredAt: at(100 + i),
          parentEventId: ids[0],
        })),
      },
    });
    expect(res.body.accepted).toBe(2);
    const batchId = await newBatch('RATING');
    const key = `batches/${batchId}/events/selection.csv`;
    const { event } = await upload(key, ['event_id', ids[0], ids[1], 'ghost', ids[1], ids[2], ids[3]].join('\n'));
    await withRowsPerInvocation(2, async () => {
      await deliver(event);
      expect(await bucket.result(key)).toEqual({
        status: 'COMPLETED_WITH_ERRORS',
        rows: 6,
        accepted: 4,
        duplicates: 1,
        rejected: 1,
        errorsKey: errorsKeyOf(key),
        children: { added: 2, rejected: 0 },
      });
    });
    expect((await call('GET', `/v1/batches/${batchId}`)).body.counts.events).toBe(6);
  });

  it('reject every row after the batch left DRAFT between two invocations, in the report of every later one', async () => {
    const sub = await newSubscription();
    const ids = await loadEvents(sub, 6);
    const batchId = await newBatch('RATING');
    const key = `batches/${batchId}/events/late.csv`;
    const { event, completed } = await upload(key, ['event_id', ...ids].join('\n'));
    await withRowsPerInvocation(2, async () => {
      continuations.failNext = 1;
      await expect(deliver(event)).rejects.toThrow(/simulated crash/);
      const { transitionBatch } = await import('../../shared/store/batches');
      await transitionBatch(batchId, ['DRAFT'], 'LOCKING', new Date().toISOString());
      await deliver(event);
      expect(await bucket.result(key)).toEqual({
        status: 'FAILED',
        rows: 6,
        accepted: 2,
        duplicates: 0,
        rejected: 4,
        errorsKey: errorsKeyOf(key),
        error: {
          code: 'INVALID_TRANSITION',
          message: expect.stringContaining('the rows from here on were not imported'),
        },
      });
    });
    expect((await bucket.errors(key))!.slice(1).map((r) => [r[0], r[1]])).toEqual(
      [3, 4, 5, 6].map((row) => [String(row), 'INVALID_TRANSITION']),
    );
    expect(await completed('FAILED')).toMatchObject({ attempts: 3 });
  });
});
