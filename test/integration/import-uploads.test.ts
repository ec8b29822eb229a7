// Imports through the API (the dashboard's way in): an upload URL into the imports bucket, the
// S3 drop's own import, the report and its errors CSV; and the CORS the browser needs for both,
// on the local HTTP API and the local bucket, as API Gateway and S3 answer it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCors } from '../../functions/api/cors';
import { importIdOf, UPLOAD_URL_SECONDS } from '../../shared/domain/import-keys';
import { call } from '../support/api';
import { aSubscription, uniqueId } from '../support/builders';
import { deliver, objectCreated, startStackWithBucket, type StackWithBucket } from '../support/s3';

let env: StackWithBucket;
let site: string;

beforeAll(async () => {
  // The upload's notification is delivered by each test itself, so every state can be seen.
  site = mkdtempSync(join(tmpdir(), 'dashboard-site-'));
  env = await startStackWithBucket('uploads', { importUploads: false, dashboard: { directory: site } });
});

afterAll(async () => {
  await env?.stop();
  rmSync(site, { recursive: true, force: true });
});

const HEADER = 'event_id,subscription_id,product_id,quantity,occurred_at';

async function newBatch(type: string): Promise<string> {
  const res = await call('POST', '/v1/batches', { body: { type } });
  expect(res.status).toBe(201);
  return res.body.batchId as string;
}

const put = (
  upload: { url: string; method: string; headers: Record<string, string> },
  body: string,
  headers = upload.headers,
) => fetch(upload.url, { method: upload.method, headers, body });

