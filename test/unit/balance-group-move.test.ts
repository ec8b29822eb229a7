import { describe, expect, it } from 'vitest';
import { noOpenItems, type BillUnit } from '../../shared/domain/account';
import { moveRefusal, sourceChange } from '../../shared/domain/balance-group-move';
import type { Subscription } from '../../shared/domain/subscription';

const billUnit = (billUnitId: string, accountId = 'a'): BillUnit => ({
  billUnitId,
  accountId,
  isDefault: false,
  balanceGroups: 1,
  openItems: 0,
  openItemCounts: noOpenItems(),
  createdAt: 'x',
});
const sub = (accountId = 'a') => ({ subscriptionId: 's', accountId }) as Subscription;

describe('moveRefusal', () => {
  const ok = {
    accountId: 'a',
    balanceGroupId: 's',
    subscription: sub(),
    currentBillUnitId: 'b1',
    target: billUnit('b2'),
  };

  it('allows a subscription group to another bill unit of its account', () => {
    expect(moveRefusal(ok)).toBeUndefined();
  });

  it.each([
    ['the default group', { balanceGroupId: '_default' }, 'DEFAULT_BALANCE_GROUP'],
    ['an empty group', { balanceGroupId: '_empty.b1' }, 'VALIDATION_FAILED'],
    ["another account's subscription", { subscription: sub('z') }, 'CROSS_ACCOUNT'],
    ["another account's bill unit", { target: billUnit('b9', 'z') }, 'CROSS_ACCOUNT'],
    ['the bill unit it is in', { target: billUnit('b1') }, 'CONFLICT'],
  ])('refuses %s', (_n, change, code) => {
    expect(moveRefusal({ ...ok, ...change })?.code).toBe(code);
  });
});

describe('sourceChange', () => {
  it('leaves the counter of a default bill unit alone for a group that never had an item', () => {
    expect(sourceChange({ balanceGroups: 1 }, false)).toEqual({ delta: 0, createEmpty: false, requires: undefined });
  });

  it('decrements while another group stays, and requires that it still does', () => {
    expect(sourceChange({ balanceGroups: 3 }, true)).toEqual({
      delta: -1,
      createEmpty: false,
      requires: { atLeast: 2 },
    });
  });

  it('creates an empty group when the last one leaves, on the condition that it is still the last', () => {
    expect(sourceChange({ balanceGroups: 1 }, true)).toEqual({ delta: 0, createEmpty: true, requires: { exactly: 1 } });
  });
});
