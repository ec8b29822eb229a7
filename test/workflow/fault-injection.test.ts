// Guarantees of DESIGN.md §2 under failure, seeded: writes fail before they are sent or after they
// were applied (answer lost), reads are throttled, and task attempts time out while they run on
// beside their retry. The workflows' retries and re-runs finish the work; every invariant holds
// and every event is rated, reversed and released exactly once. The reliability benchmark
// (`npm run bench -- reliability`) runs the same scenarios over many more seeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { call } from '../support/api';
import { eventually } from '../support/eventually';
import { drive, executionEnded, waitForStatus } from '../support/batch-status';
import {
  addEvents,
  cancelRaceRun,
  correctionRun,
  cyclesRun,
  FINISHED,
  newBatch,
  stallFor,
  subscriptionsWithEvents,
  undoRun,
} from '../support/fault-scenarios';
import { failEveryNthWrite, holdFirstWrite, timeoutCount } from '../support/faults';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { lockFailed } from '../../shared/services/lock-for-review';
import { batchGet } from '../../shared/store/batch-get';
import { clients } from '../../shared/store/clients';
import { listPartitions } from '../../shared/store/batch-partitions';
import { keys } from '../../shared/store/keys';
import { checkHolds, checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';

// Well above one unit of work (a few hundred ms on a busy 2-core machine), far below the ASL's 120 s.
const TASK_TIMEOUT_SECONDS = 0.5;

let stack: LocalStack;
beforeAll(async () => {
  // One unit of work per task invocation: the most cursors, the most places to fail between.
  process.env.WORKFLOW_CHUNK_BUDGET_MS = '0';
  stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `faults-${randomUUID().slice(0, 8)}`,
    retryIntervalMs: 5,
    taskTimeoutSeconds: TASK_TIMEOUT_SECONDS,
  });
});
afterAll(async () => stack?.stop());

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

/** One subscription's four events in a RATING batch (locked, when asked). */
async function fourEventRating(options: { locked?: boolean } = {}) {
  const { events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 4 });
  const rating = await newBatch('RATING');
  await addEvents(
    rating,
    events.map((e) => e.eventId),
  );
  if (options.locked) await drive(rating, 'lock', ['LOCKED']);
  return { events, rating };
}

