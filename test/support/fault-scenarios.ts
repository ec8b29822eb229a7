// The seeded fault runs DESIGN.md §2 is proven under, shared by the fault-injection tests (a few
// small seeds) and the reliability benchmark (many seeds, bigger batches). A run makes its own
// subscriptions and events, drives batches through the real workflows with faults on, waits for
// every attempt to end (timed-out ones included), then lists what is wrong: every violation
// checkTable finds (as `npm run check-invariants` does) and every event not rated, reversed or
// released exactly once. An empty list is the pass.
import { GetExecutionHistoryCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { allMembers } from '../../shared/store/batches';
import { checkTable, type Violation } from '../../shared/store/invariants';
import { planFor } from '../../shared/store/partition-rating';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';
import { listPartitions } from '../../shared/store/batch-partitions';
import { FINISHED as FINISHED_STATUSES } from '../../shared/domain/batch';
import type { UsageEvent } from '../../shared/domain/usage-event';
import { call } from './api';
import { drive } from './batch-status';
import { eventually } from './eventually';
import { aSubscription, anEvent, uniqueId } from './builders';
import { injectFaults, type FaultLog, type FaultRates, type StallOptions } from './faults';
import { seededRandom, type SeededRandom } from './seeded-random';

export interface RunSize {
  subscriptions: number;
  eventsPerSubscription: number;
  /** Events of each subscription a REVERSE_REPLACE batch reverses and replaces. */
  originalsPerSubscription: number;
}

/** The fault-injection tests' size: two partitions, small enough to run eight seeds in seconds. */
export const SMALL_RUN: RunSize = { subscriptions: 2, eventsPerSubscription: 20, originalsPerSubscription: 2 };

export interface RunOptions {
  seed: number;
  rates: FaultRates;
  /** Needed for `rates.timeouts`: the stack's task timeout and how long a stalled write waits. */
  stall?: StallOptions;
  size?: RunSize;
}

export interface RunResult {
  seed: number;
  events: number;
  faults: FaultLog;
  /** Task attempts the local runner timed out (LambdaFunctionTimedOut in the runs' histories). */
  timedOutAttempts: number;
  violations: Violation[];
  /** How each batch of the run ended (a lost race may fail a partition: its events are rated later). */
  outcomes?: string[];
}

/** How a batch ended: its status, and for a FAILED batch the error that failed it (the reliability report names causes). */
export function outcomeOf(batch: { status: string; lastError?: { code?: string; message?: string } }): string {
  if (batch.status !== 'FAILED') return batch.status;
  return `FAILED ${batch.lastError?.code ?? '?'}: ${(batch.lastError?.message ?? '').slice(0, 160)}`;
}

/** The statuses a batch ends in, as a list for waitForStatus. */
export const FINISHED = [...FINISHED_STATUSES];

/** Stall settings for a stack started with `taskTimeoutSeconds`: a stalled write lands up to ~1 s after the timeout. */
export function stallFor(taskTimeoutSeconds: number, overrides: Partial<StallOptions> = {}): StallOptions {
  const timeoutMs = taskTimeoutSeconds * 1000;
  return { timeoutMs, maxWritesAfter: 20, maxStallMs: timeoutMs + 1000, ...overrides };
}

/**
 * A RATING batch over every event, a top-up, then a REVERSE_REPLACE batch that reverses a few
 * and replaces each with a corrected event (the later events re-rated as related), with faults
 * on throughout.
 */
export async function correctionRun(stack: LocalStack, options: RunOptions): Promise<RunResult> {
  const size = options.size ?? SMALL_RUN;
  const random = seededRandom(options.seed);
  const violations: Violation[] = [];
  const { subs, events } = await subscriptionsWithEvents(size);
  const ids = events.map((e) => e.eventId);
  const batches: string[] = [];

  const faults = injectFaults(random, options.rates, options.stall);
  try {
    const rating = await newBatch('RATING');
    batches.push(rating);
    // Odd seeds hold the subscriptions whole, by selection; even seeds event by event.
    if (options.seed % 2 === 1) await addSubscriptions(rating, subs, ids.length);
    else await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED'], ['DRAFT']);
    const rated = await drive(rating, 'submit', FINISHED);
    violations.push(...batchOutcome(rated, ids.length));
    // A top-up while attempts that timed out may still be running: only a batch may re-rate with it.
    for (const sub of subs)
      await ok(call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '10' } }));
    // Rated exactly once: an attempt that timed out may still be writing, so wait for it first.
    await stack.idle();
    violations.push(
      ...expectEvents(await getEvents(ids), (e) =>
        e.status === 'RATED' && e.ratingRev === 1 && e.heldBy === undefined ? undefined : 'rated-once',
      ),
    );

    const originals = subs.flatMap((sub) =>
      pick(
        random,
        events.filter((e) => e.subscriptionId === sub),
        size.originalsPerSubscription,
      ),
    );
    const fixOf = (e: (typeof events)[number]) =>
      anEvent({
        subscriptionId: e.subscriptionId,
        eventId: `${e.eventId}-fix`,
        quantity: '1',
        occurredAt: e.occurredAt,
      });
    const rr = await newBatch('REVERSE_REPLACE');
    batches.push(rr);
    const added = await call('POST', `/v1/batches/${rr}/replacements`, {
      body: { replacements: originals.map((e) => ({ originalEventId: e.eventId, events: [fixOf(e)] })) },
    });
    if (added.status !== 200) throw new Error(`replacements: ${JSON.stringify(added.body)}`);
    await drive(rr, 'lock', ['LOCKED'], ['DRAFT']);
    violations.push(...batchOutcome(await drive(rr, 'submit', FINISHED), originals.length));

    faults.stop();
    await stack.idle();
    const reversed = new Set(originals.map((e) => e.eventId));
    const fixes = originals.map((e) => `${e.eventId}-fix`);
    const after = await getEvents([...ids, ...fixes]);
    violations.push(
      ...expectEvents(after, (e) => {
        if (e.heldBy !== undefined) return 'released';
        if (reversed.has(e.eventId)) {
          // Reversed exactly once, in this batch, with exactly its replacement.
          const once =
            e.status === 'REVERSED' &&
            e.reversedBy === rr &&
            e.replacedBy?.length === 1 &&
            e.replacedBy[0] === `${e.eventId}-fix`;
          return once ? undefined : 'reversed-once';
        }
        if (e.replaces !== undefined)
          return e.status === 'RATED' && e.ratingRev === 1 && e.replaces === e.eventId.replace(/-fix$/, '')
            ? undefined
            : 'replacement-rated-once';
        return e.status === 'RATED' ? undefined : 'rated';
      }),
    );
    if (after.length !== ids.length + fixes.length)
      violations.push({ rule: 'replacements-inserted', detail: `${after.length - ids.length} of ${fixes.length}` });
    // What the batches show once every attempt has ended, late ones included.
    violations.push(...batchOutcome((await call('GET', `/v1/batches/${rating}`)).body, ids.length));
    violations.push(...batchOutcome((await call('GET', `/v1/batches/${rr}`)).body, originals.length));
  } catch (error) {
    violations.push({ rule: 'run-completes', detail: error instanceof Error ? error.message : String(error) });
  } finally {
    faults.stop();
    await stack.idle();
  }
  violations.push(...(await checkTable()));
  return {
    seed: options.seed,
    events: ids.length,
    faults: faults.log,
    timedOutAttempts: await timedOutAttempts(stack, batches),
    violations,
  };
}

