// Asking for lock, revert, submit and cancel, on the real ASL in the local runner: what each answer
// says happened is what happened, whatever dies in between.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { currentInvocation } from '../../infra/local/lambda';
import { clients } from '../../shared/store/clients';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { eventually } from '../support/eventually';
import { act, useLocalWorkflows, waitForStatus } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

/** A DRAFT batch of `type` holding `count` fresh events of a new subscription. */
async function draftWith(type: 'RATING' | 'RERATE', count = 2) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const events = Array.from({ length: count }, (_, i) =>
    // A day each from March 1st at 10:00; past the 28th, the next hour round again.
    anEvent({
      subscriptionId: sub,
      quantity: '10',
      occurredAt: `2026-03-${String((i % 28) + 1).padStart(2, '0')}T${10 + Math.floor(i / 28)}:00:00Z`,
    }),
  );
  expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(count);
  const batchId = (await call('POST', '/v1/batches', { body: { type } })).body.batchId as string;
  const ids = events.map((e) => e.eventId as string);
  expect((await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds: ids } })).body.rejected).toEqual([]);
  return { sub, batchId, ids };
}

describe('a request that dies between the status change and the workflow start', () => {
  it('leaves the start pending; asking again starts it once and the batch locks', async () => {
    const { batchId } = await draftWith('RATING');
    // The lock request's process is killed while StartExecution is under way: it never returns.
    let killed = false;
    clients.sfn.middlewareStack.add(
      (next, context) => async (args) => {
        if (!killed && context.commandName === 'StartExecutionCommand') {
          killed = true;
          await new Promise(() => undefined);
        }
        return next(args);
      },
      { step: 'initialize', name: 'killAtStart' },
    );
    try {
      void call('POST', `/v1/batches/${batchId}/lock`);
      await eventually('the lock request to die at its start', async () => (killed ? true : undefined));
      const stranded = (await call('GET', `/v1/batches/${batchId}`)).body;
      expect(stranded.status).toBe('LOCKING');
      expect(stranded.allowedActions).toContain('LOCK');
      const again = await call('POST', `/v1/batches/${batchId}/lock`);
      expect(again.status).toBe(202);
      const locked = await waitForStatus(batchId, ['LOCKED']);
      expect(locked.allowedActions).not.toContain('LOCK');
      // Asked again once it runs: refused, nothing new starts.
      const third = await call('POST', `/v1/batches/${batchId}/lock`);
      expect([third.status, third.body.code]).toEqual([409, 'INVALID_TRANSITION']);
    } finally {
      clients.sfn.middlewareStack.remove('killAtStart');
    }
  });
});

describe('the log of a request: one entry, written with its move', () => {
  const entries = async (batchId: string, action: string) =>
    ((await call('GET', `/v1/batches/${batchId}/log`)).body.items as { action: string }[]).filter(
      (e) => e.action === action,
    );

  it('a lock request that dies just after its workflow started is logged once; asking again logs nothing more', async () => {
    const { batchId } = await draftWith('RATING');
    // The workflow starts, then the request's process is killed: it never records the start.
    let killed = false;
    clients.sfn.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (!killed && context.commandName === 'StartExecutionCommand') {
          killed = true;
          await new Promise(() => undefined);
        }
        return out;
      },
      { step: 'initialize', name: 'killAfterStart' },
    );
    try {
      void call('POST', `/v1/batches/${batchId}/lock`);
      await eventually('the lock request to die after its start', async () => (killed ? true : undefined));
      await waitForStatus(batchId, ['LOCKED']);
      expect(await entries(batchId, 'LOCK')).toHaveLength(1);
      // The start is still pending on the batch: asking again confirms it, and logs no second request.
      const again = await call('POST', `/v1/batches/${batchId}/lock`);
      expect([again.status, again.body.code]).toEqual([409, 'INVALID_TRANSITION']);
      expect(await entries(batchId, 'LOCK')).toHaveLength(1);
    } finally {
      clients.sfn.middlewareStack.remove('killAfterStart');
    }
  });

  it('a lock whose workflow could not start goes back to DRAFT with its error, and the log says so with the move', async () => {
    const { batchId } = await draftWith('RATING');
    clients.sfn.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'StartExecutionCommand')
          throw Object.assign(new Error('injected outage'), { name: 'ServiceUnavailable' });
        return next(args);
      },
      { step: 'initialize', name: 'refuseStart' },
    );
    try {
      expect((await call('POST', `/v1/batches/${batchId}/lock`)).status).toBe(500);
    } finally {
      clients.sfn.middlewareStack.remove('refuseStart');
    }
    const batch = (await call('GET', `/v1/batches/${batchId}`)).body;
    expect([batch.status, batch.lastError?.code]).toEqual(['DRAFT', 'INTERNAL']);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items as { action: string }[];
    expect(log.map((e) => e.action).slice(-2)).toEqual(['LOCK', 'START_FAILED']);
  });

  it("a draft's cancel that dies while it releases is logged once; asked again it releases the rest and logs nothing more", async () => {
    const { batchId, ids } = await draftWith('RATING', 3);
    // The cancel's first release never lands: its process is killed there.
    let killed = false;
    clients.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (
          !killed &&
          context.commandName === 'TransactWriteItemsCommand' &&
          JSON.stringify(args.input).includes('REMOVE heldBy')
        ) {
          killed = true;
          await new Promise(() => undefined);
        }
        return next(args);
      },
      { step: 'initialize', name: 'killAtRelease' },
    );
    try {
      void call('POST', `/v1/batches/${batchId}/cancel`);
      await eventually('the cancel to die at its first release', async () => (killed ? true : undefined));
      expect((await call('GET', `/v1/batches/${batchId}`)).body.status).toBe('CANCELLED');
      expect(await entries(batchId, 'CANCEL')).toHaveLength(1);
    } finally {
      clients.dynamo.middlewareStack.remove('killAtRelease');
    }
    const again = await call('POST', `/v1/batches/${batchId}/cancel`);
    expect([again.status, again.body.status, again.body.counts.events]).toEqual([200, 'CANCELLED', 0]);
    const other = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId as string;
    expect((await call('POST', `/v1/batches/${other}/events`, { body: { eventIds: ids } })).body.rejected).toEqual([]);
    expect(await entries(batchId, 'CANCEL')).toHaveLength(1);
  });
});

