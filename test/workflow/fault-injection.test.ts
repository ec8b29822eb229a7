// Guarantees of DESIGN.md §2 under failure: writes fail before they are sent or after they were
// applied (answer lost) at random points, seeded; the workflows' retries and re-runs finish the
// work, and the invariants hold after every run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { injectFaults, seeded } from '../support/faults';
import { waitForStatus } from '../support/workflows';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';

let stack: LocalStack;
beforeAll(async () => {
  // One unit of work per task invocation: the most cursors, the most places to fail between.
  process.env.WORKFLOW_CHUNK_BUDGET_MS = '0';
  stack = await startLocalStack({ inMemory: true, dynamoEndpoint: inject('dynamoEndpoint'), tableName: `faults-${randomUUID().slice(0, 8)}`, retryIntervalMs: 5 });
});
afterAll(async () => stack?.stop());

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

/** Asks for an action until its workflow has run to `target` (a failed lock is back in DRAFT and is asked again). */
async function drive(batchId: string, action: 'lock' | 'submit', target: string[], retryFrom: string[]): Promise<any> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const res = await call('POST', `/v1/batches/${batchId}/${action}`);
    if (res.status !== 202 && res.status !== 409 && res.status !== 500) throw new Error(JSON.stringify(res.body));
    const batch = await waitForStatus(batchId, [...target, ...retryFrom]);
    if (target.includes(batch.status)) return batch;
  }
  throw new Error(`batch ${batchId} never reached ${target.join('|')}`);
}

describe('fault injection', () => {
  it.each(SEEDS)('seed %i: rating and reverse-replace survive failed writes; every invariant holds', async (seed) => {
    const subs = [uniqueId('sub'), uniqueId('sub')];
    for (const sub of subs) {
      await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
      await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '120' } });
    }
    const events = subs.flatMap((sub) => Array.from({ length: 20 }, (_, i) => anEvent({ subscriptionId: sub, quantity: String(3 + (i % 9)), occurredAt: `2026-03-${String(1 + i).padStart(2, '0')}T08:00:00Z` })));
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(40);
    const ids = events.map((e) => e.eventId as string);

    const faults = injectFaults(seeded(seed), 0.05);
    try {
      const rating = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId;
      await call('POST', `/v1/batches/${rating}/events`, { body: { eventIds: ids } });
      await drive(rating, 'lock', ['LOCKED'], ['DRAFT']);
      const rated = await drive(rating, 'submit', FINISHED, []);
      expect(rated.status).toBe('COMPLETED');

      const originals = [ids[2]!, ids[7]!, ids[25]!];
      const fix = (id: string) => anEvent({ subscriptionId: events.find((e) => e.eventId === id)!.subscriptionId, eventId: `${id}-fix`, quantity: '1', occurredAt: events.find((e) => e.eventId === id)!.occurredAt });
      const rr = (await call('POST', '/v1/batches', { body: { type: 'REVERSE_REPLACE' } })).body.batchId;
      const added = await call('POST', `/v1/batches/${rr}/replacements`, { body: { replacements: originals.map((id) => ({ originalEventId: id, events: [fix(id)] })) } });
      expect(added.status).toBe(200);
      await drive(rr, 'lock', ['LOCKED'], ['DRAFT']);
      expect((await drive(rr, 'submit', FINISHED, [])).status).toBe('COMPLETED');

      faults.stop();
      for (const sub of subs) expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
      const all = await getEvents([...ids, ...originals.map((id) => `${id}-fix`)]);
      expect(all.filter((e) => e.heldBy !== undefined)).toEqual([]);
      const reversed = all.filter((e) => e.status === 'REVERSED');
      expect(reversed.map((e) => e.eventId).sort()).toEqual([...originals].sort());
      // Reversed exactly once, with exactly its replacement.
      expect(reversed.every((e) => e.reversedInBatch === rr && e.replacedBy?.length === 1 && e.replacedBy[0] === `${e.eventId}-fix`)).toBe(true);
      expect(all.filter((e) => e.status === 'RATED')).toHaveLength(40);
    } finally {
      faults.stop();
    }
    // The run was not fault-free: the seed made at least one write fail.
    expect(faults.log.before + faults.log.after).toBeGreaterThan(0);
  });
});
