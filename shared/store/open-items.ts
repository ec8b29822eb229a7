// Open items of a bill unit (payments, refunds, disputes not yet settled). Each change moves the
// bill unit's open-item counters in the same transaction, with its audit log entry.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  OPEN_ITEM_KINDS,
  OPEN_ITEM_STATUSES,
  type Account,
  type OpenItem,
  type OpenItemKind,
  type OpenItemStatus,
} from '../domain/account';
import { formatMoney } from '../domain/decimal';
import { DomainError } from '../domain/errors';
import { accountLogPut } from './account-log';
import { openItemCountersUpdate, requireBillUnitOf } from './bill-units';
import { clients } from './clients';
import type { TransactItem } from './grouped-transactions';
import { intent, refusals, transact } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';
import { queryPrefixPage, type Page } from './query-all';

type Item = Record<string, unknown>;

const toOpenItem = (item: Item): OpenItem => {
  const r = readItem(item, 'open item', 'openItemId');
  const amount = r.optionalBigint('amount');
  const reference = r.optionalString('reference');
  const note = r.optionalString('note');
  const resolvedAt = r.optionalString('resolvedAt');
  const resolution = r.optionalString('resolution');
  return {
    openItemId: r.string('openItemId'),
    billUnitId: r.string('billUnitId'),
    accountId: r.string('accountId'),
    kind: r.oneOf('kind', OPEN_ITEM_KINDS),
    status: r.oneOf('status', OPEN_ITEM_STATUSES),
    ...(amount !== undefined ? { amount } : {}),
    ...(reference ? { reference } : {}),
    ...(note ? { note } : {}),
    recordedAt: r.string('recordedAt'),
    recordedBy: r.string('recordedBy'),
    ...(resolvedAt ? { resolvedAt, resolvedBy: r.string('resolvedBy') } : {}),
    ...(resolution ? { resolution } : {}),
  };
};

/** The open item's item, new: refused when the id is taken on the bill unit. */
const newOpenItemPut = (o: OpenItem): TransactItem => ({
  Put: {
    TableName: clients.tableName,
    Item: { ...keys.openItem(o.billUnitId, o.openItemId), itemType: 'OPEN_ITEM', ...o },
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

/** The open item resolved: refused unless it is still open. */
const resolvedUpdate = (
  billUnitId: string,
  openItemId: string,
  resolution: string | undefined,
  actor: string,
  now: string,
): TransactItem => ({
  Update: {
    TableName: clients.tableName,
    Key: keys.openItem(billUnitId, openItemId),
    UpdateExpression: `SET #status = :resolved, resolvedAt = :now, resolvedBy = :actor${resolution ? ', resolution = :resolution' : ''}`,
    ConditionExpression: '#status = :open',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':resolved': 'RESOLVED',
      ':open': 'OPEN',
      ':now': now,
      ':actor': actor,
      ...(resolution ? { ':resolution': resolution } : {}),
    },
  },
});

export interface NewOpenItem {
  openItemId: string;
  kind: OpenItemKind;
  amount?: bigint;
  reference?: string;
  note?: string;
}

const sameOpenItem = (a: OpenItem, b: NewOpenItem) =>
  a.kind === b.kind && a.amount === b.amount && a.reference === b.reference && a.note === b.note;

/** Records an open item on a bill unit; recording the same item again answers it unchanged. */
export async function recordOpenItem(
  account: Account,
  billUnitId: string,
  req: NewOpenItem,
  actor: string,
  now: string,
): Promise<{ openItem: OpenItem; created: boolean }> {
  await requireBillUnitOf(account.accountId, billUnitId);
  const openItem: OpenItem = {
    ...req,
    billUnitId,
    accountId: account.accountId,
    status: 'OPEN',
    recordedAt: now,
    recordedBy: actor,
  };
  const intents = [
    intent('open item', newOpenItemPut(openItem)),
    intent('counters', openItemCountersUpdate(account.accountId, billUnitId, req.kind, 1)),
    intent(
      'log',
      accountLogPut({
        accountId: account.accountId,
        operationId: `open-item:${billUnitId}:${req.openItemId}:recorded`,
        at: now,
        actor,
        action: 'OPEN_ITEM_RECORDED',
        message: `${req.kind} ${req.openItemId} recorded on bill unit ${billUnitId}`,
        data: {
          billUnitId,
          openItemId: req.openItemId,
          kind: req.kind,
          ...(req.amount !== undefined ? { amount: formatMoney(req.amount, account.currency) } : {}),
          ...(req.reference ? { reference: req.reference } : {}),
        },
      }),
    ),
  ];
  try {
    await transact(intents);
  } catch (err) {
    if (!refusals(err, intents)?.has('open item')) throw err;
    const existing = await getOpenItem(billUnitId, req.openItemId);
    if (existing && sameOpenItem(existing, req)) return { openItem: existing, created: false };
    throw new DomainError(
      'CONFLICT',
      `open item ${req.openItemId} already exists on bill unit ${billUnitId} with other content`,
    );
  }
  return { openItem, created: true };
}

async function getOpenItem(billUnitId: string, openItemId: string): Promise<OpenItem | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.openItem(billUnitId, openItemId), ConsistentRead: true }),
  );
  return res.Item ? toOpenItem(res.Item) : undefined;
}

/** Resolves an open item (allocated, refunded, settled); resolving it again is a no-op. */
export async function resolveOpenItem(
  accountId: string,
  billUnitId: string,
  openItemId: string,
  resolution: string | undefined,
  actor: string,
  now: string,
): Promise<OpenItem> {
  await requireBillUnitOf(accountId, billUnitId);
  const existing = await getOpenItem(billUnitId, openItemId);
  if (!existing) throw new DomainError('NOT_FOUND', `open item ${openItemId} of bill unit ${billUnitId} was not found`);
  if (existing.status === 'RESOLVED') return existing;
  const intents = [
    intent('open item', resolvedUpdate(billUnitId, openItemId, resolution, actor, now)),
    intent('counters', openItemCountersUpdate(accountId, billUnitId, existing.kind, -1)),
    intent(
      'log',
      accountLogPut({
        accountId,
        operationId: `open-item:${billUnitId}:${openItemId}:resolved`,
        at: now,
        actor,
        action: 'OPEN_ITEM_RESOLVED',
        message: `${existing.kind} ${openItemId} resolved on bill unit ${billUnitId}`,
        data: { billUnitId, openItemId, kind: existing.kind, ...(resolution ? { resolution } : {}) },
      }),
    ),
  ];
  try {
    await transact(intents);
  } catch (err) {
    // Resolved by someone else meanwhile: the item says so.
    if (!refusals(err, intents)?.has('open item')) throw err;
  }
  return (await getOpenItem(billUnitId, openItemId))!;
}

/** A bill unit's open items in id order, in pages; `status` filters. */
export async function listOpenItems(
  billUnitId: string,
  status: OpenItemStatus | undefined,
  limit: number,
  cursor?: string,
): Promise<Page<OpenItem>> {
  const page = await queryPrefixPage({
    pk: keys.billUnitPartition(billUnitId),
    prefix: keys.openItemPrefix,
    limit,
    cursor,
    ...(status
      ? { filter: { expression: '#status = :status', names: { '#status': 'status' }, values: { ':status': status } } }
      : {}),
  });
  return { ...page, items: page.items.map(toOpenItem) };
}

/** Every open item of a bill unit (invariant checks). */
export async function allOpenItems(billUnitId: string): Promise<OpenItem[]> {
  const out: OpenItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await listOpenItems(billUnitId, undefined, 1000, cursor);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
