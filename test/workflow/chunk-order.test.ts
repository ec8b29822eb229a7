// A partition's plan is applied in chunks whose order never matters: its totals (grants,
// register, bill lines) go in one transaction conditional on the versions lock read, so no chunk
// has to be valid on its own. Late usage that takes allowance back from later events completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { listGrants } from '../../shared/store/balances';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';
import { anAccountWith } from '../support/accounts';
import { call } from '../support/api';
import { anEvent } from '../support/builders';
import { FINISHED } from '../support/corrections';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const M = 1_000_000n;
const at = (day: string, i: number) =>
  `2026-${day}T${String(Math.floor(i / 3600) % 24).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`;

async function ingest(sub: string, events: Array<Record<string, unknown>>): Promise<string[]> {
  const built = events.map((e) => anEvent({ subscriptionId: sub, ...e }));
  for (let i = 0; i < built.length; i += 500) {
    expect((await call('POST', '/v1/usage-events', { body: { events: built.slice(i, i + 500) } })).body.accepted).toBe(
      Math.min(500, built.length - i),
    );
  }
  return built.map((e) => e.eventId as string);
}

/** A RATING batch of `ids`, locked and submitted. */
async function rate(ids: string[]) {
  const batchId = (await call('POST', '/v1/batches', { body: { type: 'RATING' } })).body.batchId as string;
  for (let i = 0; i < ids.length; i += 1000) {
    expect(
      (await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds: ids.slice(i, i + 1000) } })).body
        .rejected,
    ).toEqual([]);
  }
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  return act(batchId, 'submit', FINISHED);
}

const drawn = (events: Awaited<ReturnType<typeof getEvents>>) =>
  events.reduce((s, e) => s + e.rating!.allowanceUsed, 0n);

describe('late usage that takes allowance back from later events', () => {
  it('grant 100, ten September events use all of it; a RATING batch of 90 late August events completes: August draws 90, September keeps 10', async () => {
    const { subs } = await anAccountWith(1);
    const sub = subs[0]!;
    expect(
      (
        await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
          body: { amount: '100', validFrom: '2026-08-01T00:00:00Z' },
        })
      ).status,
    ).toBe(201);
    const september = await ingest(
      sub,
      Array.from({ length: 10 }, (_, i) => ({ quantity: '10', occurredAt: at('09-10', i) })),
    );
    expect((await rate(september)).status).toBe('COMPLETED');
    expect(drawn(await getEvents(september))).toBe(100n * M);
    const august = await ingest(
      sub,
      Array.from({ length: 90 }, (_, i) => ({ quantity: '1', occurredAt: at('08-20', i) })),
    );
    const done = await rate(august);
    expect(done).toMatchObject({ status: 'COMPLETED', counts: { errored: 0 } });
    expect(drawn(await getEvents(august))).toBe(90n * M);
    expect(drawn(await getEvents(september))).toBe(10n * M);
    expect((await listGrants(sub, 'MINUTES'))[0]!.drawn).toBe(100n * M);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('on a partition of 2,400 events, 900 late August events draw 900 from one grant while 1,500 September events give it back', async () => {
    const { subs } = await anAccountWith(1);
    const sub = subs[0]!;
    // Two grants, so the re-rate moves allowance both ways on each: the August-only grant is
    // drawn only by the late events, the open-ended one loses September's draws and gains August's.
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
      body: { amount: '300', validFrom: '2026-08-01T00:00:00Z', validTo: '2026-09-01T00:00:00Z' },
    });
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
      body: { amount: '2000', validFrom: '2026-08-01T00:00:00Z' },
    });
    const september = await ingest(
      sub,
      Array.from({ length: 1500 }, (_, i) => ({ quantity: '2', occurredAt: at('09-10', i) })),
    );
    expect((await rate(september)).status).toBe('COMPLETED');
    expect(drawn(await getEvents(september))).toBe(2000n * M);
    const august = await ingest(
      sub,
      Array.from({ length: 900 }, (_, i) => ({ quantity: '1', occurredAt: at('08-20', i) })),
    );
    expect((await rate(august)).status).toBe('COMPLETED');
    // August: 300 from its own grant, 600 from the open-ended one; September keeps 1,400 of it.
    expect(drawn(await getEvents(august))).toBe(900n * M);
    expect(drawn(await getEvents(september))).toBe(1400n * M);
    const grants = (await listGrants(sub, 'MINUTES'))
      .map((g) => [g.amount, g.drawn])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    expect(grants).toEqual([
      [300n * M, 300n * M],
      [2000n * M, 2000n * M],
    ]);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  }, 600_000);
});
