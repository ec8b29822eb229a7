// Moving a balance group to another bill unit of its account. Pure: the refusals that need only
// what was read, and what the move does to the source bill unit. The open-item refusal is a
// condition in the move's transaction (store/balance-groups.ts), never a read.
import { z } from 'zod';
import { balanceGroupKind, type BillUnit } from './account';
import type { Subscription } from './subscription';
import type { Refusal } from './errors';
import { Id } from './values';

export const MoveInput = z.strictObject({
  toBillUnitId: Id,
  reason: z.string().min(1).max(200).optional(),
});

export type MoveRequest = z.output<typeof MoveInput>;

export interface MoveContext {
  accountId: string;
  balanceGroupId: string;
  /** The subscription whose group it is, when it is a subscription's group. */
  subscription?: Subscription;
  currentBillUnitId: string;
  target: BillUnit;
}

export function moveRefusal(m: MoveContext): Refusal | undefined {
  const kind = balanceGroupKind(m.balanceGroupId);
  if (kind === 'ACCOUNT')
    return {
      code: 'DEFAULT_BALANCE_GROUP',
      message: `the account's default balance group stays in its default bill unit`,
    };
  if (kind === 'EMPTY')
    return {
      code: 'VALIDATION_FAILED',
      message: `${m.balanceGroupId} is an empty group kept for its bill unit; only a subscription's balance group moves`,
    };
  if (m.subscription && m.subscription.accountId !== m.accountId) {
    return {
      code: 'CROSS_ACCOUNT',
      message: `subscription ${m.balanceGroupId} belongs to account ${m.subscription.accountId}, not ${m.accountId}`,
    };
  }
  if (m.target.accountId !== m.accountId) {
    return { code: 'CROSS_ACCOUNT', message: `bill unit ${m.target.billUnitId} belongs to another account` };
  }
  if (m.target.billUnitId === m.currentBillUnitId)
    return {
      code: 'CONFLICT',
      message: `balance group ${m.balanceGroupId} is already in bill unit ${m.target.billUnitId}`,
    };
  return undefined;
}

export interface SourceChange {
  /** Change of the source's balance-group counter. */
  delta: -1 | 0;
  /** The source would be left without a group: an empty one is created for it. */
  createEmpty: boolean;
  /** The counter value the plan relies on, as the condition of the source's update. */
  requires: { atLeast: number } | { exactly: number } | undefined;
}

/**
 * What leaving does to the source bill unit. A group without an item (a subscription never moved)
 * was never counted, so its default bill unit's counter stays; the default bill unit also holds
 * the account's default group and so is never left empty.
 */
export function sourceChange(source: Pick<BillUnit, 'balanceGroups'>, groupStored: boolean): SourceChange {
  if (!groupStored) return { delta: 0, createEmpty: false, requires: undefined };
  if (source.balanceGroups > 1) return { delta: -1, createEmpty: false, requires: { atLeast: 2 } };
  // The last group leaves and the empty one arrives: the counter stays at one.
  return { delta: 0, createEmpty: true, requires: { exactly: 1 } };
}
