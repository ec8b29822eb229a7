// End to end on the local stack: events are rated (RATING), re-rated after a top-up (RERATE),
// then each reversed and replaced (REVERSE_REPLACE), every batch added, locked and submitted on
// the real ASL and handlers. The figures are for the whole batch (add + lock + submit); lock +
// submit alone are kept beside them.
//
// Four passes, each on a fresh stack:
// - metered, at the small size: every DynamoDB call is sized and priced as AWS would bill it
//   (capacity.ts; the meter reads each written item back, so this pass is not timed);
// - timed at the small size and at the large size: the scaling ratio, and the large figures;
// - skewed, timed at the large size: half of the events in one subscription (one long
//   partition), the other half spread over the rest;
// - the write bound, in the large pass's stack before and after its batches: BatchWrite of
//   event-sized items at 16 in flight, against which our throughput is set (via our write
//   units per event). All handlers share this one Node process, while in AWS each Lambda has its
//   own CPU: `nodeCpuShare` near 1 says the process, not DynamoDB Local, was the limit.
// Each acceptance figure of the data-model work is printed as a line of its own, its ratios
// taken within this one run.
//
// Sizes: BENCH_EVENTS (default 100,000) over BENCH_SUBSCRIPTIONS (default 1,000); the small
// size is a tenth of both; BENCH_SKEWED=0 leaves the skewed pass out. --smoke: a metered pass and a metered skewed pass of 300 events over
// 10 subscriptions.
import { randomUUID } from 'node:crypto';
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Benchmark, Measurement } from './benchmark';
import { meterCapacity, type Capacity } from './capacity';
import { costPerMillion, PRICES } from './prices';
import { invocationTally } from '../../infra/local/lambda';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { taskFunctions } from '../../functions/workflow/workflows';
import { clients } from '../../shared/store/clients';
import { mapLimit } from '../../shared/store/concurrency';
import { putSubscription } from '../../shared/services/subscriptions';
import { addGrant } from '../../shared/store/balances';
import { ingestEvents } from '../../shared/services/ingest-events';
import { addByCriteria, addReplacementsToBatch, openBatch } from '../../shared/services/batches';
import { requestAction } from '../../shared/services/batch-actions';
import { requireBatch } from '../../shared/store/batches';
import { SubscriptionInput } from '../../shared/domain/subscription';
import { BatchInput, type BatchType } from '../../shared/domain/batch';