/**
 * A RATING batch over every event, then a REVERSE_REPLACE batch (a few originals, each replaced by
 * a corrected event), then its undo, with faults on throughout; the undo is asked twice at once
 * with one Idempotency-Key and once more without. Once every attempt has ended, every register,
 * grant and bill line is what it was before the REVERSE_REPLACE, every event it re-rated has the
 * rating it had, each original is restored once by a new event with its rating, and each
 * replacement is reversed once by the undo.
 */
export async function undoRun(stack: LocalStack, options: RunOptions): Promise<RunResult> {
  const size = options.size ?? SMALL_RUN;
  const random = seededRandom(options.seed);
  const violations: Violation[] = [];
  const { subs, events } = await subscriptionsWithEvents(size);
  const ids = events.map((e) => e.eventId);
  const batches: string[] = [];

  const faults = injectFaults(random, options.rates, options.stall);
  try {
    const rating = await newBatch('RATING');
    batches.push(rating);
    await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED'], ['DRAFT']);
    violations.push(...batchOutcome(await drive(rating, 'submit', FINISHED), ids.length));
    await stack.idle();
    const before = await books(subs, ids);

    const originals = subs.flatMap((sub) =>
      pick(
        random,
        events.filter((e) => e.subscriptionId === sub),
        size.originalsPerSubscription,
      ),
    );
    const fixes = originals.map((e) =>
      anEvent({
        subscriptionId: e.subscriptionId,
        eventId: `${e.eventId}-fix`,
        quantity: '1',
        occurredAt: e.occurredAt,
      }),
    );
    const rr = await newBatch('REVERSE_REPLACE');
    batches.push(rr);
    await ok(
      call('POST', `/v1/batches/${rr}/replacements`, {
        body: { replacements: originals.map((e, i) => ({ originalEventId: e.eventId, events: [fixes[i]] })) },
      }),
    );
    await drive(rr, 'lock', ['LOCKED'], ['DRAFT']);
    violations.push(...batchOutcome(await drive(rr, 'submit', FINISHED), originals.length));
    await stack.idle();

    // Twins with one key: one undo, answered alike (or the twin told the first is still running).
    const ask = (headers: Record<string, string> = {}) => call('POST', `/v1/batches/${rr}/undo`, { body: {}, headers });
    const answers = [
      ...(await Promise.all([ask({ 'idempotency-key': `undo-${rr}` }), ask({ 'idempotency-key': `undo-${rr}` })])),
      await ask(),
    ];
    const undos = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.batchId as string));
    const answered = answers.every((a) => a.status === 201 || (a.status === 409 && a.body.code === 'CONFLICT'));
    if (!answered || undos.size !== 1)
      violations.push({
        rule: 'one-undo-per-batch',
        detail: answers.map((a) => `${a.status} ${a.body.code ?? a.body.batchId}`).join(', '),
      });
    const undo = [...undos][0]!;
    batches.push(undo);
    await drive(undo, 'lock', ['LOCKED'], ['DRAFT']);
    const undone = await drive(undo, 'submit', FINISHED);
    if (undone.status !== 'COMPLETED' || undone.counts.errored !== 0)
      violations.push({ rule: 'undo-completed', detail: `${undo}: ${undone.status} ${JSON.stringify(undone.counts)}` });

    faults.stop();
    await stack.idle();
    const after = await books(subs, [...ids, ...fixes.map((f) => f.eventId as string)]);
    for (const sub of subs) {
      for (const part of ['balances', 'billLines'] as const)
        if (JSON.stringify(after[part][sub]) !== JSON.stringify(before[part][sub]))
          violations.push({
            subscriptionId: sub,
            rule: `undo-restores-${part}`,
            detail: JSON.stringify(after[part][sub]),
          });
    }
    const reversed = new Set(originals.map((e) => e.eventId));
    const restoredIds = originals.flatMap(
      (e) => after.events.get(e.eventId)?.replacedBy?.filter((r) => r !== `${e.eventId}-fix`) ?? [],
    );
    const restored = new Map((await getEvents(restoredIds)).map((e) => [e.restores, e]));
    for (const id of ids) {
      const e = after.events.get(id)!;
      const was = before.events.get(id)!;
      if (e.heldBy !== undefined) violations.push({ rule: 'released', detail: id });
      if (!reversed.has(id)) {
        if (rated(e) !== rated(was))
          violations.push({ rule: 'undo-restores-rating', detail: `${id}: ${rated(e)} was ${rated(was)}` });
        continue;
      }
      const copy = restored.get(id);
      const once = e.status === 'REVERSED' && e.replacedBy?.length === 2 && copy !== undefined;
      if (!once || rated(copy) !== rated(was) || copy.heldBy !== undefined || copy.ratingRev !== 1)
        violations.push({ rule: 'restored-once', detail: `${id}: ${copy ? rated(copy) : 'none'} was ${rated(was)}` });
    }
    for (const f of fixes) {
      const e = after.events.get(f.eventId as string);
      if (e?.status !== 'REVERSED' || e.reversedBy !== undo || e.heldBy !== undefined)
        violations.push({
          rule: 'replacement-reversed-once',
          detail: `${f.eventId}: ${e?.status} by ${e?.reversedBy}`,
        });
    }
  } catch (error) {
    violations.push({ rule: 'run-completes', detail: error instanceof Error ? error.message : String(error) });
  } finally {
    faults.stop();
    await stack.idle();
  }
  violations.push(...(await checkTable()));
  return {
    seed: options.seed,
    events: ids.length,
    faults: faults.log,
    timedOutAttempts: await timedOutAttempts(stack, batches),
    violations,
  };
}

