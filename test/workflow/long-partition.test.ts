// Submit applies a partition's chunks across as many invocations as they take: an invocation
// whose time budget is spent stops after a chunk and keeps its cursor, and the next goes on from
// the first chunk not applied. No partition has to fit in one invocation (a skewed batch's long
// partition used to be one invocation's work, past the task timeout at large sizes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { EVENTS_PER_CHUNK } from '../../shared/store/change-sets';
import { getEvents } from '../../shared/store/usage-events';
import { anAccountWith } from '../support/accounts';
import { call } from '../support/api';
import { anEvent } from '../support/builders';
import { newBatch } from '../support/corrections';
import { act, executionHistory, useLocalWorkflows, waitForStatus } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

describe('a partition longer than one invocation', () => {
  it('is submitted one chunk per invocation when each budget is spent at once, and every event is rated once', async () => {
    const { subs } = await anAccountWith(1, '100');
    const count = 2 * EVENTS_PER_CHUNK + 20; // three chunks in one partition
    const events = Array.from({ length: count }, (_, i) =>
      anEvent({
        subscriptionId: subs[0]!,
        quantity: '1',
        occurredAt: `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
      }),
    );
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(count);
    const ids = events.map((e) => e.eventId as string);
    const batchId = await newBatch('RATING', { eventIds: ids });
    expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);

    const budget = process.env.WORKFLOW_CHUNK_BUDGET_MS;
    process.env.WORKFLOW_CHUNK_BUDGET_MS = '0';
    try {
      const submit = await call('POST', `/v1/batches/${batchId}/submit`);
      expect(submit.status).toBe(202);
      expect(await waitForStatus(batchId, ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'])).toMatchObject({
        status: 'COMPLETED',
        counts: { processed: count, errored: 0 },
      });
      const h = await executionHistory(submit.body.executionArn);
      const chunkTurns = h.filter(
        (e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'ProcessShardChunk',
      );
      // One subscription, one shard: a turn per chunk (the same run took one turn before).
      expect(chunkTurns).toHaveLength(3);
    } finally {
      if (budget === undefined) delete process.env.WORKFLOW_CHUNK_BUDGET_MS;
      else process.env.WORKFLOW_CHUNK_BUDGET_MS = budget;
    }
    const rated = await getEvents(ids);
    expect(rated.map((e) => [e.status, e.ratingRev])).toEqual(ids.map(() => ['RATED', 1]));
    expect(rated.reduce((s, e) => s + e.rating!.allowanceUsed, 0n)).toBe(100n * 1_000_000n);
  });
});