const ACTOR = 'bench';
const at = () => new Date().toISOString();
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Waits for the batch to reach one of `statuses`; gives up when its workflow ended without getting it there. */
async function waitFor(batchId: string, executionArn: string, statuses: string[]): Promise<void> {
  for (let polls = 0; ; polls++) {
    const b = await requireBatch(batchId);
    if (statuses.includes(b.status)) {
      if (b.status === 'FAILED' || (statuses.includes('LOCKED') && b.status !== 'LOCKED'))
        throw new Error(`batch ${batchId} ended ${b.status}: ${JSON.stringify(b.lastError)}`);
      return;
    }
    if (polls % 50 === 49) {
      const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING')
        throw new Error(
          `batch ${batchId} is ${b.status} after its workflow ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
        );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * State transitions and Lambda invocations, from an execution's history; and its seconds before
 * its Map of partition shards, in it and after it (which step of a workflow grows with the batch).
 */
async function historyOf(
  executionArn: string,
): Promise<{ transitions: number; invocations: number; steps: { beforeMap: number; map: number; afterMap: number } }> {
  let transitions = 0;
  let invocations = 0;
  let first: number | undefined;
  let last = 0;
  let mapEntered: number | undefined;
  let mapExited: number | undefined;
  let nextToken: string | undefined;
  do {
    const page = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
    for (const e of page.events ?? []) {
      const t = e.timestamp?.getTime() ?? last;
      first ??= t;
      last = t;
      if (e.type?.endsWith('StateEntered')) transitions++;
      if (e.type === 'TaskScheduled' || e.type === 'LambdaFunctionScheduled') invocations++;
      if (e.type === 'MapStateEntered') mapEntered ??= t;
      if (e.type === 'MapStateExited') mapExited = t;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  const start = first ?? 0;
  const inMap = mapEntered ?? last;
  const outOfMap = mapExited ?? inMap;
  return {
    transitions,
    invocations,
    steps: {
      beforeMap: round((inMap - start) / 1000),
      map: round((outOfMap - inMap) / 1000),
      afterMap: round((last - outOfMap) / 1000),
    },
  };
}

/** Summed duration of the workflow tasks' invocations so far (the local Lambda runner's tally). */
const taskSeconds = () =>
  Object.keys(taskFunctions).reduce((s, name) => s + (invocationTally.get(name)?.seconds ?? 0), 0);

/** Each workflow task's invocations, summed seconds and longest invocation so far. */
const taskTally = () =>
  new Map(
    Object.keys(taskFunctions).map((name) => [
      name,
      { ...(invocationTally.get(name) ?? { count: 0, seconds: 0, longest: 0 }) },
    ]),
  );

/** Starts each task's longest invocation afresh: from then on it is the longest since. */
function restartLongest(): void {
  for (const [name, tally] of invocationTally) invocationTally.set(name, { ...tally, longest: 0 });
}

/** What each task did between two tallies: its invocations, their summed seconds and the longest one. */
function tasksBetween(before: ReturnType<typeof taskTally>, after: ReturnType<typeof taskTally>) {
  const out: Record<string, { invocations: number; seconds: number; longestSeconds: number }> = {};
  for (const [name, a] of after) {
    const b = before.get(name)!;
    if (a.count > b.count)
      out[name] = {
        invocations: a.count - b.count,
        seconds: round(a.seconds - b.seconds),
        longestSeconds: round(a.longest),
      };
  }
  return out;
}

interface Phase {
  seconds: number;
  /** Write units by kind of item (capacity.ts), when metered. */
  writeByKind: Record<string, number>;
  /** Read units by call and kind of item (capacity.ts), when metered. */
  readByKind: Record<string, number>;
  /** CPU seconds of this process (every handler runs in it) over wall seconds. */
  cpuShare: number;
  write: number;
  read: number;
}

/** What each kind counts now beyond what it counted `before` (kinds that grew only). */
const sinceBefore = (now: Record<string, number> | undefined, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(now ?? {})
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );

/** Runs `work`, timing it and taking the capacity it used (when metered). */
async function phase(capacity: Capacity | undefined, work: () => Promise<void>): Promise<Phase> {
  const before = capacity
    ? {
        write: capacity.write,
        read: capacity.read,
        byKind: { ...capacity.writeByKind },
        readByKind: { ...capacity.readByKind },
      }
    : { write: 0, read: 0, byKind: {} as Record<string, number>, readByKind: {} as Record<string, number> };
  const start = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const writeByKind = sinceBefore(capacity?.writeByKind, before.byKind);
  const readByKind = sinceBefore(capacity?.readByKind, before.readByKind);
  return {
    seconds,
    writeByKind,
    readByKind,
    cpuShare: (used.user + used.system) / 1e6 / seconds,
    write: capacity ? capacity.write - before.write : NaN,
    read: capacity ? capacity.read - before.read : NaN,
  };
}

interface World {
  subs: string[];
  events: Array<{ eventId: string; subscriptionId: string; productId: string; quantity: string; occurredAt: string }>;
}

/** Adds to a batch what the scenario corrects: every event (RATING, RERATE), or every event with a replacement. */
async function fill(batchId: string, type: BatchType, world: World): Promise<{ calls: number; callSeconds: number }> {
  let calls = 0;
  let callSeconds = 0;
  // Each call is what one API request would do: its duration is what the API Lambda bills.
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      calls++;
      callSeconds += (performance.now() - start) / 1000;
    }
  };
  if (type === 'REVERSE_REPLACE') {
    // A hundred subscriptions at a time, as the criteria below: each request then brings the same
    // number of originals of each partition (5 of each of 100) at every size. In plain event order
    // a request at 1,000 subscriptions brought 1 original of each of 500, and an add's work has a
    // part per partition and request: the large pass measured other requests than the small one.
    const block = new Map(world.subs.map((s, i) => [s, Math.floor(i / 100)]));
    const inBlocks = [...world.events].sort((a, b) => block.get(a.subscriptionId)! - block.get(b.subscriptionId)!);
    const pages = Array.from({ length: Math.ceil(inBlocks.length / 500) }, (_, p) =>
      inBlocks.slice(p * 500, p * 500 + 500),
    );
    await mapLimit(pages, 2, async (page) => {
      const res = await timed(() =>
        addReplacementsToBatch(
          batchId,
          page.map((e) => ({
            originalEventId: e.eventId,
            events: [{ ...e, eventId: `${e.eventId}-r`, quantity: String(Number(e.quantity) + 1) }],
          })),
          ACTOR,
          at(),
        ),
      );
      if (res.rejected.length > 0)
        throw new Error(`replacements rejected: ${JSON.stringify(res.rejected.slice(0, 3))}`);
    });
    return { calls, callSeconds };
  }
  for (let i = 0; i < world.subs.length; i += 100) {
    let cursor: string | undefined;
    do {
      const page = await timed(() =>
        addByCriteria(batchId, { subscriptionIds: world.subs.slice(i, i + 100) }, ACTOR, at(), cursor),
      );
      cursor = page.nextCursor;
    } while (cursor);
  }
  return { calls, callSeconds };
}

async function runBatch(type: BatchType, world: World, capacity: Capacity | undefined) {
  const batchId = (await openBatch(BatchInput.parse({ type }), ACTOR, at())).batchId;
  let api = { calls: 0, callSeconds: 0 };
  const add = await phase(capacity, async () => void (api = await fill(batchId, type, world)));
  const tasksBefore = taskSeconds();
  restartLongest();
  const tallyBefore = taskTally();
  let lockArn = '';
  let submitArn = '';
  const lock = await phase(capacity, async () => {
    lockArn = (await requestAction('lock', batchId, ACTOR, at())).executionArn;
    await waitFor(batchId, lockArn, ['LOCKED', 'DRAFT']);
  });
  const submit = await phase(capacity, async () => {
    submitArn = (await requestAction('submit', batchId, ACTOR, at())).executionArn;
    await waitFor(batchId, submitArn, ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
  });
  const done = await requireBatch(batchId);
  if (done.status !== 'COMPLETED') throw new Error(`${type} batch ended ${done.status}`);
  const events = done.counts.events;
  const h = [await historyOf(lockArn), await historyOf(submitArn)];
  const sum = (k: 'transitions' | 'invocations') => h.reduce((s, x) => s + x[k], 0);
  const tasks = taskSeconds() - tasksBefore;
  const byTask = tasksBetween(tallyBefore, taskTally());
  const lockAndSubmit = lock.seconds + submit.seconds;
  const whole = add.seconds + lockAndSubmit;
  const perEventByPhase = (kind: 'writeByKind' | 'readByKind') =>
    Object.fromEntries(
      (['add', 'lock', 'submit'] as const).map((name) => [
        name,
        Object.fromEntries(
          Object.entries({ add, lock, submit }[name][kind]).map(([k, v]) => [k, round(v / events, 3)]),
        ),
      ]),
    );
  return {
    type,
    status: done.status,
    events,
    related: done.counts.related,
    processed: done.counts.processed,
    addSeconds: round(add.seconds),
    lockSeconds: round(lock.seconds),
    submitSeconds: round(submit.seconds),
    lockAndSubmitSeconds: round(lockAndSubmit),
    eventsPerSecond: Math.round(events / lockAndSubmit),
    // The whole batch: adding its events, locking and submitting it.
    wholeSeconds: round(whole),
    wholeEventsPerSecond: Math.round(events / whole),
    // Near 1: the one Node process running every handler was the bottleneck, not DynamoDB Local.
    nodeCpuShare: round((lock.cpuShare * lock.seconds + submit.cpuShare * submit.seconds) / lockAndSubmit),
    units: capacity
      ? {
          addWritePerEvent: round(add.write / events),
          addReadPerEvent: round(add.read / events),
          lockAndSubmitWritePerEvent: round((lock.write + submit.write) / events),
          writePerEvent: round((add.write + lock.write + submit.write) / events),
          readPerEvent: round((add.read + lock.read + submit.read) / events),
          // Where the writes go, per event: by phase and kind of item (`index`: index entries).
          writePerEventByKind: perEventByPhase('writeByKind'),
          // Where the reads go, per event: by phase, call and kind of item.
          readPerEventByKind: perEventByPhase('readByKind'),
        }
      : undefined,
    // Lock's and submit's seconds before, in and after their Map of shards.
    lockSteps: h[0]!.steps,
    submitSteps: h[1]!.steps,
    stateTransitions: sum('transitions'),
    lambdaInvocations: sum('invocations'),
    stateTransitionsPerEvent: round(sum('transitions') / events, 5),
    lambdaInvocationsPerEvent: round(sum('invocations') / events, 5),
    taskSecondsPerEvent: round(tasks / events, 6),
    // By task: FinishSubmit, for one, settles the members a page at a time from a cursor.
    tasks: byTask,
    apiCallsPerEvent: round(api.calls / events, 5),
    apiSecondsPerEvent: round(api.callSeconds / events, 6),
  };
}

/**
 * Which subscription each event belongs to: round robin over all of them (uniform), or, skewed,
 * every other event to the first subscription (one long partition) and the rest round robin
 * over the others.
 */
function ownerOf(i: number, subscriptions: number, skewed: boolean): number {
  if (!skewed || subscriptions < 2) return i % subscriptions;
  return i % 2 === 0 ? 0 : 1 + (((i - 1) / 2) % (subscriptions - 1));
}

async function build(
  total: number,
  subscriptions: number,
  skewed: boolean,
  capacity: Capacity | undefined,
): Promise<World & { ingestSeconds: number; ingestWrite?: number }> {
  const now = at();
  const subs = Array.from({ length: subscriptions }, (_, i) => `bench-sub-${i}`);
  const plan = SubscriptionInput.parse({
    accountId: 'bench',
    startDate: '2026-01-01',
    currency: 'USD',
    products: { voice: { register: 'MINUTES', unitPrice: '0.05' } },
  });
  await mapLimit(subs, 16, async (s) => {
    await putSubscription(s, plan, now);
    await addGrant(
      {
        subscriptionId: s,
        register: 'MINUTES',
        grantId: `g-${s}`,
        amount: 1000n * 1_000_000n,
        validFrom: '2026-01-01T00:00:00.000Z',
      },
      ACTOR,
      now,
    );
  });
  const owners = Array.from({ length: total }, (_, i) => ownerOf(i, subscriptions, skewed));
  const perSub = new Array<number>(subscriptions).fill(0);
  for (const s of owners) perSub[s]!++;
  const seen = new Array<number>(subscriptions).fill(0);
  // Each subscription's events spread evenly over March.
  const events = owners.map((s, i) => {
    const k = seen[s]!++;
    const t = new Date(Date.UTC(2026, 2, 1) + Math.floor((k * 28 * 86_400_000) / perSub[s]!)).toISOString();
    return {
      eventId: `bench-${s}-${k}`,
      subscriptionId: subs[s]!,
      productId: 'voice',
      quantity: String(1 + (i % 13)),
      occurredAt: t,
    };
  });
  const chunks = Array.from({ length: Math.ceil(total / 500) }, (_, c) => events.slice(c * 500, c * 500 + 500));
  const start = performance.now();
  const writtenBefore = capacity?.write ?? 0;
  await mapLimit(chunks, 4, (chunk) => ingestEvents(chunk, now));
  return {
    subs,
    events,
    ingestSeconds: round((performance.now() - start) / 1000),
    ...(capacity ? { ingestWrite: capacity.write - writtenBefore } : {}),
  };
}

/** The scenario on a fresh stack: RATING, a top-up, RERATE, REVERSE_REPLACE. */
async function pass(
  total: number,
  subscriptions: number,
  options: { metered: boolean; skewed?: boolean; bound?: number; dynamoEndpoint?: string },
) {
  const stack: LocalStack = await startLocalStack({
    inMemory: true,
    tableName: `bench-${randomUUID().slice(0, 8)}`,
    ...(options.dynamoEndpoint ? { dynamoEndpoint: options.dynamoEndpoint } : {}),
  });
  const meter = options.metered
    ? meterCapacity(clients.dynamo, {
        endpoint: stack.dynamoEndpoint,
        region: stack.region,
        tableName: stack.tableName,
      })
    : undefined;
  try {
    const world = await build(total, subscriptions, options.skewed ?? false, meter?.capacity);
    // The write forms (the bound among them) are timed before and after the batches: the machine's
    // load may change between.
    const formsBefore = options.bound ? await writeForms(options.bound, 'before') : undefined;
    const rating = await runBatch('RATING', world, meter?.capacity);
    await mapLimit(world.subs, 16, (s) =>
      addGrant(
        {
          subscriptionId: s,
          register: 'MINUTES',
          grantId: `top-${s}`,
          amount: 500n * 1_000_000n,
          validFrom: '2026-01-01T00:00:00.000Z',
        },
        ACTOR,
        at(),
      ),
    );
    const rerate = await runBatch('RERATE', world, meter?.capacity);
    const reverseReplace = await runBatch('REVERSE_REPLACE', world, meter?.capacity);
    const formsAfter = options.bound ? await writeForms(options.bound, 'after') : undefined;
    // Each form's rate is the mean of before and after; both are kept.
    const measured = formsBefore && formsAfter ? { before: formsBefore, after: formsAfter } : undefined;
    const mean = (m: NonNullable<typeof measured>, form: keyof WriteForms) =>
      Math.round((m.before[form] + m.after[form]) / 2);
    const bound = measured && {
      writeUnitsPerSecond: mean(measured, 'batchWrite'),
      before: measured.before.batchWrite,
      after: measured.after.batchWrite,
    };
    const guarded = measured && {
      conditionalPutsPerSecond: mean(measured, 'conditionalPut'),
      transactionItemsPerSecond: mean(measured, 'transactionItem'),
      before: measured.before,
      after: measured.after,
    };
    return {
      events: total,
      subscriptions,
      ingestSeconds: world.ingestSeconds,
      // Write units per event of plain ingest (when metered): its conditional put and index entries.
      ingestWritePerEvent: world.ingestWrite === undefined ? undefined : round(world.ingestWrite / total),
      rating,
      rerate,
      reverseReplace,
      bound,
      guarded,
      dynamoLocalReported: meter ? meter.capacity.reported : undefined,
    };
  } finally {
    meter?.stop();
    await stack.stop();
  }
}

/** Items per second of each write form, at 16 requests in flight. */
interface WriteForms {
  /** The raw write bound: BatchWrite of 25, no condition (each item one write unit). */
  batchWrite: number;
  /** A conditional put per request. */
  conditionalPut: number;
  /** Transactions of 25 conditional puts (each item two write units). */
  transactionItem: number;
}

/**
 * The bound and, beside it on the same stack, the guarded forms (a quarter of the items each).
 * Every write our guarantees need is a conditional single-item write or a transaction (BatchWrite
 * carries no condition), so the guarded forms' rates over the bound's are what a data model of
 * guarded writes alone, with no read and no workflow step, could reach.
 */
async function writeForms(items: number, tag: string): Promise<WriteForms> {
  const payload = 'x'.repeat(600); // an event item is about 0.8 KB: one write unit, as each of these
  // The bound's items keep a partition each, as in every earlier run; the guarded forms' share 64.
  const item = (form: string, i: number) =>
    form === 'B'
      ? { PK: `BOUND#${tag}#${i}`, SK: 'B', payload }
      : { PK: `GUARD#${tag}#${form}#${i % 64}`, SK: `E#${i}`, payload };
  const guarded = (form: string, i: number) => ({
    TableName: clients.tableName,
    Item: item(form, i),
    ConditionExpression: 'attribute_not_exists(PK)',
  });
  const rate = async (count: number, groupSize: number, write: (from: number) => Promise<unknown>) => {
    const start = performance.now();
    await mapLimit(
      Array.from({ length: Math.ceil(count / groupSize) }, (_, g) => g * groupSize),
      16,
      write,
    );
    return Math.round(count / ((performance.now() - start) / 1000));
  };
  const batchWrite = await rate(items, 25, async (from) => {
    let request: Record<string, unknown[]> | undefined = {
      [clients.tableName]: Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: item('B', from + i) } })),
    };
    while (request && Object.keys(request).length) {
      const res = await clients.dynamo.send(new BatchWriteCommand({ RequestItems: request as never }));
      request = res.UnprocessedItems as typeof request;
    }
  });
  const conditionalPut = await rate(items / 4, 1, (i) => clients.dynamo.send(new PutCommand(guarded('P', i))));
  const transactionItem = await rate(items / 4, 25, (from) =>
    clients.dynamo.send(
      new TransactWriteCommand({
        TransactItems: Array.from({ length: 25 }, (_, i) => ({ Put: guarded('T', from + i) })),
      }),
    ),
  );
  return { batchWrite, conditionalPut, transactionItem };
}

