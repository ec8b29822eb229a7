// Found by the model-based test: under a steady rate of failed writes, a REVERSE_REPLACE batch
// with many replacements ended FAILED by exhausted retries, because every attempt of
// InsertReplacements re-sent the writes of every replacement, earlier attempts' included, so no
// attempt had less to do than the first. A retry must only do what earlier attempts left undone.
// A replacement without a parent is inserted by its chunk, not by InsertReplacements: the
// replacements here name a parent, so InsertReplacements writes each of them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { currentInvocation } from '../../infra/local/lambda';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { getEvents } from '../../shared/store/usage-events';
import { call } from '../support/api';
import { drive } from '../support/batch-status';
import { FINISHED, newBatch, subscriptionsWithEvents } from '../support/fault-scenarios';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `retry-${randomUUID().slice(0, 8)}`,
    retryIntervalMs: 5,
  });
});
afterAll(async () => stack?.stop());

const WRITES = new Set(['TransactWriteItemsCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/** Every attempt of `task` has its `nth` write refused as throttled, before it is sent. */
function failEveryAttemptAt(task: string, nth: number): { failed: () => number; stop: () => void } {
  const writes = new WeakMap<object, number>();
  let failed = 0;
  let active = true;
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const invocation = currentInvocation.getStore();
      if (active && invocation?.functionName === task && WRITES.has(context.commandName ?? '')) {
        const n = (writes.get(invocation) ?? 0) + 1;
        writes.set(invocation, n);
        if (n === nth) {
          failed++;
          throw Object.assign(new Error('injected fault'), { name: 'ThrottlingException' });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'failEveryAttemptAt', override: true },
  );
  return { failed: () => failed, stop: () => (active = false) };
}

describe('retries make progress', () => {
  it('a REVERSE_REPLACE batch whose every InsertReplacements attempt has a write refused still completes: each attempt keeps what the earlier ones inserted', async () => {
    const { events: all } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 16 });
    const rating = await newBatch('RATING');
    expect(
      (await call('POST', `/v1/batches/${rating}/events`, { body: { eventIds: all.map((e) => e.eventId) } })).body
        .rejected,
    ).toEqual([]);
    await drive(rating, 'lock', ['LOCKED']);
    expect((await drive(rating, 'submit', FINISHED)).status).toBe('COMPLETED');

    // Eight originals, each replacement the child of one of the eight other events.
    const events = all.slice(0, 8);
    const rr = await newBatch('REVERSE_REPLACE');
    const fixes = events.map((e, i) => ({
      ...e,
      eventId: `${e.eventId}-fix`,
      quantity: '1',
      parentEventId: all[8 + i]!.eventId,
    }));
    expect(
      (
        await call('POST', `/v1/batches/${rr}/replacements`, {
          body: { replacements: events.map((e, i) => ({ originalEventId: e.eventId, events: [fixes[i]] })) },
        })
      ).body.rejected,
    ).toEqual([]);
    await drive(rr, 'lock', ['LOCKED']);

    const faults = failEveryAttemptAt('InsertReplacements', 6);
    try {
      const done = await drive(rr, 'submit', FINISHED);
      expect(faults.failed()).toBeGreaterThan(0);
      expect([done.status, done.lastError?.message]).toEqual(['COMPLETED', undefined]);
    } finally {
      faults.stop();
      await stack.idle();
    }
    const after = await getEvents(fixes.map((f) => f.eventId));
    expect(after.map((e) => e.status)).toEqual(fixes.map(() => 'RATED'));
    const parentOf = new Map(after.map((e) => [e.eventId, e.parentEventId]));
    expect(fixes.map((f) => parentOf.get(f.eventId))).toEqual(fixes.map((f) => f.parentEventId));
  }, 120_000);
});
