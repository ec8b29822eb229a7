// Bill lines: one item per subscription and period, changed only by ADDs of rated deltas.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BillField } from '../domain/adjustment';
import { previousStatus, type BillLine, type BillStatus } from '../domain/bill-line';
import { DomainError } from '../domain/errors';
import { clients } from './clients';
import { queryAll } from './query-all';
import { isConditionFailure } from './errors';
import { keys } from './keys';
import type { TransactItem } from './grouped-transactions';

type Item = Record<string, unknown>;

export const toBillLine = (item: Item): BillLine => ({
  subscriptionId: item.subscriptionId as string,
  period: item.period as string,
  currency: item.currency as string,
  usageAmount: (item.usageAmount as bigint | undefined) ?? 0n,
  adjustments: (item.adjustments as bigint | undefined) ?? 0n,
  previousBalanceAdjustments: (item.previousBalanceAdjustments as bigint | undefined) ?? 0n,
  eventCount: Number(item.eventCount ?? 0n),
  ...(item.periodMinimum !== undefined ? { periodMinimum: item.periodMinimum as bigint } : {}),
  status: item.status as BillStatus,
  ...(typeof item.billUnitId === 'string' ? { billUnitId: item.billUnitId } : {}),
  updatedAt: item.updatedAt as string,
  version: Number(item.version ?? 0n),
});

export interface BillDelta {
  subscriptionId: string;
  period: string;
  currency: string;
  usageAmount: bigint;
  eventCount: number;
  periodMinimum?: bigint;
  /** Credit and rebill adjustments posted to this line (minor units). */
  adjustments?: bigint;
  /** Where new bill lines of the subscription go (assignmentOf); null before its account exists. */
  billUnitId: string | null;
}

/**
 * Adds a rated delta to a bill line, creating it OPEN. Never touches an INTERFACED line: the
 * condition fails and the caller reports AR_INTERFACED.
 */
export function billLineUpdate(d: BillDelta, now: string): TransactItem {
  const values: Record<string, unknown> = {
    ':u': d.usageAmount,
    ':n': d.eventCount,
    ':open': 'OPEN',
    ':interfaced': 'INTERFACED',
    ':itemType': 'BILL_LINE',
    ':s': d.subscriptionId,
    ':p': d.period,
    ':c': d.currency,
    ':now': now,
    // Stamped once, at creation: a line keeps its bill unit when its balance group moves. A null
    // stamp (no account yet) is still a stamp, so a later charge cannot re-stamp an old line.
    ':bu': d.billUnitId,
    ':one': 1,
  };
  let set =
    'itemType = :itemType, subscriptionId = :s, period = :p, currency = :c, updatedAt = :now, #status = if_not_exists(#status, :open), billUnitId = if_not_exists(billUnitId, :bu)';
  if (d.adjustments) values[':adj'] = d.adjustments;
  else {
    set += ', adjustments = if_not_exists(adjustments, :zero)';
    values[':zero'] = 0n;
  }
  let remove = '';
  if (d.periodMinimum !== undefined) {
    set += ', periodMinimum = :min';
    values[':min'] = d.periodMinimum;
  } else remove = ' REMOVE periodMinimum';
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.billLine(d.subscriptionId, d.period),
      UpdateExpression: `ADD usageAmount :u, eventCount :n, version :one${d.adjustments ? ', adjustments :adj' : ''} SET ${set}${remove}`,
      ConditionExpression: 'attribute_not_exists(PK) OR #status <> :interfaced',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

export interface BillAdjustmentDelta {
  subscriptionId: string;
  period: string;
  currency: string;
  field: BillField;
  amount: bigint;
  periodMinimum?: bigint;
  billUnitId: string | null;
}

/**
 * Adds an adjustment to a line that is not billed yet, creating it OPEN (stamped with its bill
 * unit, like a rated line). The condition keeps a line billed meanwhile untouched: the caller
 * reads again and posts where the accounting method says.
 */
export function billLineAdjustmentUpdate(d: BillAdjustmentDelta, now: string): TransactItem {
  const values: Record<string, unknown> = {
    ':a': d.amount,
    ':open': 'OPEN',
    ':itemType': 'BILL_LINE',
    ':s': d.subscriptionId,
    ':p': d.period,
    ':c': d.currency,
    ':now': now,
    ':bu': d.billUnitId,
    ':one': 1,
  };
  // An attribute may appear once per expression: `adjustments` is either added to or defaulted.
  let set =
    'itemType = :itemType, subscriptionId = :s, period = :p, currency = :c, updatedAt = :now, #status = if_not_exists(#status, :open), billUnitId = if_not_exists(billUnitId, :bu)';
  if (d.field !== 'adjustments') {
    set += ', adjustments = if_not_exists(adjustments, :zero)';
    values[':zero'] = 0n;
  }
  if (d.periodMinimum !== undefined) {
    set += ', periodMinimum = if_not_exists(periodMinimum, :min)';
    values[':min'] = d.periodMinimum;
  }
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.billLine(d.subscriptionId, d.period),
      UpdateExpression: `ADD #field :a, version :one SET ${set}`,
      ConditionExpression: 'attribute_not_exists(PK) OR #status = :open',
      ExpressionAttributeNames: { '#status': 'status', '#field': d.field },
      ExpressionAttributeValues: values,
    },
  };
}

