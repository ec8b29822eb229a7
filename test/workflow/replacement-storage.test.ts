// Where a REVERSE_REPLACE batch keeps its replacement events until submit inserts them: those of
// the original's own partition on the original's member item, those of another partition on an
// item of their own under that partition. Both kinds are planned at lock and inserted by submit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import type { LocalStack } from '../../infra/local/stack';
import { act, useLocalWorkflows } from '../support/workflows';
import { checkSubscription } from '../../shared/store/invariants';
import { getMembers } from '../../shared/store/batches';
import { keys } from '../../shared/store/keys';
import { queryAll } from '../../shared/store/query-all';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';
import { anAccountWith } from '../support/accounts';
import { FINISHED, newBatch, rateThroughBatch } from '../support/corrections';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const sub = uniqueId('sub');
const products = {
  voice: { register: 'MINUTES', unitPrice: '0.05' },
  data: { register: 'DATA_MB', unitPrice: '0.01' },
};

async function batchWith(type: string, body: Record<string, unknown>) {
  const batchId = (await call('POST', '/v1/batches', { body: { type, options: {} } })).body.batchId as string;
  const added = await call('POST', `/v1/batches/${batchId}/${'replacements' in body ? 'replacements' : 'events'}`, {
    body,
  });
  expect(added.body.rejected).toEqual([]);
  return batchId;
}

describe('replacement events waiting in a batch', () => {
  it('a replacement in its original partition rides on the member item, one in another register gets an item of its own; submit inserts and rates both', async () => {
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription({ products }) });
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '100' } });
    const original = anEvent({ subscriptionId: sub, quantity: '30', occurredAt: '2026-03-01T10:00:00Z' });
    expect((await call('POST', '/v1/usage-events', { body: { events: [original] } })).body.accepted).toBe(1);
    const rating = await batchWith('RATING', { eventIds: [original.eventId] });
    await act(rating, 'lock', ['LOCKED', 'DRAFT']);
    await act(rating, 'submit', ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

    const voice = anEvent({ subscriptionId: sub, quantity: '10', occurredAt: '2026-03-01T10:00:00Z' });
    const data = anEvent({
      subscriptionId: sub,
      productId: 'data',
      quantity: '20',
      occurredAt: '2026-03-01T11:00:00Z',
    });
    const batchId = await batchWith('REVERSE_REPLACE', {
      replacements: [{ originalEventId: original.eventId, events: [voice, data] }],
    });
    const [member] = await getMembers(batchId, [original.eventId as string]);
    expect(member!.replacementEvents?.map((e) => e.eventId)).toEqual([voice.eventId]);
    const filed = await queryAll(keys.batchPartition(batchId), keys.batchReplacementsPrefix);
    expect(filed.map((it) => it.eventId)).toEqual([data.eventId]);

    await act(batchId, 'lock', ['LOCKED', 'DRAFT']);
    const preview = (await call('GET', `/v1/batches/${batchId}/preview`)).body;
    const part = (register: string) => preview.partitions.find((p: { register: string }) => p.register === register);
    expect(part('MINUTES')).toMatchObject({ reversed: 1, replacementsAdded: 1 });
    expect(part('DATA_MB')).toMatchObject({ replacementsAdded: 1 });
    await act(batchId, 'submit', ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

    const after = new Map(
      (await getEvents([original.eventId as string, voice.eventId as string, data.eventId as string])).map((e) => [
        e.eventId,
        e,
      ]),
    );
    expect(after.get(original.eventId as string)!.status).toBe('REVERSED');
    expect(after.get(voice.eventId as string)).toMatchObject({ status: 'RATED', replaces: original.eventId });
    expect(after.get(data.eventId as string)).toMatchObject({ status: 'RATED', replaces: original.eventId });
    expect([...after.values()].every((e) => e.heldBy === undefined)).toBe(true);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it("a replacement in another subscription exists before the chunks: when only the original's subscription applies, the original names a replacement that exists", async () => {
    const { subs } = await anAccountWith(2, '100');
    const [from, to] = subs as [string, string];
    const [originalId] = await rateThroughBatch(from, [{ quantity: '30', occurredAt: '2026-03-01T10:00:00Z' }]);
    const moved = anEvent({ subscriptionId: to, quantity: '30', occurredAt: '2026-03-01T10:00:00Z' });
    const batchId = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: originalId, events: [moved] }],
    });
    expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
    // A top-up of the replacement's register after lock: its subscription is refused PREVIEW_STALE.
    expect(
      (await call('POST', `/v1/subscriptions/${to}/balances/MINUTES/grants`, { body: { amount: '5' } })).status,
    ).toBe(201);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED_WITH_ERRORS');

    const after = new Map((await getEvents([originalId!, moved.eventId as string])).map((e) => [e.eventId, e]));
    expect(after.get(originalId!)).toMatchObject({ status: 'REVERSED', replacedBy: [moved.eventId] });
    expect(after.get(moved.eventId as string)).toMatchObject({ status: 'LOADED', replaces: originalId });
    for (const s of subs) expect(await checkSubscription(await requireSubscription(s))).toEqual([]);
  });
});