const KEYS = ['rating', 'rerate', 'reverseReplace'] as const;
type Key = (typeof KEYS)[number];
const TYPE_OF: Record<Key, BatchType> = { rating: 'RATING', rerate: 'RERATE', reverseReplace: 'REVERSE_REPLACE' };

/** One acceptance figure: what it is, its value, its target, and whether the value meets it. */
export interface Acceptance {
  figure: string;
  value: number | undefined;
  /** How the value prints, e.g. `$5.63` or `0.21`. */
  shown: string;
  target: string;
  met: boolean | undefined;
}

const grouped = (n: number) => n.toLocaleString('en-US');

/** `figure: value (target …) met`, `not met`, or `not measured` when the run did not take it. */
export const acceptanceLine = (a: Acceptance) =>
  `${a.figure}: ${a.shown} (target ${a.target}) ${a.met === undefined ? 'not measured' : a.met ? 'met' : 'not met'}`;

function accept(
  figure: string,
  value: number | undefined,
  target: { max?: number; min?: number },
  format: (n: number) => string = String,
): Acceptance {
  const bound = target.max ?? target.min!;
  const met =
    value === undefined || !Number.isFinite(value)
      ? undefined
      : target.max !== undefined
        ? value <= target.max
        : value >= target.min!;
  return {
    figure,
    value,
    shown: value === undefined ? 'n/a' : format(value),
    target: `${target.max !== undefined ? '≤' : '≥'} ${format(bound)}`,
    met,
  };
}

