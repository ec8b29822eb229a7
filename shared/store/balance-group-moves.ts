// Where a subscription's balance group is (so new bill lines go to its bill unit), and moving a
// group to another bill unit in one transaction: the group, both bill units' counters (the
// source conditional on having no open items), an empty group when the source would be left
// without one, the audit log entry and the domain event.
import { BatchGetCommand, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import {
  describeOpenItems,
  balanceGroupKind,
  emptyBalanceGroupId,
  type Account,
  type AccountLogEntry,
  type Assignment,
  type BalanceGroup,
} from '../domain/account';
import { moveRefusal, sourceChange, type MoveRequest } from '../domain/balance-group-move';
import type { DomainEvent } from '../domain/domain-events';
import { DomainError } from '../domain/errors';
import type { Subscription } from '../domain/subscription';
import { accountLogPut } from './account-log';
import { getAccount } from './accounts';
import { getBillUnit, toBillUnit } from './bill-units';
import { getBalanceGroupItem, newBalanceGroupPut, toBalanceGroup } from './balance-groups';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { indexPage, queryAll } from './query-all';
import { fromWire } from './errors';
import { intent, refusals, transact, type Intent } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';
import { outboxPut } from './outbox';

type Item = Record<string, unknown>;
type BatchGetRequest = NonNullable<ConstructorParameters<typeof BatchGetCommand>[0]['RequestItems']>;

/** Holds only while the group has not moved since it was read (or, never moved, still has no item). */
function groupGuard(accountId: string, balanceGroupId: string, moveSeq: number | undefined): TransactItem {
  return {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.balanceGroup(accountId, balanceGroupId),
      ConditionExpression: moveSeq === undefined ? 'attribute_not_exists(PK)' : 'moveSeq = :seq',
      ...(moveSeq === undefined ? {} : { ExpressionAttributeValues: { ':seq': moveSeq } }),
    },
  };
}

export interface BillUnitAssignment {
  /** The bill unit new bill lines of the subscription belong to; null while its account does not exist. */
  billUnitId: string | null;
  /** Put it in the transaction that creates bill lines: a move that lands first makes it re-plan. */
  guard: TransactItem;
}

export async function assignmentOf(
  sub: Pick<Subscription, 'accountId' | 'subscriptionId'>,
): Promise<BillUnitAssignment> {
  const group = await getBalanceGroupItem(sub.accountId, sub.subscriptionId);
  if (group)
    return { billUnitId: group.billUnitId, guard: groupGuard(sub.accountId, sub.subscriptionId, group.moveSeq) };
  const account = await getAccount(sub.accountId);
  return {
    billUnitId: account?.defaultBillUnitId ?? null,
    guard: groupGuard(sub.accountId, sub.subscriptionId, undefined),
  };
}

/** A subscription's group that never moved: in the default bill unit since the subscription began. */
function implicitGroup(account: Account, sub: Pick<Subscription, 'subscriptionId' | 'createdAt'>): BalanceGroup {
  return {
    balanceGroupId: sub.subscriptionId,
    accountId: account.accountId,
    kind: 'SUBSCRIPTION',
    billUnitId: account.defaultBillUnitId,
    moveSeq: 0,
    history: [{ billUnitId: account.defaultBillUnitId, from: sub.createdAt, by: 'system' }],
    stored: false,
  };
}

export interface MoveFacts {
  moveId: string;
  balanceGroupId: string;
  fromBillUnitId: string;
  toBillUnitId: string;
  emptyBalanceGroupId?: string;
}

export interface MoveCommand {
  account: Account;
  balanceGroupId: string;
  /** Read by the caller for a subscription's group (its account never changes). */
  subscription?: Subscription;
  req: MoveRequest;
  actor: string;
  now: string;
  /** The audit entry and the event of the move, once its id and source are known. */
  record: (move: MoveFacts) => { log: AccountLogEntry; event: DomainEvent };
}

type Role = 'source' | 'target' | 'group' | 'empty' | 'log' | 'outbox';

