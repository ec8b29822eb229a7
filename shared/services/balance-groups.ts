// Balance groups of an account: listing them and moving one to another bill unit.
import { balanceGroupKind } from '../domain/account';
import type { MoveRequest } from '../domain/balance-group-move';
import { domainEvent } from '../domain/domain-events';
import { requireAccount } from '../store/accounts';
import { listBalanceGroups, moveBalanceGroup } from '../store/balance-group-moves';
import { requireSubscription } from '../store/subscriptions';
import { publishCommitted } from './publish-events';

export async function balanceGroupsOf(accountId: string, limit: number, cursor?: string) {
  return listBalanceGroups(await requireAccount(accountId), limit, cursor);
}

/** Moves a balance group; new bill lines of its subscription go to the new bill unit from now on. */
export async function moveGroup(
  accountId: string,
  balanceGroupId: string,
  req: MoveRequest,
  actor: string,
  now: string,
) {
  const account = await requireAccount(accountId);
  const subscription =
    balanceGroupKind(balanceGroupId) === 'SUBSCRIPTION' ? await requireSubscription(balanceGroupId) : undefined;
  const result = await moveBalanceGroup({
    account,
    balanceGroupId,
    ...(subscription ? { subscription } : {}),
    req,
    actor,
    now,
    record: (move) => {
      const reason: { reason?: string } = req.reason ? { reason: req.reason } : {};
      const data: Record<string, string> = { ...move, ...reason };
      return {
        log: {
          accountId,
          operationId: `move:${move.moveId}`,
          at: now,
          actor,
          action: 'BALANCE_GROUP_MOVED',
          message: `balance group ${balanceGroupId} moved from bill unit ${move.fromBillUnitId} to ${move.toBillUnitId}${move.emptyBalanceGroupId ? `; ${move.emptyBalanceGroupId} created to keep ${move.fromBillUnitId} a group` : ''}`,
          data,
        },
        event: domainEvent(
          'BALANCE_GROUP_MOVED',
          move.moveId,
          { accountId, occurredAt: now, actor },
          { ...move, ...reason },
        ),
      };
    },
  });
  await publishCommitted([result.event], now);
  return result;
}