/** An event's status and rating as the books see it (not when it was rated). */
const rated = (e: UsageEvent) =>
  JSON.stringify({ status: e.status, ...(e.rating ? { ...e.rating, ratedAt: undefined } : {}) }, (_, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  );

/** Registers, grants and bill lines per subscription (without versions and times), and the events. */
async function books(subs: readonly string[], eventIds: readonly string[]) {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => !['version', 'updatedAt', 'entries', 'createdAt', 'lastEntryAt'].includes(k))
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  const balances: Record<string, unknown> = {};
  const billLines: Record<string, unknown> = {};
  for (const sub of subs) {
    balances[sub] = strip((await ok(call('GET', `/v1/subscriptions/${sub}/balances`))).body);
    billLines[sub] = strip((await ok(call('GET', `/v1/subscriptions/${sub}/bill-lines`))).body);
  }
  return { balances, billLines, events: new Map((await getEvents(eventIds)).map((e) => [e.eventId, e])) };
}

/**
 * Races over overlapping events, with faults on throughout: three RATING batches each ask for a
 * seeded ~60 % of the events, every add sent twice at once with one Idempotency-Key; the batches
 * are locked at once and submitted at once, each action asked twice at once (a racer that won no
 * event is refused its lock and cancelled); then one more batch
 * rates what none of them got (or a failed partition gave back). Each event must end held by no
 * batch and rated once in money, every partition's ratings what a chronological re-rating gives.
 */