/** Attempts after a concurrent move changed what the plan read. */
const MAX_ATTEMPTS = 5;

export async function moveBalanceGroup(
  cmd: MoveCommand,
): Promise<{ group: BalanceGroup; move: MoveFacts; event: DomainEvent }> {
  const { account, balanceGroupId, req } = cmd;
  const kind = balanceGroupKind(balanceGroupId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const [stored, target] = await Promise.all([
      getBalanceGroupItem(account.accountId, balanceGroupId),
      getBillUnit(req.toBillUnitId),
    ]);
    if (!target) throw new DomainError('NOT_FOUND', `bill unit ${req.toBillUnitId} was not found`);
    if (!stored && kind !== 'SUBSCRIPTION')
      throw new DomainError(
        'NOT_FOUND',
        `balance group ${balanceGroupId} of account ${account.accountId} was not found`,
      );
    const group = stored ?? implicitGroup(account, cmd.subscription!);
    const refusal = moveRefusal({
      accountId: account.accountId,
      balanceGroupId,
      ...(cmd.subscription ? { subscription: cmd.subscription } : {}),
      currentBillUnitId: group.billUnitId,
      target,
    });
    if (refusal) throw new DomainError(refusal.code, refusal.message);
    const source = (await getBillUnit(group.billUnitId))!;
    const change = sourceChange(source, group.stored);

    const moveSeq = group.moveSeq + 1;
    const move: MoveFacts = {
      moveId: `${balanceGroupId}.${moveSeq}`,
      balanceGroupId,
      fromBillUnitId: source.billUnitId,
      toBillUnitId: target.billUnitId,
      ...(change.createEmpty ? { emptyBalanceGroupId: emptyBalanceGroupId(source.billUnitId) } : {}),
    };
    const assignment: Assignment = { billUnitId: target.billUnitId, from: cmd.now, by: cmd.actor, moveId: move.moveId };
    const { log, event } = cmd.record(move);
    const items: Array<Intent<Role>> = [
      intent<Role>('source', sourceUpdate(account.accountId, source.billUnitId, change)),
      intent<Role>('target', counterUpdate(account.accountId, target.billUnitId, 1)),
      intent<Role>('group', group.stored ? groupMoveUpdate(group, assignment) : newGroupPut(group, assignment)),
      ...(change.createEmpty
        ? [
            intent<Role>(
              'empty',
              newBalanceGroupPut(account.accountId, move.emptyBalanceGroupId!, {
                billUnitId: source.billUnitId,
                from: cmd.now,
                by: cmd.actor,
                moveId: move.moveId,
              }),
            ),
          ]
        : []),
      intent<Role>('log', accountLogPut(log)),
      intent<Role>('outbox', outboxPut(event)),
    ];
    try {
      await transact(items);
      const after: BalanceGroup = {
        ...group,
        billUnitId: target.billUnitId,
        moveSeq,
        history: [...group.history, assignment],
        stored: true,
      };
      return { group: after, move, event };
    } catch (err) {
      const refused = refusals(err, items);
      if (!refused) throw err;
      const sourceItem = refused.get('source')?.Item;
      if (sourceItem) {
        const now = toBillUnit(fromWire(sourceItem));
        if (now.openItems > 0) {
          throw new DomainError(
            'BILL_UNIT_HAS_OPEN_ITEMS',
            `bill unit ${source.billUnitId} has open items (${describeOpenItems(now.openItemCounts)}); resolve them before moving a balance group out`,
          );
        }
      }
      // Anything else that failed is a concurrent move: read again and re-plan.
      if (refused.size === 0) throw err;
    }
  }
  throw new DomainError('CONFLICT', `balance group ${balanceGroupId} or its bill units kept changing; retry the move`);
}

