// Creating and changing a subscription: which fields an existing one may change is the domain's
// rule (planChangeIssues); the store writes at the plan version read.
import { DomainError } from '../domain/errors';
import { planChangeIssues, type Subscription, type SubscriptionPlan } from '../domain/subscription';
import { getSubscription, writeSubscription } from '../store/subscriptions';

/** Creates or changes a subscription; immutable fields are refused with the field named. */
export async function putSubscription(
  subscriptionId: string,
  plan: SubscriptionPlan,
  now: string,
): Promise<{ subscription: Subscription; created: boolean }> {
  const existing = await getSubscription(subscriptionId);
  if (existing) {
    const issues = planChangeIssues(existing, plan);
    if (issues.length > 0)
      throw new DomainError('VALIDATION_FAILED', 'The change is not allowed for an existing subscription', issues);
  }
  const subscription: Subscription = {
    subscriptionId,
    accountId: plan.accountId,
    startDate: plan.startDate,
    currency: plan.currency,
    products: plan.products,
    ...(plan.periodMinimum !== undefined ? { periodMinimum: plan.periodMinimum } : {}),
    planVersion: (existing?.planVersion ?? 0) + 1,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await writeSubscription(subscription, existing?.planVersion);
  return { subscription, created: !existing };
}