export async function racesRun(stack: LocalStack, options: RunOptions): Promise<RunResult> {
  const size = options.size ?? SMALL_RUN;
  const random = seededRandom(options.seed);
  const violations: Violation[] = [];
  const { subs, events } = await subscriptionsWithEvents(size);
  const ids = events.map((e) => e.eventId);
  const batches: string[] = [];
  const outcomes: string[] = [];

  const faults = injectFaults(random, options.rates, options.stall);
  try {
    const racers = [await newBatch('RATING'), await newBatch('RATING'), await newBatch('RATING')];
    batches.push(...racers);
    const asked = new Set<string>();
    const adds = racers.flatMap((batchId) => {
      const wanted = ids.filter(() => random.next() < 0.6);
      for (const id of wanted) asked.add(id);
      return Array.from({ length: Math.ceil(wanted.length / 25) }, (_, k) => {
        const send = () =>
          call('POST', `/v1/batches/${batchId}/events`, {
            body: { eventIds: wanted.slice(k * 25, k * 25 + 25) },
            headers: { 'idempotency-key': `${batchId}-${k}` },
          });
        return [send(), send()];
      }).flat();
    });
    // The twin of a call still running is told so (409 CONFLICT); anything else is an answer.
    for (const res of await Promise.all(adds)) {
      if (res.status !== 200 && !(res.status === 409 && res.body.code === 'CONFLICT'))
        violations.push({ rule: 'add-answers', detail: `${res.status} ${JSON.stringify(res.body)}` });
    }
    violations.push(...(await heldOnce(racers, [...asked])));

    // Two calls at once, never a second execution: the first moves the batch and starts the
    // workflow; its twin is refused (409) or, asked while that start is still pending, answered as
    // the first request is (202 naming the same execution).
    const twice = async (batchId: string, action: 'lock' | 'submit') => {
      const answers = await Promise.all([
        call('POST', `/v1/batches/${batchId}/${action}`),
        call('POST', `/v1/batches/${batchId}/${action}`),
      ]);
      const started = answers.filter((a) => a.status === 202);
      const executions = new Set(started.map((a) => a.body.executionArn));
      const answered = answers.every((a) => a.status === 202 || a.status === 409);
      if (!answered || executions.size !== 1) {
        violations.push({
          rule: 'one-execution-per-action',
          detail: `${action} ${batchId}: ${answers.map((a) => `${a.status} ${a.body.code ?? a.body.executionArn}`).join(', ')}`,
        });
      }
    };
    // A racer that won no event cannot be locked (422 BATCH_EMPTY, both times): it is cancelled.
    const empty = new Set<string>();
    for (const b of racers) {
      const first = await allMembers(b).next();
      if (first.done || first.value.length === 0) empty.add(b);
    }
    const full = racers.filter((b) => !empty.has(b));
    for (const b of empty) {
      const answers = await Promise.all([call('POST', `/v1/batches/${b}/lock`), call('POST', `/v1/batches/${b}/lock`)]);
      if (answers.some((a) => a.status !== 422 || a.body.code !== 'BATCH_EMPTY'))
        violations.push({
          rule: 'empty-batch-refused',
          detail: `lock ${b}: ${answers.map((a) => a.status).join(', ')}`,
        });
      const cancel = await call('POST', `/v1/batches/${b}/cancel`);
      if (cancel.status !== 200 || cancel.body.status !== 'CANCELLED')
        violations.push({
          rule: 'empty-batch-cancelled',
          detail: `cancel ${b}: ${cancel.status} ${JSON.stringify(cancel.body)}`,
        });
    }
    await Promise.all(
      full.map(async (b) => {
        await twice(b, 'lock');
        await drive(b, 'lock', ['LOCKED'], ['DRAFT']);
      }),
    );
    await Promise.all(
      full.map(async (b) => {
        await twice(b, 'submit');
        outcomes.push(outcomeOf(await drive(b, 'submit', FINISHED)));
      }),
    );

    // What no racer got, or a failed partition released: rated by one more batch.
    for (let round = 0; round < 3; round++) {
      const loaded = (await getEvents(ids)).filter((e) => e.status === 'LOADED').map((e) => e.eventId);
      if (loaded.length === 0) break;
      const sweep = await newBatch('RATING');
      batches.push(sweep);
      await addEvents(sweep, loaded);
      await drive(sweep, 'lock', ['LOCKED'], ['DRAFT']);
      outcomes.push(outcomeOf(await drive(sweep, 'submit', FINISHED)));
    }

    faults.stop();
    await stack.idle();
    violations.push(
      ...expectEvents(await getEvents(ids), (e) =>
        e.heldBy !== undefined ? 'released' : e.status !== 'RATED' ? 'rated' : undefined,
      ),
    );
    const now = new Date().toISOString();
    for (const sub of subs) {
      // Rated in time order whoever rated what: re-planning the whole partition changes nothing.
      const plan = await planFor(await requireSubscription(sub), {
        subscriptionId: sub,
        register: 'MINUTES',
        toRate: [],
        from: { occurredAt: '', eventId: '' },
        stepId: 'check',
        actor: 'check',
        now,
      });
      if (plan.changes.length > 0)
        violations.push({
          subscriptionId: sub,
          rule: 'ratings-chronological',
          detail: `${plan.changes.length} event(s) rate differently: ${plan.changes
            .slice(0, 3)
            .map((c) => c.eventId)
            .join(', ')}`,
        });
    }
  } catch (error) {
    violations.push({ rule: 'run-completes', detail: error instanceof Error ? error.message : String(error) });
  } finally {
    faults.stop();
    await stack.idle();
  }
  violations.push(...(await checkTable()));
  return {
    seed: options.seed,
    events: ids.length,
    faults: faults.log,
    timedOutAttempts: await timedOutAttempts(stack, batches),
    violations,
    outcomes,
  };
}