/** The benchmark; `dynamoEndpoint` runs it on a DynamoDB Local already running (the smoke test's). */
export async function runBatchE2e({
  smoke,
  dynamoEndpoint,
}: {
  smoke: boolean;
  dynamoEndpoint?: string;
}): Promise<Measurement> {
  const large = smoke ? 300 : Number(process.env.BENCH_EVENTS ?? 100_000);
  const largeSubs = smoke ? 10 : Number(process.env.BENCH_SUBSCRIPTIONS ?? 1_000);
  const small = Math.max(1, Math.round(large / 10));
  const smallSubs = Math.max(1, Math.round(largeSubs / 10));

  const metered = await pass(smoke ? large : small, smoke ? largeSubs : smallSubs, {
    metered: true,
    bound: smoke ? 500 : undefined,
    dynamoEndpoint,
  });
  // Each pass says when it is done: a full-size run takes the better part of an hour.
  const done = (name: string, p: Awaited<ReturnType<typeof pass>>) =>
    console.error(
      `batch-e2e: ${name} pass (${p.events} events) done: whole batch ${KEYS.map((k) => `${p[k].type} ${p[k].wholeSeconds} s (add ${p[k].addSeconds}, lock ${p[k].lockSeconds}, submit ${p[k].submitSeconds})`).join(', ')}`,
    );
  done('metered', metered);
  const timedSmall = smoke ? undefined : await pass(small, smallSubs, { metered: false, dynamoEndpoint });
  if (timedSmall) done('small', timedSmall);
  const timed = smoke ? metered : await pass(large, largeSubs, { metered: false, bound: 20_000, dynamoEndpoint });
  if (!smoke) done('large', timed);
  // The same events over the same subscriptions, half of them in one: one long partition.
  // BENCH_SKEWED=0 leaves it out (its figure reads "not measured"): at the default size it is
  // the run's longest pass.
  const skewed =
    process.env.BENCH_SKEWED === '0' && !smoke
      ? undefined
      : await pass(large, largeSubs, { metered: smoke, skewed: true, dynamoEndpoint });
  const bound = timed.bound!;
  // How DynamoDB Local itself slows as the table grows: the same work per event at both sizes.
  const ingestScaling = timedSmall ? timed.ingestSeconds / timedSmall.ingestSeconds : undefined;

  const per = Object.fromEntries(
    KEYS.map((k) => {
      const units = metered[k].units!;
      const r = timed[k];
      // The throughput our writes allow at the bound: the raw write units per second over our units per event.
      const implied = bound.writeUnitsPerSecond / units.lockAndSubmitWritePerEvent;
      const impliedWhole = bound.writeUnitsPerSecond / units.writePerEvent;
      const wholeScaling = timedSmall ? r.wholeSeconds / timedSmall[k].wholeSeconds : undefined;
      return [
        k,
        {
          ...r,
          units,
          ratioOfWriteBound: round(r.eventsPerSecond / implied, 3),
          wholeRatioOfWriteBound: round(r.wholeEventsPerSecond / impliedWhole, 3),
          scaling: timedSmall ? round(r.lockAndSubmitSeconds / timedSmall[k].lockAndSubmitSeconds, 2) : undefined,
          smallLockAndSubmitSeconds: timedSmall?.[k].lockAndSubmitSeconds,
          smallWholeSeconds: timedSmall?.[k].wholeSeconds,
          // The small pass's phases beside the large one's: which of them grows faster than ingest.
          smallAddSeconds: timedSmall?.[k].addSeconds,
          smallLockSeconds: timedSmall?.[k].lockSeconds,
          smallSubmitSeconds: timedSmall?.[k].submitSeconds,
          smallTasks: timedSmall?.[k].tasks,
          smallLockSteps: timedSmall?.[k].lockSteps,
          smallSubmitSteps: timedSmall?.[k].submitSteps,
          wholeScaling: wholeScaling === undefined ? undefined : round(wholeScaling, 2),
          wholeScalingOverIngest:
            wholeScaling === undefined || ingestScaling === undefined
              ? undefined
              : round(wholeScaling / ingestScaling, 2),
          skewedWholeSeconds: skewed?.[k].wholeSeconds,
          skewedAddSeconds: skewed?.[k].addSeconds,
          skewedLockSeconds: skewed?.[k].lockSeconds,
          skewedSubmitSeconds: skewed?.[k].submitSeconds,
          skewedTasks: skewed?.[k].tasks,
          skewedOverUniform: skewed ? round(skewed[k].wholeSeconds / r.wholeSeconds, 2) : undefined,
          costPerMillionEvents: costPerMillion({ ...units, ...r }),
        },
      ];
    }),
  );
  const p = (k: Key) => per[k]!;
  // Plain ingest against the same bound: one conditional put per event and its index entries,
  // no batch, no read. What a whole batch's share of the bound can be is set beside it.
  const ingestShareOfBound =
    smoke || metered.ingestWritePerEvent === undefined
      ? undefined
      : round(((large / timed.ingestSeconds) * metered.ingestWritePerEvent) / bound.writeUnitsPerSecond, 3);
  // The guarded forms against the same bound, item for item (a conditional put is one unit; a
  // transaction's item two, so its share in units is twice its share in items).
  const guarded = timed.guarded;
  const guardedShares = guarded && {
    conditionalPut: round(guarded.conditionalPutsPerSecond / bound.writeUnitsPerSecond, 3),
    transactionItem: round(guarded.transactionItemsPerSecond / bound.writeUnitsPerSecond, 3),
    transactionUnits: round((2 * guarded.transactionItemsPerSecond) / bound.writeUnitsPerSecond, 3),
  };
  const two = (n: number) => n.toFixed(2);
  const dollars = (n: number) => `$${n.toFixed(2)}`;
  const scalingFigure = `time(${grouped(large)}) ÷ time(${grouped(small)}) ÷ the same for plain ingest`;
  const acceptance: Acceptance[] = [
    ...(['rating', 'rerate'] as const).map((k) =>
      accept(`write units per event, whole batch, ${TYPE_OF[k]}`, p(k).units.writePerEvent, { max: 3 }, two),
    ),
    accept(
      'write units per event, whole batch, REVERSE_REPLACE',
      p('reverseReplace').units.writePerEvent,
      { max: 6 },
      two,
    ),
    ...KEYS.map((k) =>
      accept(
        `whole-batch throughput ÷ the write bound at our units per event, ${TYPE_OF[k]}`,
        p(k).wholeRatioOfWriteBound,
        { min: 0.5 },
        two,
      ),
    ),
    ...KEYS.map((k) => accept(`${scalingFigure}, ${TYPE_OF[k]}`, p(k).wholeScalingOverIngest, { max: 1.1 }, two)),
    accept('cost per million corrected events, RERATE', p('rerate').costPerMillionEvents.total, { max: 3 }, dollars),
    accept(
      'cost per million corrected events, REVERSE_REPLACE',
      p('reverseReplace').costPerMillionEvents.total,
      { max: 6 },
      dollars,
    ),
    ...KEYS.map((k) =>
      accept(
        `skewed case: whole-batch time ÷ the uniform case's, ${TYPE_OF[k]}`,
        p(k).skewedOverUniform,
        { max: 2 },
        two,
      ),
    ),
  ];

  const corrected = KEYS.slice(1).reduce((s, k) => s + timed[k].events, 0);
  const seconds = KEYS.slice(1).reduce((s, k) => s + timed[k].wholeSeconds, 0);
  const figure = (k: Key) => {
    const f = p(k);
    return `${k} ${f.wholeEventsPerSecond}/s whole batch, ${f.units.writePerEvent} WRU/event, ${f.wholeRatioOfWriteBound} of bound${f.wholeScaling ? `, x${f.wholeScaling} for 10x` : ''}, $${f.costPerMillionEvents.total}/M`;
  };
  return {
    count: corrected,
    unit: 'corrected events',
    seconds,
    perCore: false,
    note: `${figure('rerate')}; ${figure('reverseReplace')}`,
    lines: [
      ...acceptance.map(acceptanceLine),
      ...(ingestShareOfBound === undefined
        ? []
        : [
            `for comparison, plain ingest (${metered.ingestWritePerEvent} write units per event, no batch): ${two(ingestShareOfBound)} of the write bound`,
          ]),
      ...(guardedShares && !smoke
        ? [
            `for comparison, guarded writes alone (no read, no workflow step): a conditional put per request ${two(guardedShares.conditionalPut)} of the write bound; a transaction of 25 conditional puts ${two(guardedShares.transactionItem)} per item, ${two(guardedShares.transactionUnits)} in its units`,
          ]
        : []),
    ],
    details: {
      sizes: {
        large: { events: large, subscriptions: largeSubs },
        small: { events: small, subscriptions: smallSubs },
        metered: { events: metered.events, subscriptions: metered.subscriptions },
        ...(skewed
          ? { skewed: { events: large, subscriptions: largeSubs, inLongestPartition: Math.ceil(large / 2) } }
          : {}),
      },
      ingestSeconds: timed.ingestSeconds,
      smallIngestSeconds: timedSmall?.ingestSeconds,
      skewedIngestSeconds: skewed?.ingestSeconds,
      ingestScaling: ingestScaling === undefined ? undefined : round(ingestScaling, 2),
      ingestWritePerEvent: metered.ingestWritePerEvent,
      ingestShareOfBound,
      guardedWrites: guarded && { ...guarded, shareOfBound: guardedShares },
      ...per,
      acceptance,
      writeBound: bound,
      dynamoLocalReportedUnits: metered.dynamoLocalReported,
      prices: PRICES,
    },
  };
}

const benchmark: Benchmark = {
  description:
    'RATING, RERATE and REVERSE_REPLACE batches end to end on the local stack: time, write and read units, transitions, invocations, cost, scaling',
  run: ({ smoke }) => runBatchE2e({ smoke }),
};

export default benchmark;