export async function listBillLines(subscriptionId: string): Promise<BillLine[]> {
  const items = await queryAll(keys.subscription(subscriptionId).PK, keys.billLinePrefix);
  return items.map(toBillLine);
}

/** Moves a line forward one status; asking for the status it already has is a no-op. */
export async function setBillStatus(
  subscriptionId: string,
  period: string,
  to: Exclude<BillStatus, 'OPEN'>,
  now: string,
): Promise<BillLine> {
  const from = previousStatus(to)!;
  try {
    const res = await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.billLine(subscriptionId, period),
        UpdateExpression:
          'SET #status = :to, updatedAt = :now, statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry) ADD version :one',
        ConditionExpression: 'attribute_exists(PK) AND #status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':to': to,
          ':from': from,
          ':now': now,
          ':empty': [],
          ':entry': [{ status: to, at: now }],
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return toBillLine(res.Attributes!);
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const current = err.Item?.status?.S;
    if (!current) throw new DomainError('NOT_FOUND', `subscription ${subscriptionId} has no bill line for ${period}`);
    if (current === to) {
      const lines = await listBillLines(subscriptionId);
      return lines.find((l) => l.period === period)!;
    }
    throw new DomainError(
      'INVALID_TRANSITION',
      `bill line ${period} is ${current}; it can become ${to} only from ${from}`,
    );
  }
}

export interface BillAdjustment {
  id: string;
  subscriptionId: string;
  kind: 'CREDIT' | 'REBILL';
  /** Minor units: a credit is negative. */
  amount: bigint;
  /** The interfaced period it corrects. */
  originalPeriod: string;
  /** The open period it is posted to. */
  period: string;
  /** What the original period's events rated to before and after the correction (minor units). */
  usageBefore?: bigint;
  usageAfter?: bigint;
  batchId?: string;
  at: string;
}

export function billAdjustmentPut(a: BillAdjustment): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: { ...keys.billAdjustment(a.subscriptionId, a.period, a.id), itemType: 'BILL_ADJUSTMENT', ...a },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

export async function listBillAdjustments(subscriptionId: string): Promise<BillAdjustment[]> {
  const items = await queryAll(keys.subscription(subscriptionId).PK, keys.billAdjustmentPrefix);
  return items.map((i) => ({
    id: i.id as string,
    subscriptionId: i.subscriptionId as string,
    kind: i.kind as BillAdjustment['kind'],
    amount: i.amount as bigint,
    originalPeriod: i.originalPeriod as string,
    period: i.period as string,
    ...(i.usageBefore !== undefined ? { usageBefore: i.usageBefore as bigint } : {}),
    ...(i.usageAfter !== undefined ? { usageAfter: i.usageAfter as bigint } : {}),
    ...(i.batchId ? { batchId: i.batchId as string } : {}),
    at: i.at as string,
  }));
}