/** Lock → revert cycles before the lock that is submitted: how many reverts a cycles run makes. */
const CYCLES = 2;

/**
 * One RATING batch over every event, locked and reverted CYCLES times, then locked and submitted,
 * with faults on throughout: attempts of an earlier lock or revert that land late must change
 * nothing of the later ones. Every event ends rated once; every partition DONE; the log holds one
 * LOCKED per time the batch was locked, one REVERTED per revert, and one of each submit entry.
 */
export async function cyclesRun(stack: LocalStack, options: RunOptions): Promise<RunResult> {
  const size = options.size ?? SMALL_RUN;
  const random = seededRandom(options.seed);
  const violations: Violation[] = [];
  const { events } = await subscriptionsWithEvents(size);
  const ids = events.map((e) => e.eventId);
  const batches: string[] = [];
  const outcomes: string[] = [];

  const faults = injectFaults(random, options.rates, options.stall);
  try {
    const batchId = await newBatch('RATING');
    batches.push(batchId);
    await addEvents(batchId, ids);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await drive(batchId, 'lock', ['LOCKED'], ['DRAFT']);
      await revertToDraft(batchId);
    }
    await drive(batchId, 'lock', ['LOCKED'], ['DRAFT']);
    const submitted = await drive(batchId, 'submit', FINISHED);
    outcomes.push(outcomeOf(submitted));
    violations.push(...batchOutcome(submitted, ids.length));

    faults.stop();
    await stack.idle();
    violations.push(
      ...expectEvents(await getEvents(ids), (e) =>
        e.status === 'RATED' && e.ratingRev === 1 && e.heldBy === undefined ? undefined : 'rated-once',
      ),
    );
    violations.push(...batchOutcome((await call('GET', `/v1/batches/${batchId}`)).body, ids.length));
    for (const p of await listPartitions(batchId))
      if (p.state !== 'DONE')
        violations.push({ rule: 'partitions-done', detail: `${p.subscriptionId}#${p.register}: ${p.state}` });
    const log = await logActions(batchId);
    const count = (action: string) => log.filter((a) => a === action).length;
    for (const [action, expected] of [
      ['LOCKED', CYCLES + 1],
      ['REVERTED', CYCLES],
      ['SUBMIT_STARTED', 1],
      ['COMPLETED', 1],
    ] as const)
      if (count(action) !== expected)
        violations.push({ rule: 'one-entry-per-transition', detail: `${action}: ${count(action)} of ${expected}` });
    // A lock that failed back to DRAFT may have started; none starts twice.
    if (count('LOCK_STARTED') < count('LOCKED') || count('LOCK_STARTED') > count('LOCKED') + count('LOCK_FAILED'))
      violations.push({
        rule: 'one-entry-per-transition',
        detail: `LOCK_STARTED: ${count('LOCK_STARTED')} for ${count('LOCKED')} LOCKED, ${count('LOCK_FAILED')} LOCK_FAILED`,
      });
  } catch (error) {
    violations.push({ rule: 'run-completes', detail: error instanceof Error ? error.message : String(error) });
  } finally {
    faults.stop();
    await stack.idle();
  }
  violations.push(...(await checkTable()));
  return {
    seed: options.seed,
    events: ids.length,
    faults: faults.log,
    timedOutAttempts: await timedOutAttempts(stack, batches),
    violations,
    outcomes,
  };
}

