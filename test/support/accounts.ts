// Set-ups and checks shared by the balance-management tests.
import { expect } from 'vitest';
import { call } from './api';
import { anAccount, aSubscription, anEvent, uniqueId, voiceAndData } from './builders';
import type { TestTable } from './dynamo';
import { tableSnapshot } from './table-snapshot';
import { checkAccount, checkSubscription } from '../../shared/store/invariants';
import { ratePartitionFrom } from './rate-directly';
import { requireSubscription } from '../../shared/store/subscriptions';

export const products = voiceAndData;

/** An account with `n` subscriptions (voice → MINUTES, data → DATA_MB), each granted `grant` MINUTES if given. */
export async function anAccountWith(
  n: number,
  grant?: string,
  account: Record<string, unknown> = {},
  subscription: Record<string, unknown> = {},
) {
  const accountId = uniqueId('acct');
  expect((await call('PUT', `/v1/accounts/${accountId}`, { body: anAccount(account) })).status).toBe(201);
  const subs: string[] = [];
  for (let i = 0; i < n; i++) {
    const sub = uniqueId('sub');
    expect(
      (await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription({ accountId, products, ...subscription }) }))
        .status,
    ).toBe(201);
    if (grant)
      expect(
        (await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: grant } })).status,
      ).toBe(201);
    subs.push(sub);
  }
  return { accountId, subs };
}

/** DESIGN.md §2 conservation for the account and each of its subscriptions. */
export async function expectConserved(accountId: string, subs: string[]) {
  expect(await checkAccount(accountId)).toEqual([]);
  for (const sub of subs) expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
}

/** Runs a call that must be refused with this status and code, and proves the table is exactly as it was. */
export async function refusedWithoutWrites(
  table: TestTable,
  run: () => Promise<{ status: number; body: any }>,
  status: number,
  code: string,
) {
  const before = await tableSnapshot(table);
  const res = await run();
  expect([res.status, res.body.code]).toEqual([status, code]);
  expect(await tableSnapshot(table)).toEqual(before);
  return res;
}

/** Ingests events of a subscription's MINUTES register and rates them. */
export async function rated(sub: string, events: Array<Record<string, unknown>>) {
  const withSub = events.map((e) => anEvent({ subscriptionId: sub, ...e }));
  expect((await call('POST', '/v1/usage-events', { body: { events: withSub } })).body.rejected).toEqual([]);
  const ids = withSub.map((e) => e.eventId as string);
  await ratePartitionFrom({
    subscriptionId: sub,
    register: 'MINUTES',
    toRate: ids,
    stepId: uniqueId('step'),
    actor: 'test',
    now: new Date().toISOString(),
  });
  return ids;
}