/** Events of a new subscription, rated by a RATING batch run to the end. */
async function ratedEvents(count = 2) {
  const { sub, batchId, ids } = await draftWith('RATING', count);
  await act(batchId, 'lock', ['LOCKED']);
  await act(batchId, 'submit', ['COMPLETED']);
  return { sub, ids };
}

describe('a client mistake is a 4xx with a code, never a 5xx', () => {
  it('POST …/replacements naming the same original twice is 400 VALIDATION_FAILED and changes nothing', async () => {
    const { sub, ids } = await ratedEvents(1);
    const batchId = (await call('POST', '/v1/batches', { body: { type: 'REVERSE_REPLACE' } })).body.batchId as string;
    const replacement = () => anEvent({ subscriptionId: sub, quantity: '5', occurredAt: '2026-03-01T10:00:00Z' });
    const twice = await call('POST', `/v1/batches/${batchId}/replacements`, {
      body: {
        replacements: [
          { originalEventId: ids[0], events: [replacement()] },
          { originalEventId: ids[0], events: [replacement()] },
        ],
      },
    });
    expect([twice.status, twice.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(twice.body.errors[0].path).toBe('body.replacements.1.originalEventId');
    const same = replacement();
    const repeated = await call('POST', `/v1/batches/${batchId}/replacements`, {
      body: { replacements: [{ originalEventId: ids[0], events: [same, same] }] },
    });
    expect([repeated.status, repeated.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await call('GET', `/v1/batches/${batchId}`)).body.counts.events).toBe(0);
  });
});

describe('cancel', () => {
  const takenBy = async (ids: string[]) => {
    const other = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId as string;
    return call('POST', `/v1/batches/${other}/events`, { body: { eventIds: ids } });
  };

  it('ends a DRAFT batch CANCELLED at once and releases every event it held; asked again it answers the same', async () => {
    const { batchId, ids } = await draftWith('RATING');
    expect((await call('GET', `/v1/batches/${batchId}`)).body.allowedActions).toContain('CANCEL');
    const res = await call('POST', `/v1/batches/${batchId}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', allowedActions: [], counts: { events: 0 } });
    expect((await takenBy(ids)).body.rejected).toEqual([]);
    const again = await call('POST', `/v1/batches/${batchId}/cancel`);
    expect([again.status, again.body.status]).toEqual([200, 'CANCELLED']);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items as { action: string }[];
    expect(log.filter((e) => e.action === 'CANCEL')).toHaveLength(1);
  });

  it('reverts a LOCKED batch and ends it CANCELLED, releasing its events', async () => {
    const { batchId, ids } = await draftWith('RATING');
    const locked = await act(batchId, 'lock', ['LOCKED']);
    expect(locked.allowedActions).toContain('CANCEL');
    const res = await call('POST', `/v1/batches/${batchId}/cancel`);
    expect([res.status, res.body.status]).toEqual([202, 'REVERTING']);
    // The batch is CANCELLED first, then its events are released and its counts zeroed.
    const cancelled = await eventually('the cancel to release every event', async () => {
      const b = (await call('GET', `/v1/batches/${batchId}`)).body;
      return b.status !== 'REVERTING' && b.counts.events === 0 ? b : undefined;
    });
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      allowedActions: [],
      counts: { events: 0, related: 0, errored: 0 },
    });
    expect((await takenBy(ids)).body.rejected).toEqual([]);
  });

  it('is refused while the batch is processing or finished', async () => {
    const { batchId } = await draftWith('RATING', 1);
    await act(batchId, 'lock', ['LOCKED']);
    await act(batchId, 'submit', ['COMPLETED']);
    const res = await call('POST', `/v1/batches/${batchId}/cancel`);
    expect([res.status, res.body.code]).toEqual([409, 'INVALID_TRANSITION']);
  });
});

describe('an empty batch', () => {
  it('cannot be locked: 422 BATCH_EMPTY, and LOCK is not among its actions', async () => {
    const batchId = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId as string;
    expect((await call('GET', `/v1/batches/${batchId}`)).body.allowedActions).not.toContain('LOCK');
    const res = await call('POST', `/v1/batches/${batchId}/lock`);
    expect([res.status, res.body.code]).toEqual([422, 'BATCH_EMPTY']);
    expect((await call('GET', `/v1/batches/${batchId}`)).body.status).toBe('DRAFT');
  });
});

/**
 * Sends an add whose first hold transaction goes through while the others wait until a lock has
 * closed edits (the lock is asked and reaches LOCKED in between); gives the add's answer.
 */
async function addOvertakenByLock(batchId: string, path: 'events' | 'replacements', body: unknown) {
  let holds = 0;
  let release: () => void = () => undefined;
  const lockClosedEdits = new Promise<void>((resolve) => {
    release = resolve;
  });
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        context.commandName === 'TransactWriteItemsCommand' &&
        currentInvocation.getStore()?.functionName === 'api-batches-write' &&
        ++holds > 1
      )
        await lockClosedEdits;
      return next(args);
    },
    { step: 'initialize', name: 'pauseAdd' },
  );
  try {
    const add = call('POST', `/v1/batches/${batchId}/${path}`, { body });
    await eventually('the add to write its first group', async () => (holds > 1 ? true : undefined));
    expect((await call('POST', `/v1/batches/${batchId}/lock`)).status).toBe(202);
    await waitForStatus(batchId, ['LOCKED']);
    release();
    return await add;
  } finally {
    release();
    clients.dynamo.middlewareStack.remove('pauseAdd');
  }
}

describe('an add racing a lock', () => {
  it('answers what landed: the events held before the lock closed edits are added (and logged), the rest refused', async () => {
    const { batchId, sub } = await draftWith('RATING', 1);
    const events = Array.from({ length: 20 }, (_, i) =>
      anEvent({ subscriptionId: sub, quantity: '1', occurredAt: `2026-03-1${i % 10}T10:00:00Z` }),
    );
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(20);
    const res = await addOvertakenByLock(batchId, 'events', { eventIds: events.map((e) => e.eventId) });
    expect(res.status).toBe(200);
    expect(res.body.added).toBe(16);
    expect(res.body.rejected).toHaveLength(4);
    expect(new Set(res.body.rejected.map((r: { code: string }) => r.code))).toEqual(new Set(['INVALID_TRANSITION']));
    const batch = (await call('GET', `/v1/batches/${batchId}`)).body;
    expect(batch.counts.events).toBe(17);
    const members = (await call('GET', `/v1/batches/${batchId}/members?limit=100`)).body.items;
    expect(members).toHaveLength(17);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items as { action: string; message: string }[];
    expect(log.filter((e) => e.action === 'ADD_EVENTS').map((e) => e.message)).toContainEqual(
      expect.stringContaining('added 16 event(s)'),
    );
  });

  it('of replacements answers what landed too: originals held before the lock closed edits are added (and logged), the rest refused', async () => {
    const { sub, ids } = await ratedEvents(52);
    const batchId = (await call('POST', '/v1/batches', { body: { type: 'REVERSE_REPLACE' } })).body.batchId as string;
    const replacing = (id: string) => ({
      originalEventId: id,
      events: [anEvent({ subscriptionId: sub, quantity: '5', occurredAt: '2026-03-01T10:00:00Z' })],
    });
    const first = await call('POST', `/v1/batches/${batchId}/replacements`, {
      body: { replacements: [replacing(ids[0]!)] },
    });
    expect(first.body.added).toBe(1);
    const res = await addOvertakenByLock(batchId, 'replacements', { replacements: ids.slice(1).map(replacing) });
    expect(res.status).toBe(200);
    // The first add claimed the partition, so its originals go 48 to a transaction: the first
    // group landed, the second met the closed gate.
    expect(res.body.added).toBe(48);
    expect(res.body.rejected).toHaveLength(3);
    expect(new Set(res.body.rejected.map((r: { code: string }) => r.code))).toEqual(new Set(['INVALID_TRANSITION']));
    // Members the requests added; lock also holds the later events of the subscription as RELATED.
    const members = (await call('GET', `/v1/batches/${batchId}/members?limit=100`)).body.items as { role: string }[];
    expect(members.filter((m) => m.role === 'MEMBER')).toHaveLength(49);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items as { action: string; message: string }[];
    expect(log.filter((e) => e.action === 'ADD_REPLACEMENTS').map((e) => e.message)).toContainEqual(
      expect.stringContaining('holding 48 original(s)'),
    );
  });
});