/**
 * A cancel sent at once with the lock of a DRAFT batch, with faults on: one of them wins (never
 * both), the other is refused; the batch is then cancelled whatever state the race left it in
 * (a LOCKED batch is reverted and ends CANCELLED). Every event ends released and untouched, the
 * log holds one CANCEL, and a new batch then rates every event once.
 */
export async function cancelRaceRun(stack: LocalStack, options: RunOptions): Promise<RunResult> {
  const size = options.size ?? SMALL_RUN;
  const random = seededRandom(options.seed);
  const violations: Violation[] = [];
  const { subs, events } = await subscriptionsWithEvents(size);
  const ids = events.map((e) => e.eventId);
  const batches: string[] = [];
  const outcomes: string[] = [];

  const faults = injectFaults(random, options.rates, options.stall);
  try {
    const batchId = await newBatch('RATING');
    batches.push(batchId);
    // Odd seeds hold the subscriptions whole, by selection: the cancel lets the claims go.
    if (options.seed % 2 === 1) await addSubscriptions(batchId, subs, ids.length);
    else await addEvents(batchId, ids);
    const [lock, cancel] = await Promise.all([
      call('POST', `/v1/batches/${batchId}/lock`),
      call('POST', `/v1/batches/${batchId}/cancel`),
    ]);
    const answered = [202, 409].includes(lock.status) && [200, 202, 409].includes(cancel.status);
    if (!answered || (lock.status === 202 && cancel.status !== 409) || (lock.status === 409 && cancel.status !== 200))
      violations.push({
        rule: 'one-of-lock-and-cancel',
        detail: `lock ${lock.status} ${lock.body.code ?? ''}, cancel ${cancel.status} ${cancel.body.code ?? cancel.body.status ?? ''}`,
      });
    // Cancel it whatever the race left: as an operator would, asking again until it is CANCELLED.
    for (let attempt = 0; attempt < 8; attempt++) {
      const batch = await settled(batchId);
      if (batch.status === 'CANCELLED') break;
      // A revert (of a cancel) that failed is asked again; it ends DRAFT, and DRAFT is cancelled at once.
      await call('POST', `/v1/batches/${batchId}/${batch.status === 'REVERTING' ? 'revert' : 'cancel'}`);
    }
    const cancelled = await settled(batchId);
    outcomes.push(cancelled.status);
    // A cancel whose release died (its retries spent) is finished by asking again, as documented.
    if (cancelled.lastError) {
      outcomes.push('CANCEL_ASKED_AGAIN');
      await call('POST', `/v1/batches/${batchId}/cancel`);
    }
    if (cancelled.status !== 'CANCELLED')
      violations.push({ rule: 'batch-cancelled', detail: `${batchId}: ${cancelled.status}` });

    faults.stop();
    await stack.idle();
    violations.push(
      ...expectEvents(await getEvents(ids), (e) =>
        e.heldBy === undefined && e.status === 'LOADED' && e.ratingRev === 0 ? undefined : 'released-untouched',
      ),
    );
    // The move to CANCELLED logs once ("cancelled…"); asking for a cancel of a LOCKED batch logs its request too.
    const cancels = (await logEntries(batchId)).filter(
      (e) => e.action === 'CANCEL' && e.message.startsWith('cancelled'),
    );
    if (cancels.length !== 1)
      violations.push({ rule: 'one-entry-per-transition', detail: `CANCEL (cancelled): ${cancels.length} of 1` });
    if ((await listPartitions(batchId)).length > 0)
      violations.push({ rule: 'cancelled-holds-nothing', detail: `${batchId}: partitions left` });

    // Nothing of the cancelled batch is left in the way: a new batch rates every event once.
    const rating = await newBatch('RATING');
    batches.push(rating);
    // Odd seeds hold the subscriptions whole, by selection; even seeds event by event.
    if (options.seed % 2 === 1) await addSubscriptions(rating, subs, ids.length);
    else await addEvents(rating, ids);
    await drive(rating, 'lock', ['LOCKED'], ['DRAFT']);
    const rated = await drive(rating, 'submit', FINISHED);
    outcomes.push(outcomeOf(rated));
    violations.push(...batchOutcome(rated, ids.length));
    violations.push(
      ...expectEvents(await getEvents(ids), (e) =>
        e.status === 'RATED' && e.ratingRev === 1 && e.heldBy === undefined ? undefined : 'rated-once',
      ),
    );
  } catch (error) {
    violations.push({ rule: 'run-completes', detail: error instanceof Error ? error.message : String(error) });
  } finally {
    faults.stop();
    await stack.idle();
  }
  violations.push(...(await checkTable()));
  return {
    seed: options.seed,
    events: ids.length,
    faults: faults.log,
    timedOutAttempts: await timedOutAttempts(stack, batches),
    violations,
    outcomes,
  };
}