describe('POST /v1/imports and GET /v1/imports/{importId}', () => {
  it('hands out a URL that puts the file into the S3 drop; the import reports on it with a link to its errors CSV', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const granted = await call('POST', '/v1/imports', {
      body: { kind: 'usage-events', fileName: 'March calls (final).CSV' },
    });
    expect(granted.status).toBe(201);
    const { importId, key, upload } = granted.body;
    expect(key).toMatch(/^usage-events\/[0-9a-f-]{36}-March-calls-final\.csv$/);
    expect(importId).toBe(importIdOf(key));
    expect(upload).toMatchObject({ method: 'PUT', headers: { 'content-type': 'text/csv' } });
    // The answer's expiry is the signature's: signed for UPLOAD_URL_SECONDS from the instant it was signed.
    const signed = new URL(upload.url).searchParams;
    expect(Number(signed.get('X-Amz-Expires'))).toBe(UPLOAD_URL_SECONDS);
    const signedAt = signed
      .get('X-Amz-Date')!
      .replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
    // Signed a moment after the answer's clock read (the same second, or the next).
    const lag = Date.parse(signedAt) / 1000 + UPLOAD_URL_SECONDS - Math.floor(Date.parse(upload.expiresAt) / 1000);
    expect([0, 1]).toContain(lag);
    expect((await call('GET', `/v1/imports/${importId}`)).body).toEqual({
      importId,
      key,
      target: { kind: 'usage-events' },
      state: 'WAITING_FOR_FILE',
    });

    const csv = [
      HEADER,
      `${sub}-1,${sub},voice,30,2026-03-01T10:00:00Z`,
      `${sub}-2,${sub},voice,-1,2026-03-02T10:00:00Z`,
    ].join('\n');
    const stored = await put(upload, csv);
    expect(stored.status).toBe(200);
    expect(await env.bucket.text(key)).toBe(csv);
    expect((await call('GET', `/v1/imports/${importId}`)).body.state).toBe('IMPORTING');

    // What S3 would notify: the very import a partner's file gets.
    await deliver(objectCreated(env.stack.bucketName, key, (stored.headers.get('etag') ?? '').replace(/"/g, '')));
    const done = (await call('GET', `/v1/imports/${importId}`)).body;
    expect(done).toMatchObject({
      state: 'COMPLETED_WITH_ERRORS',
      report: { status: 'COMPLETED_WITH_ERRORS', rows: 2, accepted: 1, rejected: 1 },
    });
    const errors = await fetch(done.errorsUrl);
    expect(errors.headers.get('content-disposition')).toBe(`attachment; filename="${key.split('/').pop()}.errors.csv"`);
    expect(await errors.text()).toMatch(
      /^\uFEFF?row,code,message,event_id,subscription_id,product_id,quantity,occurred_at\n2,VALIDATION_FAILED,quantity: [^\n]+,/,
    );
    expect(
      (await call('GET', `/v1/usage-events?subscriptionId=${sub}`)).body.items.map(
        (e: { eventId: string }) => e.eventId,
      ),
    ).toEqual([`${sub}-1`]);
  });

  it('signs the content type into the URL, so that S3 takes only a CSV PUT on it, for five minutes', async () => {
    // The local S3 checks no V4 signature (docs/local-stack.md): what the URL binds is read from it.
    const { upload, key } = (await call('POST', '/v1/imports', { body: { kind: 'usage-events', fileName: 'x.csv' } }))
      .body;
    const url = new URL(upload.url);
    expect(url.pathname).toBe(`/${env.stack.bucketName}/${key}`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
  });

  it('puts a batch file under the batch, and records in the batch log who asked for the URL', async () => {
    const batchId = await newBatch('RERATE');
    const res = await call('POST', '/v1/imports', {
      body: { kind: 'batch-events', batchId, fileName: 'ids.csv' },
      actor: 'alice',
    });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(new RegExp(`^batches/${batchId}/events/[0-9a-f-]{36}-ids\\.csv$`));
    expect((await call('GET', `/v1/imports/${res.body.importId}`)).body.target).toEqual({
      kind: 'batch-events',
      batchId,
    });
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items;
    expect(log.at(-1)).toMatchObject({ actor: 'alice', action: 'IMPORT_UPLOAD', data: { key: res.body.key } });
  });

  it('refuses a batch file the batch could not take, as the import would, and hands out no URL', async () => {
    const rating = await newBatch('RATING');
    const refused = await call('POST', '/v1/imports', {
      body: { kind: 'batch-replacements', batchId: rating, fileName: 'r.csv' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'ACTION_NOT_ALLOWED_FOR_TYPE' });
    expect(refused.body.upload).toBeUndefined();
    const missing = await call('POST', '/v1/imports', {
      body: { kind: 'batch-events', batchId: '00000000-0000-4000-8000-000000000000', fileName: 'r.csv' },
    });
    expect(missing.status).toBe(404);
    const bad = await call('POST', '/v1/imports', { body: { kind: 'batch-events', fileName: 'r.csv' } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('answers 404 for an import id that names no importable file', async () => {
    for (const id of [
      importIdOf('results/usage-events/a.csv.json'),
      importIdOf('notes/a.csv'),
      importIdOf('usage-events/a.txt'),
      'not*base64',
      'dXNhZ2UtZXZlbnRzL2EuY3N2=',
    ]) {
      const res = await call('GET', `/v1/imports/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
  });
});

describe('CORS for the dashboard’s origin', () => {
  const dashboard = () => env.stack.dashboardUrl!;

  it('the local API answers preflights as API Gateway does, for the dashboard’s origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${env.stack.apiUrl}/v1/batches/x/submit`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,idempotency-key,if-match,x-actor',
        },
      });
    const ok = await preflight(dashboard());
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(dashboard());
    expect(ok.headers.get('access-control-allow-methods')).toBe(apiCors.allowMethods.join(','));
    expect(ok.headers.get('access-control-allow-headers')?.split(',')).toEqual(
      expect.arrayContaining(['content-type', 'idempotency-key', 'if-match', 'x-actor']),
    );
    const other = await preflight('http://elsewhere.example');
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const answer = await fetch(`${env.stack.apiUrl}/v1/health`, { headers: { origin: dashboard() } });
    expect(answer.headers.get('access-control-allow-origin')).toBe(dashboard());
    expect(answer.headers.get('access-control-expose-headers')).toContain('etag');
    const refused = await fetch(`${env.stack.apiUrl}/v1/nothing`, { headers: { origin: dashboard() } });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('access-control-allow-origin')).toBe(dashboard());
  });

  it('the local bucket lets the dashboard’s origin PUT a CSV, and no other origin', async () => {
    const { upload } = (await call('POST', '/v1/imports', { body: { kind: 'usage-events', fileName: 'cors.csv' } }))
      .body;
    const preflight = (origin: string) =>
      fetch(upload.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight(dashboard());
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-methods')).toBe('PUT');
    expect((await preflight('http://elsewhere.example')).status).toBe(403);
  });
});
