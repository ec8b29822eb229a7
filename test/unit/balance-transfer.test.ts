import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_GRANTS_PER_DEBIT, planDebit, type Grant } from '../../shared/domain/balance';
import {
  creditGrants,
  transferEntries,
  transferRefusal,
  type TransferRequest,
} from '../../shared/domain/balance-transfer';
import type { Subscription } from '../../shared/domain/subscription';

const M = 1_000_000n;
const at = '2026-06-01T00:00:00.000Z';
const grant = (grantId: string, amount: bigint, overrides: Partial<Grant> = {}): Grant => ({
  grantId,
  register: 'MINUTES',
  amount,
  drawn: 0n,
  validFrom: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('planDebit', () => {
  it('takes undrawn allowance in draw order: expiring first, open-ended last', () => {
    const plan = planDebit(
      [
        grant('open', 100n * M),
        grant('june', 30n * M, { validTo: '2026-07-01T00:00:00.000Z', drawn: 10n * M }),
        grant('may', 50n * M, { validTo: '2026-05-31T00:00:00.000Z' }),
      ],
      'MINUTES',
      40n * M,
      at,
    );
    // 'may' has expired at `at`: its leftover is forfeited, not transferable.
    expect(plan).toEqual({
      ok: true,
      takes: [
        { grantId: 'june', take: 20n * M, validFrom: '2026-01-01T00:00:00.000Z', validTo: '2026-07-01T00:00:00.000Z' },
        { grantId: 'open', take: 20n * M, validFrom: '2026-01-01T00:00:00.000Z' },
      ],
    });
  });

  it('refuses more than the grants valid at the instant hold as INSUFFICIENT_BALANCE', () => {
    const plan = planDebit(
      [grant('g', 10n * M, { drawn: 4n * M }), grant('later', 99n * M, { validFrom: '2026-07-01T00:00:00.000Z' })],
      'MINUTES',
      7n * M,
      at,
    );
    expect(plan).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_BALANCE',
      message: expect.stringContaining('holds 6 available'),
    });
  });

  it('ignores other registers', () => {
    expect(planDebit([grant('g', 10n * M, { register: 'DATA_MB' })], 'MINUTES', 1n, at).ok).toBe(false);
  });

  it(`refuses a debit spread over more than ${MAX_GRANTS_PER_DEBIT} grants`, () => {
    const grants = Array.from({ length: MAX_GRANTS_PER_DEBIT + 1 }, (_, i) =>
      grant(`g${String(i).padStart(2, '0')}`, M),
    );
    expect(planDebit(grants, 'MINUTES', BigInt(MAX_GRANTS_PER_DEBIT) * M, at).ok).toBe(true);
    expect(planDebit(grants, 'MINUTES', BigInt(MAX_GRANTS_PER_DEBIT + 1) * M, at)).toMatchObject({
      ok: false,
      code: 'VALIDATION_FAILED',
    });
  });

  it('never takes more than a grant has undrawn, and takes exactly the amount (property)', () => {
    const arb = fc.array(
      fc.record({ amount: fc.bigInt({ min: 0n, max: 50n }), drawn: fc.bigInt({ min: 0n, max: 50n }) }),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(arb, fc.bigInt({ min: 1n, max: 200n }), (specs, amount) => {
        const grants = specs.map((s, i) => grant(`g${i}`, s.amount > s.drawn ? s.amount : s.drawn, { drawn: s.drawn }));
        const plan = planDebit(grants, 'MINUTES', amount, at);
        const undrawn = grants.reduce((s, g) => s + g.amount - g.drawn, 0n);
        if (!plan.ok) return plan.code === 'INSUFFICIENT_BALANCE' && undrawn < amount;
        const byId = new Map(grants.map((g) => [g.grantId, g]));
        return (
          plan.takes.reduce((s, t) => s + t.take, 0n) === amount &&
          plan.takes.every((t) => t.take > 0n && t.take <= byId.get(t.grantId)!.amount - byId.get(t.grantId)!.drawn)
        );
      }),
    );
  });
});

describe('creditGrants', () => {
  it('creates one grant per expiry, valid from the effective instant', () => {
    const credits = creditGrants(
      [
        { grantId: 'a', take: 5n, validFrom: 'x', validTo: '2026-07-01T00:00:00.000Z' },
        { grantId: 'b', take: 7n, validFrom: 'x' },
        { grantId: 'c', take: 1n, validFrom: 'x', validTo: '2026-07-01T00:00:00.000Z' },
      ],
      't1',
      at,
    );
    expect(credits).toEqual([
      { grantId: 'transfer:t1:1', amount: 6n, validFrom: at, validTo: '2026-07-01T00:00:00.000Z' },
      { grantId: 'transfer:t1:2', amount: 7n, validFrom: at },
    ]);
    expect(creditGrants([{ grantId: 'b', take: 7n, validFrom: 'x' }], 't2', at)).toEqual([
      { grantId: 'transfer:t2', amount: 7n, validFrom: at },
    ]);
  });
});

const sub = (subscriptionId: string, accountId = 'acct'): Subscription => ({
  subscriptionId,
  accountId,
  startDate: '2026-01-01',
  currency: 'USD',
  products: { voice: { register: 'MINUTES', unitPrice: 0n } },
  planVersion: 1,
  createdAt: at,
  updatedAt: at,
});
const request = (overrides: Partial<TransferRequest> = {}): TransferRequest => ({
  from: { subscriptionId: 's1', register: 'MINUTES' },
  to: { subscriptionId: 's2', register: 'MINUTES' },
  amount: 5n * M,
  ...overrides,
});

describe('transferRefusal', () => {
  it('refuses across accounts, across resources, and within one register', () => {
    expect(transferRefusal(sub('s1'), sub('s2', 'other'), request())?.code).toBe('CROSS_ACCOUNT');
    expect(
      transferRefusal(sub('s1'), sub('s2'), request({ to: { subscriptionId: 's2', register: 'DATA_MB' } }))?.code,
    ).toBe('RESOURCE_MISMATCH');
    expect(
      transferRefusal(sub('s1'), sub('s1'), request({ to: { subscriptionId: 's1', register: 'MINUTES' } }))?.code,
    ).toBe('VALIDATION_FAILED');
    expect(transferRefusal(sub('s1'), sub('s2'), request())).toBeUndefined();
  });
});

describe('transferEntries', () => {
  it('writes a debit and a credit of the same amount that name each other', () => {
    const { out, in: inEntry } = transferEntries(
      request({ reason: 'family share' }),
      't9',
      [{ grantId: 'g', take: 5n * M, validFrom: 'x' }],
      { effectiveAt: at, now: at, actor: 'ops' },
    );
    expect(out).toMatchObject({
      kind: 'TRANSFER_OUT',
      granted: -5n * M,
      consumed: 0n,
      counterpart: { subscriptionId: 's2', entryId: 'transfer:t9:in' },
      grantChanges: [{ grantId: 'g', amount: -5n * M }],
      reason: 'family share',
    });
    expect(inEntry).toMatchObject({
      kind: 'TRANSFER_IN',
      granted: 5n * M,
      counterpart: { subscriptionId: 's1', entryId: 'transfer:t9:out' },
      grantChanges: [{ grantId: 'transfer:t9', amount: 5n * M }],
    });
  });
});