/** Reverts a LOCKED batch to DRAFT, asking again (as an operator would) when a revert failed. */
async function revertToDraft(batchId: string): Promise<void> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const res = await call('POST', `/v1/batches/${batchId}/revert`);
    if (res.status !== 202 && res.status !== 409) throw new Error(`revert ${batchId}: ${JSON.stringify(res.body)}`);
    if ((await settled(batchId)).status === 'DRAFT') return;
  }
  throw new Error(`batch ${batchId} never reverted to DRAFT`);
}

/** The batch once no workflow of it runs: a REVERTING batch with a lastError is a revert that failed. */
async function settled(batchId: string): Promise<any> {
  return eventually(
    `batch ${batchId} to settle`,
    async () => {
      const batch = (await call('GET', `/v1/batches/${batchId}`)).body;
      const failedRevert = batch.status === 'REVERTING' && batch.lastError !== undefined;
      return ['DRAFT', 'LOCKED', 'CANCELLED', ...FINISHED].includes(batch.status) || failedRevert ? batch : undefined;
    },
    60_000,
  );
}

async function logActions(batchId: string): Promise<string[]> {
  return (await logEntries(batchId)).map((e) => e.action);
}

async function logEntries(batchId: string): Promise<Array<{ action: string; message: string }>> {
  const entries: Array<{ action: string; message: string }> = [];
  let cursor: string | undefined;
  do {
    const res = await call(
      'GET',
      `/v1/batches/${batchId}/log?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    entries.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return entries;
}

/** Every asked-for event is a member of exactly one of the batches, and held by it. */
async function heldOnce(batchIds: readonly string[], asked: readonly string[]): Promise<Violation[]> {
  const memberOf = new Map<string, string[]>();
  for (const batchId of batchIds) {
    for await (const page of allMembers(batchId))
      for (const m of page) memberOf.set(m.eventId, [...(memberOf.get(m.eventId) ?? []), batchId]);
  }
  const held = new Map((await getEvents(asked)).map((e) => [e.eventId, e.heldBy]));
  return asked.flatMap((id) => {
    const of = memberOf.get(id) ?? [];
    if (of.length !== 1) return [{ rule: 'held-by-one-batch', detail: `${id}: member of ${of.length} batches` }];
    return held.get(id) === of[0]
      ? []
      : [{ rule: 'held-as-member', detail: `${id}: member of ${of[0]}, held by ${held.get(id) ?? 'none'}` }];
  });
}

/** `size.subscriptions` subscriptions with less allowance than their events' usage, and the events (LOADED). */
export async function subscriptionsWithEvents(size: Omit<RunSize, 'originalsPerSubscription'>) {
  const subs = Array.from({ length: size.subscriptions }, () => uniqueId('sub'));
  const events = subs.flatMap((sub) =>
    // Every 13 hours: the events of a larger run span two bill periods.
    Array.from({ length: size.eventsPerSubscription }, (_, i) =>
      anEvent({
        subscriptionId: sub,
        quantity: String(3 + (i % 9)),
        occurredAt: new Date(Date.UTC(2026, 2, 1, 8 + 13 * i)).toISOString().replace('.000Z', 'Z'),
      }),
    ),
  ) as Array<ReturnType<typeof anEvent> & { eventId: string; subscriptionId: string; occurredAt: string }>;
  for (const sub of subs) {
    await ok(call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() }));
    // Less allowance than the usage: later events run into overage, so re-rating moves money.
    await ok(
      call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
        body: { amount: String(6 * size.eventsPerSubscription) },
      }),
    );
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await ok(call('POST', '/v1/usage-events', { body: { events: events.slice(i, i + 500) } }));
    if (res.body.accepted !== Math.min(500, events.length - i)) throw new Error(`ingest: ${JSON.stringify(res.body)}`);
  }
  return { subs, events };
}

export async function newBatch(type: string): Promise<string> {
  return (await ok(call('POST', '/v1/batches', { body: { type } }))).body.batchId;
}

export async function addEvents(batchId: string, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const res = await ok(call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds: ids.slice(i, i + 1000) } }));
    if (res.body.rejected.length > 0) throw new Error(`add: ${JSON.stringify(res.body.rejected.slice(0, 3))}`);
  }
}

/** Adds every event of the subscriptions by criteria (each partition held whole), page by page. */
export async function addSubscriptions(batchId: string, subs: readonly string[], expected: number): Promise<void> {
  let added = 0;
  for (let i = 0; i < subs.length; i += 100) {
    let cursor: string | undefined;
    do {
      const body = { criteria: { subscriptionIds: subs.slice(i, i + 100) }, ...(cursor ? { cursor } : {}) };
      const res = await ok(call('POST', `/v1/batches/${batchId}/events`, { body }));
      if (res.body.rejected.length > 0) throw new Error(`add: ${JSON.stringify(res.body.rejected.slice(0, 3))}`);
      added += res.body.added;
      cursor = res.body.nextCursor;
    } while (cursor);
  }
  if (added !== expected) throw new Error(`add by criteria: ${added} of ${expected} events added`);
}

async function ok<T extends { status: number; body: any }>(response: Promise<T>): Promise<T> {
  const res = await response;
  if (res.status >= 300) throw new Error(`${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

/** The batch ended COMPLETED with every member counted as processed, none errored. */
function batchOutcome(batch: any, members: number): Violation[] {
  const { status, counts, batchId } = batch;
  if (status === 'COMPLETED' && counts.events === members && counts.processed >= members && counts.errored === 0)
    return [];
  return [
    {
      rule: 'batch-completed',
      detail: `${batchId}: ${status} ${JSON.stringify(counts)} (${members} members)${batch.lastError ? ` ${JSON.stringify(batch.lastError)}` : ''}`,
    },
  ];
}

/** One violation per event `rule` names (undefined: the event is as it should be). */
function expectEvents(events: UsageEvent[], rule: (e: UsageEvent) => string | undefined): Violation[] {
  return events.flatMap((e) => {
    const broken = rule(e);
    return broken
      ? [
          {
            subscriptionId: e.subscriptionId,
            rule: broken,
            detail: `${e.eventId}: ${e.status} rev ${e.ratingRev}${e.heldBy ? ` held by ${e.heldBy}` : ''}${e.reversedBy ? ` reversed by ${e.reversedBy}` : ''}`,
          },
        ]
      : [];
  });
}

/** `n` distinct items, seeded. */
function pick<T>(random: SeededRandom, items: readonly T[], n: number): T[] {
  return random.shuffle([...items]).slice(0, n);
}

/** Attempts the runner gave up on with States.Timeout, over every execution of these batches. */
export async function timedOutAttempts(stack: LocalStack, batchIds: readonly string[]): Promise<number> {
  let count = 0;
  for (const stateMachineArn of Object.values(stack.stateMachineArns)) {
    let nextToken: string | undefined;
    do {
      const page = await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, nextToken }));
      // Executions are named <batchId>-<action>-v<version>.
      for (const e of (page.executions ?? []).filter((x) => batchIds.some((b) => x.name?.startsWith(`${b}-`)))) {
        let historyToken: string | undefined;
        do {
          const history = await clients.sfn.send(
            new GetExecutionHistoryCommand({ executionArn: e.executionArn, maxResults: 1000, nextToken: historyToken }),
          );
          count += (history.events ?? []).filter((h) => h.type === 'LambdaFunctionTimedOut').length;
          historyToken = history.nextToken;
        } while (historyToken);
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return count;
}
