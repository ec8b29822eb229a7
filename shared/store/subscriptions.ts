// Subscriptions: the plan every rating reads.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../domain/errors';
import type { Subscription } from '../domain/subscription';
import { batchGet } from './batch-get';
import { clients } from './clients';
import { queryIndexAll } from './query-all';
import { isConditionFailure } from './errors';
import { keys } from './keys';

type Item = Record<string, unknown>;

function toSubscription(item: Item): Subscription {
  const products: Subscription['products'] = {};
  for (const [id, p] of Object.entries(item.products as Record<string, { register: string; unitPrice: bigint }>)) {
    products[id] = { register: p.register, unitPrice: p.unitPrice };
  }
  return {
    subscriptionId: item.subscriptionId as string,
    accountId: item.accountId as string,
    startDate: item.startDate as string,
    currency: item.currency as string,
    products,
    ...(item.periodMinimum !== undefined ? { periodMinimum: item.periodMinimum as bigint } : {}),
    planVersion: Number(item.planVersion),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

export async function getSubscription(subscriptionId: string): Promise<Subscription | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.subscription(subscriptionId), ConsistentRead: true }),
  );
  return res.Item ? toSubscription(res.Item) : undefined;
}

/** Strongly consistent reads of many subscriptions; unknown ids are simply absent. */
export async function getSubscriptions(subscriptionIds: readonly string[]): Promise<Subscription[]> {
  return (await batchGet([...new Set(subscriptionIds)].map((id) => keys.subscription(id)))).map(toSubscription);
}

export async function requireSubscription(subscriptionId: string): Promise<Subscription> {
  const sub = await getSubscription(subscriptionId);
  if (!sub) throw new DomainError('NOT_FOUND', `subscription ${subscriptionId} was not found`);
  return sub;
}

/**
 * Writes a subscription: a new one only if none exists, a change only at the plan version it was
 * read at, so two concurrent changes cannot both win.
 */
export async function writeSubscription(subscription: Subscription, readAt: number | undefined): Promise<void> {
  try {
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: {
          ...keys.subscription(subscription.subscriptionId),
          ...keys.accountSubscription(subscription.accountId, subscription.subscriptionId),
          itemType: 'SUBSCRIPTION',
          ...subscription,
        },
        ConditionExpression: readAt !== undefined ? 'planVersion = :v' : 'attribute_not_exists(PK)',
        ...(readAt !== undefined ? { ExpressionAttributeValues: { ':v': readAt } } : {}),
      }),
    );
  } catch (err) {
    if (isConditionFailure(err))
      throw new DomainError(
        'CONFLICT',
        `subscription ${subscription.subscriptionId} changed concurrently; read it and retry`,
      );
    throw err;
  }
}

/** Ids of an account's subscriptions (from an eventually consistent index: invariant checks, listings). */
export async function accountSubscriptionIds(accountId: string): Promise<string[]> {
  // GSI1 carries keys only; its sort key here is the subscription's id.
  return (await queryIndexAll('GSI1', keys.accountSubscriptionsIndexKey(accountId))).map((i) => i.GSI1SK as string);
}
