// End to end on the local stack: a RATING then a RERATE batch over many subscriptions, each
// through lock and submit on the real ASL and handlers. Counts DynamoDB write and read units
// (ReturnConsumedCapacity on every call), state transitions and Lambda invocations (from the
// executions' histories), and measures the raw write bound of the same DynamoDB Local.
//
// Sizes: BENCH_EVENTS (default 100,000) over BENCH_SUBSCRIPTIONS (default 1,000); --smoke: 300 / 10.
import { randomUUID } from 'node:crypto';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Benchmark } from './benchmark';
import { startLocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { mapLimit } from '../../shared/store/concurrency';
import { putSubscription } from '../../shared/store/subscriptions';
import { addGrant } from '../../shared/store/balances';
import { ingestEvents } from '../../shared/store/usage-events';
import { addByCriteria } from '../../shared/services/batches';
import { requestAction } from '../../shared/services/batch-actions';
import { requireBatch } from '../../shared/store/batches';
import { SubscriptionInput } from '../../shared/domain/subscription';
import { BatchInput } from '../../shared/domain/batch';

interface Units {
  write: number;
  read: number;
  calls: number;
}

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

/** Sums ConsumedCapacity over every DynamoDB call the process makes (handlers included). */
function meterCapacity(): Units {
  const units: Units = { write: 0, read: 0, calls: 0 };
  clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!('ReturnConsumedCapacity' in input)) input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
      const total = [consumed ?? []].flat().reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
      units.calls++;
      if (WRITES.has(context.commandName ?? '')) units.write += total;
      else units.read += total;
      return result;
    },
    { step: 'initialize', name: 'meterCapacity', override: true },
  );
  return units;
}

