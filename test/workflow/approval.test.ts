// Four-eyes approval on the real ASL and DynamoDB Local: with approval on, the one who locked a
// batch cannot submit it and someone else submits the preview they approve (If-Match); off, or
// below its threshold, nothing changes; a batch can ask for approval but never opt out of it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvalSettings, type ApprovalProps } from '../../infra/approval';
import type { LocalStack } from '../../infra/local/stack';
import { resetConfig } from '../../shared/config';
import { anAccountWith, products } from '../support/accounts';
import { call } from '../support/api';
import { aSubscription } from '../support/builders';
import { FINISHED, newBatch, rateThroughBatch } from '../support/corrections';
import { act, useLocalWorkflows, waitForStatus } from '../support/workflows';

const LOCKER = 'test-user';
const APPROVER = 'approver@example.com';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());
afterEach(() => setApproval(undefined));

/** The deployment setting, as the stacks set it: the functions read it from their environment. */
function setApproval(approval: ApprovalProps | undefined) {
  for (const name of ['APPROVAL', 'APPROVAL_MIN_EVENTS', 'APPROVAL_MIN_CHARGE_CHANGE']) delete process.env[name];
  Object.assign(process.env, approvalSettings(approval));
  resetConfig();
}

/** A RERATE batch over `n` rated events (1 minute each, no allowance), repriced 0.05 → 0.10, locked by LOCKER. */
async function lockedRerate(n: number, options: Record<string, unknown> = {}) {
  const { accountId, subs } = await anAccountWith(1);
  const sub = subs[0]!;
  const ids = await rateThroughBatch(
    sub,
    Array.from({ length: n }, (_, i) => ({ quantity: '1', occurredAt: `2026-03-0${i + 1}T10:00:00Z` })),
  );
  const repriced = await call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({ accountId, products: { ...products, voice: { register: 'MINUTES', unitPrice: '0.10' } } }),
  });
  expect(repriced.status).toBe(200);
  const batchId = await newBatch('RERATE', { eventIds: ids }, options);
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  const pv = await call('GET', `/v1/batches/${batchId}/preview`);
  return { batchId, tag: pv.headers.etag as string, chargeDelta: pv.body.totals.chargeDelta as Record<string, string> };
}

const submit = (batchId: string, actor: string, tag?: string) =>
  call('POST', `/v1/batches/${batchId}/submit`, { actor, headers: tag ? { 'if-match': tag } : {} });
const view = async (batchId: string, actor: string) => (await call('GET', `/v1/batches/${batchId}`, { actor })).body;
const log = async (batchId: string) =>
  (await call('GET', `/v1/batches/${batchId}/log?limit=200`)).body.items as Array<{
    actor: string;
    action: string;
    data?: Record<string, unknown>;
  }>;

async function expectSubmittedBy(batchId: string, actor: string, tag?: string) {
  const res = await submit(batchId, actor, tag);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect((await waitForStatus(batchId, FINISHED)).status).toBe('COMPLETED');
}

describe('approval off (the default)', () => {
  it('lets the one who locked a batch submit it, without If-Match, and offers them SUBMIT', async () => {
    const b = await lockedRerate(2);
    const seen = await view(b.batchId, LOCKER);
    expect(seen).toMatchObject({ lockedBy: LOCKER, approval: { required: false } });
    expect(seen.allowedActions).toContain('SUBMIT');
    await expectSubmittedBy(b.batchId, LOCKER);
    expect((await log(b.batchId)).map((e) => e.action)).not.toContain('APPROVED');
  });
});

