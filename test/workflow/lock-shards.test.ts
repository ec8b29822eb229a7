// Lock runs its partitions through a Map over shards of subscriptions, as submit does: the
// preview it builds is the one a single sequential pass over the same partitions builds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { lockStep, type LockStep } from '../../shared/services/lock-for-review';
import { MAX_SHARDS } from '../../shared/services/submit';
import { requireBatch, transitionBatch } from '../../shared/store/batches';
import { anAccountWith, products } from '../support/accounts';
import { call } from '../support/api';
import { aSubscription, anEvent } from '../support/builders';
import { newBatch, preview } from '../support/corrections';
import { act, executionHistory, useLocalWorkflows, waitForStatus } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

/** The preview without what differs between two locks of the same batch (its version, its tag). */
async function previewContent(batchId: string) {
  const { version, etag, lockedAt, ...content } = await preview(batchId);
  return content;
}

/** Locks by calling the lock steps directly, every partition in one sequential pass (no Map). */
async function lockInOnePass(batchId: string): Promise<void> {
  const batch = await requireBatch(batchId);
  await transitionBatch(batchId, ['DRAFT'], 'LOCKING', new Date().toISOString(), { lastError: null }, batch.version);
  const now = () => new Date().toISOString();
  let step: LockStep = { batchId, version: batch.version + 1, actor: 'test', phase: 'start', cursor: null };
  for (let i = 0; !step.done; i++) {
    if (i > 1000) throw new Error('the lock steps did not finish');
    const { shards, ...next } = await lockStep(step, now, 0);
    step = next;
  }
}

describe('lock over many partitions', () => {
  it('locks the partitions through a Map over shards of subscriptions and builds the preview one sequential pass builds', async () => {
    // More subscriptions than shards: every shard gets some, a few get two.
    const subscriptions = MAX_SHARDS + 3;
    const { accountId, subs } = await anAccountWith(subscriptions, '100');
    const events = subs.flatMap((sub) =>
      ['2026-03-01', '2026-03-02', '2026-03-03'].map((day, i) =>
        anEvent({ subscriptionId: sub, quantity: String(30 + 10 * i), occurredAt: `${day}T10:00:00Z` }),
      ),
    );
    expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(events.length);
    const rating = await newBatch('RATING', { eventIds: events.map((e) => e.eventId) });
    expect((await act(rating, 'lock', ['LOCKED'])).counts.errored).toBe(0);
    expect((await act(rating, 'submit', ['COMPLETED'])).status).toBe('COMPLETED');
    for (const sub of subs)
      expect(
        (
          await call('PUT', `/v1/subscriptions/${sub}`, {
            body: aSubscription({
              accountId,
              products: { ...products, voice: { register: 'MINUTES', unitPrice: '0.10' } },
            }),
          })
        ).status,
      ).toBe(200);
    // The first event of each subscription: the two later ones are re-rated too, held as related.
    const firsts = subs.map((sub) => events.find((e) => e.subscriptionId === sub)!.eventId as string);
    const rerate = await newBatch('RERATE', { eventIds: firsts });

    const lock = await call('POST', `/v1/batches/${rerate}/lock`);
    expect(lock.status).toBe(202);
    expect((await waitForStatus(rerate, ['LOCKED'])).counts.errored).toBe(0);
    const h = await executionHistory(lock.body.executionArn);
    const entered = (name: string) =>
      h.filter((e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === name).length;
    expect(h.filter((e) => e.type === 'MapIterationStarted')).toHaveLength(MAX_SHARDS);
    expect(h.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(MAX_SHARDS);
    expect(entered('LockShardChunk')).toBeGreaterThanOrEqual(MAX_SHARDS);
    const viaMap = await previewContent(rerate);
    expect(viaMap.subscriptions).toHaveLength(subscriptions);
    expect(
      viaMap.subscriptions.flatMap((s: any) => s.billLines.map((l: any) => [l.before.total, l.after.total])),
    ).toEqual(subs.map(() => ['1.00', '2.00']));

    await act(rerate, 'revert', ['DRAFT']);
    await lockInOnePass(rerate);

    expect(await previewContent(rerate)).toEqual(viaMap);
  });
});