async function waitFor(batchId: string, statuses: string[]): Promise<void> {
  for (;;) {
    const b = await requireBatch(batchId);
    if (statuses.includes(b.status)) {
      if (b.status === 'FAILED' || (statuses.includes('LOCKED') && b.status !== 'LOCKED')) throw new Error(`batch ${batchId} ended ${b.status}: ${JSON.stringify(b.lastError)}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** State transitions and Lambda invocations of an execution, from its history. */
async function historyOf(executionArn: string): Promise<{ transitions: number; invocations: number }> {
  let transitions = 0;
  let invocations = 0;
  let nextToken: string | undefined;
  do {
    const page = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
    for (const e of page.events ?? []) {
      if (e.type?.endsWith('StateEntered')) transitions++;
      if (e.type === 'TaskScheduled' || e.type === 'LambdaFunctionScheduled') invocations++;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return { transitions, invocations };
}

async function runBatch(type: 'RATING' | 'RERATE', subs: string[], units: Units) {
  const actor = 'bench';
  const batch = await requireBatch((await (await import('../../shared/services/batches')).openBatch(BatchInput.parse({ type }), actor, new Date().toISOString())).batchId);
  // Adding is set-up, not measured: one criteria call per group of subscriptions, page by page.
  const addStart = performance.now();
  const beforeAdd = { ...units };
  for (let i = 0; i < subs.length; i += 100) {
    let cursor: string | undefined;
    do {
      const page = await addByCriteria(batch.batchId, { subscriptionIds: subs.slice(i, i + 100) }, actor, new Date().toISOString(), cursor);
      cursor = page.nextCursor;
    } while (cursor);
  }
  const addSeconds = (performance.now() - addStart) / 1000;
  const before = { ...units };
  const started = performance.now();
  const lock = await requestAction('lock', batch.batchId, actor, new Date().toISOString());
  await waitFor(batch.batchId, ['LOCKED', 'DRAFT']);
  const lockSeconds = (performance.now() - started) / 1000;
  const submit = await requestAction('submit', batch.batchId, actor, new Date().toISOString());
  await waitFor(batch.batchId, ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
  const seconds = (performance.now() - started) / 1000;
  const done = await requireBatch(batch.batchId);
  const events = done.counts.events + done.counts.related;
  const h = [await historyOf(lock.executionArn), await historyOf(submit.executionArn)];
  const transitions = h.reduce((s, x) => s + x.transitions, 0);
  const invocations = h.reduce((s, x) => s + x.invocations, 0);
  return {
    type,
    status: done.status,
    events,
    processed: done.counts.processed,
    addSeconds: round(addSeconds),
    addWriteUnitsPerEvent: round((before.write - beforeAdd.write) / Math.max(1, done.counts.events)),
    lockSeconds: round(lockSeconds),
    lockAndSubmitSeconds: round(seconds),
    eventsPerSecond: Math.round(events / seconds),
    writeUnitsPerEvent: round((units.write - before.write) / events),
    readUnitsPerEvent: round((units.read - before.read) / events),
    stateTransitionsPerEvent: round(transitions / events, 5),
    lambdaInvocationsPerEvent: round(invocations / events, 5),
    stateTransitions: transitions,
    lambdaInvocations: invocations,
  };
}

/** The raw write bound: BatchWrite of event-sized items at the same concurrency, items per second. */
async function writeBound(items: number): Promise<{ itemsPerSecond: number; writeUnitsPerSecond: number; units: number }> {
  const payload = 'x'.repeat(600); // about the size of a rated event item
  const start = performance.now();
  let units = 0;
  const groups = Array.from({ length: Math.ceil(items / 25) }, (_, g) => g);
  await mapLimit(groups, 16, async (g) => {
    let request: Record<string, unknown[]> | undefined = {
      [clients.tableName]: Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { PK: `BOUND#${g}#${i}`, SK: 'B', payload } } })),
    };
    while (request && Object.keys(request).length) {
      const res = await clients.dynamo.send(new BatchWriteCommand({ RequestItems: request as never, ReturnConsumedCapacity: 'TOTAL' }));
      units += (res.ConsumedCapacity ?? []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
      request = res.UnprocessedItems as typeof request;
    }
  });
  const seconds = (performance.now() - start) / 1000;
  return { itemsPerSecond: Math.round(items / seconds), writeUnitsPerSecond: Math.round(units / seconds), units };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

const benchmark: Benchmark = {
  description: 'RATING then RERATE batches end to end on the local stack (lock + submit), with write units, transitions and invocations per event',
  async run({ smoke }) {
    const total = smoke ? 300 : Number(process.env.BENCH_EVENTS ?? 100_000);
    const subscriptions = smoke ? 10 : Number(process.env.BENCH_SUBSCRIPTIONS ?? 1_000);
    const stack = await startLocalStack({ inMemory: true, tableName: `bench-${randomUUID().slice(0, 8)}` });
    try {
      const units = meterCapacity();
      const now = new Date().toISOString();
      const subs = Array.from({ length: subscriptions }, (_, i) => `bench-sub-${i}`);
      const plan = SubscriptionInput.parse({ accountId: 'bench', startDate: '2026-01-01', currency: 'USD', products: { voice: { register: 'MINUTES', unitPrice: '0.05' } } });
      await mapLimit(subs, 16, async (s) => {
        await putSubscription(s, plan, now);
        await addGrant({ subscriptionId: s, register: 'MINUTES', grantId: `g-${s}`, amount: 1000n * 1_000_000n, validFrom: '2026-01-01T00:00:00.000Z' }, 'bench', now);
      });
      const perSub = Math.ceil(total / subscriptions);
      const events = Array.from({ length: total }, (_, i) => {
        const s = i % subscriptions;
        const k = Math.floor(i / subscriptions);
        const t = new Date(Date.UTC(2026, 2, 1) + Math.floor((k * 28 * 86_400_000) / perSub)).toISOString();
        return { eventId: `bench-${s}-${k}`, subscriptionId: subs[s], productId: 'voice', quantity: String(1 + (i % 13)), occurredAt: t };
      });
      const chunks = Array.from({ length: Math.ceil(total / 500) }, (_, c) => events.slice(c * 500, c * 500 + 500));
      const ingestStart = performance.now();
      await mapLimit(chunks, 4, (chunk) => ingestEvents(chunk, now));
      const ingestSeconds = (performance.now() - ingestStart) / 1000;

      const rating = await runBatch('RATING', subs, units);
      await mapLimit(subs, 16, (s) =>
        addGrant({ subscriptionId: s, register: 'MINUTES', grantId: `top-${s}`, amount: 500n * 1_000_000n, validFrom: '2026-01-01T00:00:00.000Z' }, 'bench', now),
      );
      const rerate = await runBatch('RERATE', subs, units);
      const bound = await writeBound(smoke ? 500 : 20_000);
      const ratio = (r: typeof rating) => round(r.eventsPerSecond / (bound.writeUnitsPerSecond / r.writeUnitsPerEvent), 3);
      const seconds = rating.lockAndSubmitSeconds + rerate.lockAndSubmitSeconds;
      return {
        count: rating.events + rerate.events,
        unit: 'events',
        seconds,
        perCore: false,
        details: {
          subscriptions,
          ingestSeconds: round(ingestSeconds),
          rating: { ...rating, ratioOfWriteBound: ratio(rating) },
          rerate: { ...rerate, ratioOfWriteBound: ratio(rerate) },
          writeBound: bound,
        },
      };
    } finally {
      await stack.stop();
    }
  },
};

export default benchmark;
