import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { apiGatewayEvent, lambdaContext } from '../../infra/local/api-gateway-event';
import { handler as postUsageEvents } from '../../functions/api/usage-events/post-usage-events';
import { clients } from '../../shared/store/clients';
import { call } from '../support/api';
import { eventually } from '../support/eventually';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
const sub = uniqueId('sub');
beforeAll(async () => {
  table = await useTestTable('idem');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
});
afterAll(async () => table.drop());

const post = (body: unknown, key: string, actor = 'alice') =>
  call('POST', '/v1/usage-events', { body, headers: { 'idempotency-key': key }, actor });

describe('Idempotency-Key on POST', () => {
  it('replays the first answer for the same key and body, even with keys reordered', async () => {
    const e = anEvent({ subscriptionId: sub });
    const first = await post({ events: [e] }, 'k-1');
    expect(first.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const again = await post(JSON.stringify({ events: [Object.fromEntries(Object.entries(e).reverse())] }), 'k-1');
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // Without the key the second call would have counted a duplicate.
    expect(again.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  it('refuses the same key with another body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    await post({ events: [anEvent({ subscriptionId: sub })] }, 'k-2');
    const res = await post({ events: [anEvent({ subscriptionId: sub })] }, 'k-2');
    expect([res.status, res.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('scopes keys to the caller', async () => {
    const e = anEvent({ subscriptionId: sub });
    await post({ events: [e] }, 'k-3', 'alice');
    const bob = await post({ events: [e] }, 'k-3', 'bob');
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect(bob.body).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('scopes keys to the caller for grants too: two callers with one key make two grants', async () => {
    const grant = (actor: string) =>
      call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
        body: { amount: '2' },
        headers: { 'idempotency-key': 'k-grant' },
        actor,
      });
    const a = await grant('alice');
    const b = await grant('bob');
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body.entry.grantId).not.toBe(a.body.entry.grantId);
  });

  it('releases the key when the request is refused, so the corrected request can use it', async () => {
    const bad = await call('PUT', `/v1/subscriptions/${uniqueId('s')}`, {
      body: aSubscription({ currency: 'ZZZ' }),
      headers: { 'idempotency-key': 'k-4' },
    });
    expect(bad.status).toBe(400);
    const grant = await call('POST', `/v1/subscriptions/nobody/balances/MINUTES/grants`, {
      body: { amount: '1' },
      headers: { 'idempotency-key': 'k-5' },
    });
    expect(grant.status).toBe(404);
    const fixed = await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
      body: { amount: '1' },
      headers: { 'idempotency-key': 'k-5' },
    });
    expect(fixed.status).toBe(201);
  });

  it('refuses a malformed key', async () => {
    const res = await post({ events: [anEvent({ subscriptionId: sub })] }, 'has space');
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('Idempotency-Key after an attempt that timed out', () => {
  it("a retry after the first attempt's remaining time takes the key over and the request succeeds exactly once", async () => {
    const e = anEvent({ subscriptionId: sub });
    const body = JSON.stringify({ events: [e] });
    // The first attempt claims the key, then its write never returns: Lambda ends it at its
    // timeout, which is the invocation's remaining time (here 300 ms), so it never releases the key.
    let stuck: (err: Error) => void = () => undefined;
    let hang = true;
    clients.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const write = /^(Put|Update|Delete|BatchWrite|TransactWrite)/.test(context.commandName ?? '');
        if (
          hang &&
          write &&
          !JSON.stringify(args.input, (_, v) => (typeof v === 'bigint' ? String(v) : v)).includes('IDEM#')
        ) {
          hang = false;
          await new Promise((_, reject) => {
            stuck = reject;
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'hangFirstWrite' },
    );
    try {
      const event = apiGatewayEvent({
        method: 'POST',
        routePath: '/v1/usage-events',
        rawPath: '/v1/usage-events',
        headers: { 'content-type': 'application/json', 'x-actor': 'carol', 'idempotency-key': 'k-timeout' },
        body,
      });
      const first = postUsageEvents(event, {
        ...lambdaContext('api-usage-events'),
        getRemainingTimeInMillis: () => 300,
      });
      const firstOutcome = first.then(
        (r: APIGatewayProxyStructuredResultV2) => r,
        () => undefined,
      );
      await eventually('the first attempt to hang in its write', async () => (hang ? undefined : true));
      // Within the first attempt's time the key is still its own.
      const during = await post(body, 'k-timeout', 'carol');
      expect([during.status, during.body.code]).toEqual([409, 'CONFLICT']);
      const retried = await eventually('a retry to take the key over', async () => {
        const res = await post(body, 'k-timeout', 'carol');
        return res.status === 409 ? undefined : res;
      });
      expect([retried.status, retried.body]).toEqual([200, { accepted: 1, duplicates: 0, rejected: [] }]);
      const replay = await post(body, 'k-timeout', 'carol');
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      // The dead attempt's end (failing now) neither releases nor overwrites the completed key.
      stuck(Object.assign(new Error('killed'), { name: 'TimeoutError' }));
      await firstOutcome;
      const after = await post(body, 'k-timeout', 'carol');
      expect(after.headers['idempotent-replayed']).toBe('true');
      const stored = await call('GET', `/v1/usage-events/${e.eventId}`);
      expect(stored.status).toBe(200);
    } finally {
      clients.dynamo.middlewareStack.remove('hangFirstWrite');
    }
  });
});