describe('fault injection', () => {
  const timedOut: number[] = [];
  const stalled: number[] = [];
  it.each(SEEDS)(
    'seed %i: rating, a top-up and reverse-replace survive failed writes, throttled reads and timed-out attempts; every invariant holds',
    async (seed) => {
      const stall = stallFor(TASK_TIMEOUT_SECONDS, { maxTimeouts: 2 });
      const run = await correctionRun(stack, {
        seed,
        rates: { writes: 0.05, throttledReads: 0.01, timeouts: 0.05 },
        stall,
      });

      expect(run.violations).toEqual([]);
      // The run was not fault-free: calls failed and writes stalled past the timeout.
      expect(run.faults.before + run.faults.after + run.faults.throttled).toBeGreaterThan(0);
      stalled.push(timeoutCount(run.faults));
      timedOut.push(run.timedOutAttempts);
    },
  );

  // Whether a given stall ends its attempt by the timeout depends on timing (an attempt that
  // another path ends first is not timed out), so the runner's timeouts are counted over the
  // seeds; the pinned tests below time out chosen attempts deterministically.
  // Which calls a seed stalls depends on the order the calls come in, which a loaded machine
  // changes: stalls are counted over the seeds too.
  it('the runner stalled writes past the timeout, timed attempts out and retried them across the seeded runs', () => {
    expect(timedOut).toHaveLength(SEEDS.length);
    expect(stalled.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(timedOut.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe('fault injection: lock → revert cycles and a cancel racing the lock', () => {
  it.each([1, 2, 3])(
    'seed %i: a batch locked and reverted twice, then locked and submitted, rates every event once with one log entry per transition',
    async (seed) => {
      const run = await cyclesRun(stack, {
        seed,
        rates: { writes: 0.05, throttledReads: 0.01, timeouts: 0.05 },
        stall: stallFor(TASK_TIMEOUT_SECONDS, { maxTimeouts: 2 }),
      });
      expect(run.violations).toEqual([]);
      expect(run.faults.before + run.faults.after + run.faults.throttled + timeoutCount(run.faults)).toBeGreaterThan(0);
    },
    120_000,
  );

  it.each([1, 2, 3])(
    'seed %i: a cancel sent with the lock wins or is refused, never both; the batch ends CANCELLED holding nothing, and a new batch rates every event once',
    async (seed) => {
      const run = await cancelRaceRun(stack, {
        seed,
        rates: { writes: 0.05, throttledReads: 0.01, timeouts: 0.05 },
        stall: stallFor(TASK_TIMEOUT_SECONDS, { maxTimeouts: 2 }),
      });
      expect(run.violations).toEqual([]);
      expect(run.outcomes?.[0]).toBe('CANCELLED');
    },
    120_000,
  );
});

// The seeded runs find these by chance; each is pinned here. In AWS a timed-out attempt runs on
// (a task Lambda may run 5 minutes, its Task times out after 2), so its writes can land after its
// batch has moved on to the next stage, or has finished.
describe('undo under faults', () => {
  it.each([1, 2, 3])(
    'seed %i: the undo of a reverse-replace, asked twice at once and once more, survives failed writes, throttled reads and timed-out attempts: the books are as before the reverse-replace, every invariant holds',
    async (seed) => {
      const run = await undoRun(stack, {
        seed,
        rates: { writes: 0.05, throttledReads: 0.01, timeouts: 0.05 },
        stall: stallFor(TASK_TIMEOUT_SECONDS, { maxTimeouts: 2 }),
      });
      expect(run.violations).toEqual([]);
      expect(run.faults.before + run.faults.after + run.faults.throttled).toBeGreaterThan(0);
    },
  );
});

describe('an attempt that timed out and lands its writes after its batch moved on', () => {
  const actions = async (batchId: string): Promise<string[]> =>
    (await call('GET', `/v1/batches/${batchId}/log?limit=1000`)).body.items.map((e: { action: string }) => e.action);

  async function ratedEvents(): Promise<string[]> {
    const { events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED']);
    expect((await drive(rating, 'submit', FINISHED)).status).toBe('COMPLETED');
    return ids;
  }

  it('holds no related event once its lock is over', async () => {
    const ids = await ratedEvents();
    const rerate = await newBatch('RERATE');
    await addEvents(rerate, [ids[0]!]);
    const late = holdFirstWrite(
      (_command, input, task) => task === 'LockForReview' && input.includes('LATER_IN_PARTITION'),
    );

    await drive(rerate, 'lock', ['LOCKED']);
    await late.held;
    expect((await drive(rerate, 'submit', FINISHED)).status).toBe('COMPLETED');
    late.release();
    await stack.idle();

    expect((await getEvents(ids)).filter((e) => e.heldBy !== undefined).map((e) => e.eventId)).toEqual([]);
    expect(await checkHolds()).toEqual([]);
  });

  it('re-rates nothing once its batch has finished, even after a top-up changed what a re-rate would give', async () => {
    const { subs, events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED']);
    const late = holdFirstWrite(
      (command, _input, task) => task === 'ProcessShardChunk' && command === 'TransactWriteItemsCommand',
    );

    expect((await drive(rating, 'submit', FINISHED)).status).toBe('COMPLETED');
    await late.held;
    // Re-rating what is rated with the new allowance is a RERATE batch's job, with its preview.
    expect(
      (await call('POST', `/v1/subscriptions/${subs[0]}/balances/MINUTES/grants`, { body: { amount: '100' } })).status,
    ).toBe(201);
    late.release();
    await stack.idle();

    expect((await getEvents(ids)).map((e) => [e.status, e.ratingRev])).toEqual(ids.map(() => ['RATED', 1]));
    const log = await call('GET', `/v1/batches/${rating}/log?limit=1000`);
    expect(log.body.items.map((e: { action: string }) => e.action)).not.toContain('PARTITION_FAILED');
    expect(await checkSubscription(await requireSubscription(subs[0]!))).toEqual([]);
  });

  it('leaves the counts of a batch that has finished as its submit counted them', async () => {
    const { events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids);
    const late = holdFirstWrite(
      // The move to LOCKED, which writes the recount.
      (_command, input, task) => task === 'LockForReview' && input.includes('counts = :counts'),
    );

    await drive(rating, 'lock', ['LOCKED']);
    await late.held;
    expect((await drive(rating, 'submit', FINISHED)).counts).toMatchObject({ events: 8, processed: 8 });
    late.release();
    await stack.idle();

    expect((await call('GET', `/v1/batches/${rating}`)).body).toMatchObject({
      status: 'COMPLETED',
      counts: { events: 8, processed: 8, errored: 0 },
    });
  });

  it('a lock whose move to LOCKED lands late ends locked once, logged once, and submit rates every event', async () => {
    const { events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids);
    // LOCKING -> LOCKED and its audit entry (one write) stall: the attempt times out, the retry moves the batch.
    const late = holdFirstWrite(
      (_command, input, task) => task === 'LockForReview' && input.includes('"action":"LOCKED"'),
    );

    await drive(rating, 'lock', ['LOCKED']);
    await late.held;
    const lock = await executionEnded(rating, 'lock');
    late.release();
    await stack.idle();

    expect(lock).toBe('SUCCEEDED');
    expect((await actions(rating)).filter((a) => a === 'LOCKED')).toHaveLength(1);
    expect((await drive(rating, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect((await getEvents(ids)).map((e) => e.status)).toEqual(ids.map(() => 'RATED'));
  });

  it('a submit whose task process is killed mid-chunk (its write never lands) is finished by the retry: every event rated once', async () => {
    const { subs, events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED']);
    const killed = holdFirstWrite(
      (command, _input, task) => task === 'ProcessShardChunk' && command === 'TransactWriteItemsCommand',
    );

    const submit = call('POST', `/v1/batches/${rating}/submit`);
    await killed.held;
    expect((await submit).status).toBe(202);
    expect((await drive(rating, 'submit', FINISHED)).status).toBe('COMPLETED');
    killed.kill();
    await stack.idle();
    // Progress says what happened, exactly, whatever the retries counted meanwhile.
    expect((await call('GET', `/v1/batches/${rating}`)).body.progress).toEqual({ done: 8, total: 8 });

    expect((await getEvents(ids)).map((e) => [e.status, e.ratingRev])).toEqual(ids.map(() => ['RATED', 1]));
    expect(await checkSubscription(await requireSubscription(subs[0]!))).toEqual([]);
    expect(await checkHolds()).toEqual([]);
  });

  it('a submit attempt whose totals land after its retry found the change set stale writes no event of it: the books count every rated event', async () => {
    const { subs, events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 8 });
    const ids = events.map((e) => e.eventId);
    const [first, second] = [await newBatch('RATING'), await newBatch('RATING')];
    await addEvents(first, ids.slice(0, 4));
    await addEvents(second, ids.slice(4));
    await drive(first, 'lock', ['LOCKED']);
    await drive(second, 'lock', ['LOCKED']);
    // The first submit moves the register, so the second's plan is stale.
    expect((await drive(first, 'submit', FINISHED)).status).toBe('COMPLETED');
    // The second's first attempt stalls on its totals; its retry marks the change set STALE and
    // stalls on failing the partition, so the batch is still PROCESSING when the totals land.
    const totals = holdFirstWrite(
      (_command, input, task) => task === 'ProcessShardChunk' && input.includes('":applied"'),
    );
    const failing = holdFirstWrite(
      (_command, input, task) => task === 'ProcessShardChunk' && input.includes('PREVIEW_STALE'),
      'failing',
    );

    expect((await call('POST', `/v1/batches/${second}/submit`)).status).toBe(202);
    await totals.held;
    await failing.held;
    totals.release();
    // The first attempt has ended once the partition is no longer READY (its retry is held).
    await eventually('the first attempt to end', async () =>
      (await listPartitions(second)).every((p) => p.state !== 'READY') ? true : undefined,
    );
    failing.release();
    expect((await waitForStatus(second, FINISHED)).status).toBe('FAILED');
    await stack.idle();

    const after = new Map((await getEvents(ids)).map((e) => [e.eventId, e]));
    expect(ids.map((id) => [after.get(id)?.status, after.get(id)?.heldBy])).toEqual([
      ...ids.slice(0, 4).map(() => ['RATED', undefined]),
      ...ids.slice(4).map(() => ['LOADED', undefined]),
    ]);
    expect(await checkSubscription(await requireSubscription(subs[0]!))).toEqual([]);
  });

  async function revert(batchId: string): Promise<void> {
    expect((await call('POST', `/v1/batches/${batchId}/revert`)).status).toBe(202);
    await waitForStatus(batchId, ['DRAFT']);
  }

  it('a lock attempt whose gate closing lands after the batch was reverted closes no gate and logs its start once', async () => {
    const { events } = await subscriptionsWithEvents({ subscriptions: 1, eventsPerSubscription: 4 });
    const ids = events.map((e) => e.eventId);
    const rating = await newBatch('RATING');
    await addEvents(rating, ids.slice(0, 3));
    const late = holdFirstWrite((_command, input, task) => task === 'LockForReview' && input.includes('BATCH_GATE'));

    await drive(rating, 'lock', ['LOCKED']);
    await late.held;
    await revert(rating);
    late.release();
    await stack.idle();

    // Edits are open again: no gate is closed and an add lands.
    expect(await batchGet(keys.batchGates(rating))).toEqual([]);
    const add = await call('POST', `/v1/batches/${rating}/events`, { body: { eventIds: [ids[3]] } });
    expect(add.status).toBe(200);
    expect(add.body.rejected).toEqual([]);
    expect((await actions(rating)).filter((a) => a === 'LOCK_STARTED')).toHaveLength(1);
  });

  it('a lock attempt whose partition note lands after the batch was reverted adds no partition to it', async () => {
    const { rating } = await fourEventRating();
    const late = holdFirstWrite(
      (_command, input, task) => task === 'LockForReview' && input.includes('attribute_not_exists(earliest)'),
    );

    await drive(rating, 'lock', ['LOCKED']);
    await late.held;
    await revert(rating);
    late.release();
    await stack.idle();

    expect(await listPartitions(rating)).toEqual([]);
  });

  it.each([
    ['lock', 'LOCKED'],
    ['submit', 'COMPLETED'],
  ] as const)(
    'a %s attempt killed as it makes its final move leaves exactly one %s entry in the log',
    async (action, entry) => {
      const { rating } = await fourEventRating();
      if (action === 'submit') await drive(rating, 'lock', ['LOCKED']);
      // The write that records the entry dies with its process: the retry must still log it, once.
      const killed = holdFirstWrite((_command, input) => input.includes(`"action":"${entry}"`));

      const ended = drive(rating, action, [entry]);
      await killed.held;
      killed.kill();
      await ended;
      await stack.idle();

      expect((await actions(rating)).filter((a) => a === entry)).toHaveLength(1);
    },
  );

  it('a cancelled batch is never seen CANCELLED while it still holds an event: the release comes first, and a killed release is finished by the retry', async () => {
    const { events, rating } = await fourEventRating({ locked: true });
    // The first release of a held event dies with its process, after a wait long enough to be seen.
    const killed = holdFirstWrite(
      (command, input) => command === 'TransactWriteItemsCommand' && input.includes('REMOVE heldBy'),
    );

    const ended = drive(rating, 'cancel', ['CANCELLED']);
    await killed.held;
    expect((await call('GET', `/v1/batches/${rating}`)).body.status).toBe('REVERTING');
    killed.kill();
    await ended;
    await stack.idle();

    const stored = await getEvents(events.map((e) => e.eventId));
    expect(stored.filter((e) => e.heldBy !== undefined).map((e) => e.eventId)).toEqual([]);
    const log = (await call('GET', `/v1/batches/${rating}/log?limit=1000`)).body.items as Array<{ message: string }>;
    expect(log.filter((e) => e.message.startsWith('cancelled'))).toHaveLength(1);
  });

  it('a cancel whose retries ran out stays REVERTING with its error, offers CANCEL, and asked again ends CANCELLED holding nothing', async () => {
    const { events, rating } = await fourEventRating({ locked: true });
    const faults = failEveryNthWrite('RevertForEdit', 1);
    let stopped: any;
    try {
      expect((await call('POST', `/v1/batches/${rating}/cancel`)).status).toBe(202);
      stopped = await eventually('the cancel to stop with an error', async () => {
        const batch = (await call('GET', `/v1/batches/${rating}`)).body;
        return batch.lastError ? batch : undefined;
      });
    } finally {
      faults.stop();
    }
    expect(stopped.status).toBe('REVERTING');
    expect(stopped.allowedActions).toContain('CANCEL');

    await drive(rating, 'cancel', ['CANCELLED']);
    await stack.idle();
    const stored = await getEvents(events.map((e) => e.eventId));
    expect(stored.filter((e) => e.heldBy !== undefined).map((e) => e.eventId)).toEqual([]);
    expect((await call('GET', `/v1/batches/${rating}`)).body.counts.events).toBe(0);
  });

  it('a revert attempt whose release of a related event lands after the batch was locked again and is reverting anew releases nothing', async () => {
    const ids = await ratedEvents();
    const rerate = await newBatch('RERATE');
    await addEvents(rerate, [ids[0]!]);
    await drive(rerate, 'lock', ['LOCKED']);
    const related = ids.slice(1);
    const late = holdFirstWrite((_command, input, task) => task === 'RevertForEdit' && input.includes('REMOVE heldBy'));
    await revert(rerate);
    await late.held;
    await drive(rerate, 'lock', ['LOCKED']);
    // The next revert is asked for, and its request dies as its workflow starts: the batch stays
    // REVERTING at a later version, still holding the related events its second lock took.
    let stranded = false;
    clients.sfn.middlewareStack.add(
      (next, context) => async (args) => {
        if (!stranded && context.commandName === 'StartExecutionCommand') {
          stranded = true;
          await new Promise(() => undefined);
        }
        return next(args);
      },
      { step: 'initialize', name: 'strandRevert' },
    );
    try {
      void call('POST', `/v1/batches/${rerate}/revert`);
      await eventually('the revert request to die at its start', async () => (stranded ? true : undefined));
    } finally {
      clients.sfn.middlewareStack.remove('strandRevert');
    }
    late.release();
    await stack.idle();

    expect((await getEvents(related)).map((e) => e.heldBy)).toEqual(related.map(() => rerate));
    expect((await call('GET', `/v1/batches/${rerate}/members?limit=100`)).body.items).toHaveLength(ids.length);
    // Asked again, the pending revert starts and releases them.
    await revert(rerate);
    expect((await getEvents(related)).filter((e) => e.heldBy !== undefined)).toEqual([]);
  });

  it('a revert failure whose record lands after the revert was asked again and finished shows no error and is logged once', async () => {
    const { rating } = await fourEventRating({ locked: true });
    // The revert fails; the first attempt to record it stalls (its retry records it), and lands last.
    const faults = failEveryNthWrite('RevertForEdit', 1);
    const late = holdFirstWrite((_command, _input, task) => task === 'RevertFailed');
    try {
      expect((await call('POST', `/v1/batches/${rating}/revert`)).status).toBe(202);
      await late.held;
      expect(await executionEnded(rating, 'revert')).toBe('FAILED');
    } finally {
      faults.stop();
    }
    expect((await call('GET', `/v1/batches/${rating}`)).body).toMatchObject({
      status: 'REVERTING',
      lastError: { code: 'INTERNAL' },
    });
    await revert(rating);
    late.release();
    await stack.idle();

    const batch = (await call('GET', `/v1/batches/${rating}`)).body;
    expect([batch.status, batch.lastError]).toEqual(['DRAFT', undefined]);
    expect((await actions(rating)).filter((a) => a === 'REVERT_FAILED')).toHaveLength(1);
  });

  it('FinishSubmit settles a large batch whose every 20th write fails, page by page, and the batch ends as its partitions did', async () => {
    // Two subscriptions; a top-up of the second after lock makes its preview stale, so finishing
    // marks its 100 members FAILED and releases their events: far more writes than one unit's retries cover.
    const { subs, events } = await subscriptionsWithEvents({ subscriptions: 2, eventsPerSubscription: 100 });
    const rating = await newBatch('RATING');
    await addEvents(
      rating,
      events.map((e) => e.eventId),
    );
    await drive(rating, 'lock', ['LOCKED']);
    expect(
      (await call('POST', `/v1/subscriptions/${subs[1]}/balances/MINUTES/grants`, { body: { amount: '1' } })).status,
    ).toBe(201);
    const faults = failEveryNthWrite('FinishSubmit', 20);

    let done: any;
    try {
      done = await drive(rating, 'submit', FINISHED);
    } finally {
      faults.stop();
    }
    await stack.idle();

    expect(faults.refused).toBeGreaterThan(7);
    expect(await executionEnded(rating, 'submit')).toBe('SUCCEEDED');
    expect(done).toMatchObject({
      status: 'COMPLETED_WITH_ERRORS',
      counts: { events: 200, errored: 100, processed: 100 },
      lastError: { code: 'PREVIEW_STALE' },
    });
    expect(done.progress).toEqual({ done: 100, total: 200 });
    expect((await getEvents(events.map((e) => e.eventId))).filter((e) => e.heldBy !== undefined)).toEqual([]);
    expect((await actions(rating)).filter((a) => a === 'COMPLETED_WITH_ERRORS')).toHaveLength(1);
    expect(await checkHolds()).toEqual([]);
  }, 240_000);

  it('a lock undo that arrives once the batch is LOCKED leaves its preview and closed edits alone', async () => {
    const { rating } = await fourEventRating({ locked: true });
    // The lock ran at the version before its own LOCKED transition.
    const lockVersion = (await call('GET', `/v1/batches/${rating}`)).body.version - 1;

    await expect(
      lockFailed(rating, 'test', { code: 'INTERNAL', message: 'late' }, new Date().toISOString(), lockVersion),
    ).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });

    expect((await call('GET', `/v1/batches/${rating}/preview`)).body.partitions).toHaveLength(1);
    expect(await batchGet(keys.batchGates(rating))).toHaveLength(keys.batchGates(rating).length);
  });
});