describe('approval on for every batch', () => {
  it('refuses the locker (SAME_ACTOR), asks another for the preview tag (APPROVAL_REQUIRED), and accepts them with it; each in the log with its actor', async () => {
    const b = await lockedRerate(2);
    setApproval({});
    const asLocker = await view(b.batchId, LOCKER);
    expect(asLocker).toMatchObject({ lockedBy: LOCKER, approval: { required: true } });
    expect(asLocker.allowedActions).not.toContain('SUBMIT');
    expect(asLocker.allowedActions).toContain('REVERT');
    expect((await view(b.batchId, APPROVER)).allowedActions).toContain('SUBMIT');

    const own = await submit(b.batchId, LOCKER, b.tag);
    expect([own.status, own.body.code]).toEqual([403, 'SAME_ACTOR']);
    const untagged = await submit(b.batchId, APPROVER);
    expect([untagged.status, untagged.body.code]).toEqual([428, 'APPROVAL_REQUIRED']);
    const wildcard = await submit(b.batchId, APPROVER, '*');
    expect([wildcard.status, wildcard.body.code]).toEqual([428, 'APPROVAL_REQUIRED']);
    expect((await view(b.batchId, APPROVER)).status).toBe('LOCKED');

    await expectSubmittedBy(b.batchId, APPROVER, b.tag);
    const entries = await log(b.batchId);
    expect(entries.filter((e) => e.action === 'APPROVAL_REFUSED').map((e) => [e.actor, e.data?.code])).toEqual([
      [LOCKER, 'SAME_ACTOR'],
      [APPROVER, 'APPROVAL_REQUIRED'],
      [APPROVER, 'APPROVAL_REQUIRED'],
    ]);
    expect(
      entries.filter((e) => e.action === 'APPROVED').map((e) => [e.actor, e.data?.lockedBy, e.data?.previewTag]),
    ).toEqual([[APPROVER, LOCKER, b.tag]]);
    expect(entries.find((e) => e.action === 'LOCK')?.actor).toBe(LOCKER);
  });

  it('refuses an approver whose tag is no longer the preview (PREVIEW_STALE) and starts nothing', async () => {
    const b = await lockedRerate(1);
    setApproval({});
    const res = await submit(b.batchId, APPROVER, '"not-the-preview"');
    expect([res.status, res.body.code]).toEqual([412, 'PREVIEW_STALE']);
    expect((await view(b.batchId, APPROVER)).status).toBe('LOCKED');
  });
});

describe('approval above a threshold', () => {
  it('events: below it the locker submits; at or above it the locker is refused', async () => {
    const below = await lockedRerate(2);
    const above = await lockedRerate(3);
    setApproval({ minEvents: 3 });
    expect((await view(below.batchId, LOCKER)).approval).toMatchObject({ required: false });
    await expectSubmittedBy(below.batchId, LOCKER);
    expect((await view(above.batchId, LOCKER)).allowedActions).not.toContain('SUBMIT');
    const refused = await submit(above.batchId, LOCKER, above.tag);
    expect([refused.status, refused.body.code]).toEqual([403, 'SAME_ACTOR']);
    await expectSubmittedBy(above.batchId, APPROVER, above.tag);
  });

  it('charge change: a preview changing USD by less than the amount is the locker’s to submit; by more, it needs another', async () => {
    // Each event is 1 minute repriced 0.05 → 0.10: a change of 0.05 per event.
    const small = await lockedRerate(2);
    const large = await lockedRerate(8);
    expect([small.chargeDelta, large.chargeDelta]).toEqual([{ USD: '0.10' }, { USD: '0.40' }]);
    setApproval({ minChargeChange: '0.25' });
    await expectSubmittedBy(small.batchId, LOCKER);
    const refused = await submit(large.batchId, LOCKER, large.tag);
    expect([refused.status, refused.body.code]).toEqual([403, 'SAME_ACTOR']);
    expect((await view(large.batchId, LOCKER)).approval).toMatchObject({
      required: true,
      reason: expect.stringMatching(/USD/),
    });
    await expectSubmittedBy(large.batchId, APPROVER, large.tag);
  });
});

describe('the batch option requireApproval', () => {
  it('cannot loosen the deployment setting: requireApproval false still needs another submitter when approval is on', async () => {
    const b = await lockedRerate(1, { requireApproval: false });
    setApproval({});
    const refused = await submit(b.batchId, LOCKER, b.tag);
    expect([refused.status, refused.body.code]).toEqual([403, 'SAME_ACTOR']);
  });

  it('makes it stricter: with approval off, or below the threshold, a batch asking for it needs another submitter', async () => {
    const off = await lockedRerate(1, { requireApproval: true });
    expect((await view(off.batchId, LOCKER)).options.requireApproval).toBe(true);
    const refused = await submit(off.batchId, LOCKER, off.tag);
    expect([refused.status, refused.body.code]).toEqual([403, 'SAME_ACTOR']);
    await expectSubmittedBy(off.batchId, APPROVER, off.tag);

    const below = await lockedRerate(1, { requireApproval: true });
    setApproval({ minEvents: 100 });
    const alsoRefused = await submit(below.batchId, LOCKER, below.tag);
    expect([alsoRefused.status, alsoRefused.body.code]).toEqual([403, 'SAME_ACTOR']);
  });
});
