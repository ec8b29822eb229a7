// Crashes and takeovers of an import: Lambda's retry after a thrown error, the next delivery after
// a lease ran out, and a delivery that finds a live lease. A crash is made by failing one ingest call.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { importTargetOf, resultKeyOf, type ImportFile } from '../../shared/domain/import-keys';
import { logger } from '../../shared/logger';
import { claimImport, getImportMarker, LEASE_MS } from '../../shared/store/import-markers';
import { call } from '../support/api';
import { aSubscription, uniqueId } from '../support/builders';
import { eventually } from '../support/eventually';
import { type Bucket, deliver, objectCreated, startStackWithBucket, type StackWithBucket } from '../support/s3';

const crash = vi.hoisted(() => ({ onCall: 0, calls: 0, hold: undefined as Promise<void> | undefined }));

vi.mock('../../shared/services/ingest-events', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../shared/services/ingest-events')>();
  return {
    ...real,
    ingestEvents: async (...args: Parameters<typeof real.ingestEvents>) => {
      if (++crash.calls === crash.onCall) throw new Error('simulated crash');
      await crash.hold;
      return real.ingestEvents(...args);
    },
  };
});

let stack: LocalStack;
let bucket: Bucket;

let env: StackWithBucket;

beforeAll(async () => {
  env = await startStackWithBucket('takeover');
  ({ stack, bucket } = env);
});

afterAll(async () => env?.stop());

async function aFile(rows: number): Promise<{ key: string; body: string; sub: string }> {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const lines = Array.from(
    { length: rows },
    (_, i) => `${sub}-${i},${sub},voice,1,${new Date(Date.UTC(2026, 2, 1) + i * 1000).toISOString()},`,
  );
  return {
    key: `usage-events/${uniqueId('takeover')}.csv`,
    body: ['event_id,subscription_id,product_id,quantity,occurred_at,parent_event_id', ...lines].join('\n'),
    sub,
  };
}

const fileOf = (key: string, body: string): ImportFile => ({
  bucket: stack.bucketName,
  key,
  version: createHash('md5').update(body).digest('hex'), // the ETag of a single-part upload
  target: importTargetOf(key)!,
  actor: 'test',
});

describe('a crashed import', () => {
  it('throws for Lambda to retry, releasing its lease; the retry takes the file over and lands every row once', async () => {
    const { key, body, sub } = await aFile(1_200);
    const file = fileOf(key, body);
    const failed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    crash.calls = 0;
    crash.onCall = 2; // the first chunk of 500 lands, the second fails
    try {
      await bucket.put(key, body);
      // The local S3 logs the failed invocation, as Lambda would before retrying.
      await eventually('the first delivery to fail', async () => (failed.mock.calls.length > 0 ? true : undefined));
    } finally {
      failed.mockRestore();
    }
    expect(await getImportMarker(file)).toMatchObject({ status: 'IN_PROGRESS', attempts: 1, leaseUntil: 0 });
    expect(await bucket.text(resultKeyOf(key))).toBeUndefined();

    await deliver(objectCreated(stack.bucketName, key, file.version)); // Lambda's retry
    expect(await bucket.result(key)).toEqual({
      status: 'COMPLETED',
      rows: 1_200,
      accepted: 700,
      duplicates: 500,
      rejected: 0,
    });
    expect(await getImportMarker(file)).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    const listed = await call('GET', `/v1/usage-events?subscriptionId=${sub}&limit=1000`);
    const rest = await call(
      'GET',
      `/v1/usage-events?subscriptionId=${sub}&limit=1000&cursor=${encodeURIComponent(listed.body.nextCursor)}`,
    );
    expect(listed.body.items.length + rest.body.items.length).toBe(1_200);
  });

  it('is taken over by the next delivery once its lease has run out', async () => {
    const { key, body } = await aFile(3);
    const file = fileOf(key, body);
    // A worker that claimed the file and died (a timeout): its lease ran out a moment ago.
    expect(await claimImport(file, 'dead-worker', Date.now() - LEASE_MS - 1)).toMatchObject({ claimed: true });
    await bucket.put(key, body);
    expect(await bucket.result(key)).toEqual({ status: 'COMPLETED', rows: 3, accepted: 3, duplicates: 0, rejected: 0 });
    // The report is written just before the marker is marked COMPLETED.
    const marker = await eventually('the marker to be COMPLETED', async () => {
      const m = await getImportMarker(file);
      return m?.status === 'COMPLETED' ? m : undefined;
    });
    expect(marker).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(marker!.owner).not.toBe('dead-worker');
  });

  it('is left alone while its lease is live: the delivery does nothing', async () => {
    const { key, body } = await aFile(3);
    const file = fileOf(key, body);
    expect(await claimImport(file, 'busy-worker', Date.now())).toMatchObject({ claimed: true });
    await bucket.put(key, body);
    await deliver(objectCreated(stack.bucketName, key, file.version));
    expect(await bucket.text(resultKeyOf(key))).toBeUndefined();
    expect(await getImportMarker(file)).toMatchObject({ status: 'IN_PROGRESS', owner: 'busy-worker', attempts: 1 });
  });

  it('stops without reporting when another delivery took the file over while it ran', async () => {
    const { key, body } = await aFile(3);
    const file = fileOf(key, body);
    const stopped = vi.spyOn(logger, 'warn');
    let resume!: () => void;
    crash.onCall = 0;
    crash.hold = new Promise((resolve) => (resume = resolve));
    try {
      await bucket.put(key, body); // S3's delivery starts, and waits inside its first chunk
      await eventually('the import to claim the file', async () =>
        (await getImportMarker(file))?.status === 'IN_PROGRESS' ? true : undefined,
      );
      // As if its lease had run out and another delivery had claimed the file.
      expect(await claimImport(file, 'new-owner', Date.now() + LEASE_MS + 1)).toMatchObject({ claimed: true });
    } finally {
      resume();
      crash.hold = undefined;
    }
    await eventually('the first import to stop', async () =>
      stopped.mock.calls.some(([message]) => String(message).startsWith('import stopped')) ? true : undefined,
    );
    // The next delivery finds the new owner's live lease and does nothing either.
    await deliver(objectCreated(stack.bucketName, key, file.version));
    expect(await bucket.text(resultKeyOf(key))).toBeUndefined();
    expect(await getImportMarker(file)).toMatchObject({ status: 'IN_PROGRESS', owner: 'new-owner', attempts: 2 });
  });
});