/** The source's counter change; its condition is the open-item guard. */
function sourceUpdate(accountId: string, billUnitId: string, change: ReturnType<typeof sourceChange>): TransactItem {
  const values: Item = { ':d': change.delta, ':acct': accountId, ':zero': 0 };
  let condition = 'accountId = :acct AND openItems = :zero';
  if (change.requires && 'atLeast' in change.requires) {
    condition += ' AND balanceGroups >= :n';
    values[':n'] = change.requires.atLeast;
  } else if (change.requires) {
    condition += ' AND balanceGroups = :n';
    values[':n'] = change.requires.exactly;
  }
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.billUnit(billUnitId),
      UpdateExpression: 'ADD balanceGroups :d',
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

function counterUpdate(accountId: string, billUnitId: string, delta: number): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.billUnit(billUnitId),
      UpdateExpression: 'ADD balanceGroups :d',
      ConditionExpression: 'accountId = :acct',
      ExpressionAttributeValues: { ':d': delta, ':acct': accountId },
    },
  };
}

function groupMoveUpdate(group: BalanceGroup, to: Assignment): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.balanceGroup(group.accountId, group.balanceGroupId),
      UpdateExpression: 'SET billUnitId = :to, moveSeq = :next, history = list_append(history, :entry)',
      ConditionExpression: 'moveSeq = :seq AND billUnitId = :from',
      ExpressionAttributeValues: {
        ':to': to.billUnitId,
        ':next': group.moveSeq + 1,
        ':entry': [to],
        ':seq': group.moveSeq,
        ':from': group.billUnitId,
      },
    },
  };
}

/** A never-moved group gets its item on its first move, with its implicit first assignment. */
function newGroupPut(group: BalanceGroup, to: Assignment): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.balanceGroup(group.accountId, group.balanceGroupId),
        itemType: 'BALANCE_GROUP',
        accountId: group.accountId,
        balanceGroupId: group.balanceGroupId,
        kind: group.kind,
        billUnitId: to.billUnitId,
        moveSeq: 1,
        history: [...group.history, to],
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/**
 * The account's balance groups in pages: its system groups (default, empty) first, then its
 * subscriptions' groups by subscription id. The subscriptions come from an index, which is
 * eventually consistent: a subscription created a moment ago may appear a moment later.
 */
export async function listBalanceGroups(
  account: Account,
  limit: number,
  cursor?: string,
): Promise<{ items: BalanceGroup[]; nextCursor?: string }> {
  const items: BalanceGroup[] = [];
  if (cursor === undefined) items.push(...(await queryGroups(account.accountId, `${keys.balanceGroupPrefix}_`)));
  const page = await indexPage(keys.accountSubscriptionsIndexKey(account.accountId), limit, cursor);
  const subs = page.items.map((item) => {
    const r = readItem(item, 'subscription', 'subscriptionId');
    return { subscriptionId: r.string('subscriptionId'), createdAt: r.string('createdAt') };
  });
  const stored = await batchGetGroups(
    account.accountId,
    subs.map((s) => s.subscriptionId),
  );
  for (const s of subs) items.push(stored.get(s.subscriptionId) ?? implicitGroup(account, s));
  return page.nextCursor ? { items, nextCursor: page.nextCursor } : { items };
}

async function queryGroups(accountId: string, prefix: string): Promise<BalanceGroup[]> {
  const out: BalanceGroup[] = (await queryAll(keys.accountPartition(accountId), prefix)).map(toBalanceGroup);
  return out;
}

async function batchGetGroups(accountId: string, ids: string[]): Promise<Map<string, BalanceGroup>> {
  const out = new Map<string, BalanceGroup>();
  for (let i = 0; i < ids.length; i += 100) {
    let request: BatchGetRequest | undefined = {
      [clients.tableName]: {
        Keys: ids.slice(i, i + 100).map((id) => keys.balanceGroup(accountId, id)),
        ConsistentRead: true,
      },
    };
    while (request && Object.keys(request).length > 0) {
      const res: BatchGetCommandOutput = await clients.dynamo.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of res.Responses?.[clients.tableName] ?? []) {
        const g = toBalanceGroup(item);
        out.set(g.balanceGroupId, g);
      }
      request = res.UnprocessedKeys;
    }
  }
  return out;
}
