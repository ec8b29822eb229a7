// A subscription's plan: which register each product draws on, at what unit price, and the
// period minimum. Pure: validation and the rules for changing a plan.
import { z } from 'zod';
import { parseMoney } from './decimal';
import type { FieldRefusal } from './errors';
import { CalendarDate, Currency, Id, MoneyInput, RegisterName, UnitPrice } from './values';

export interface ProductPlan {
  register: string;
  unitPrice: bigint;
}

export interface Subscription {
  subscriptionId: string;
  accountId: string;
  startDate: string;
  currency: string;
  products: Record<string, ProductPlan>;
  /** Minor units; absent means no minimum. */
  periodMinimum?: bigint;
  /** Grows with every change of the plan; ratings record the version they used. */
  planVersion: number;
  createdAt: string;
  updatedAt: string;
}

export const MAX_PRODUCTS = 50;

export const SubscriptionInput = z
  .strictObject({
    accountId: Id,
    startDate: CalendarDate,
    currency: Currency,
    products: z
      .record(Id, z.strictObject({ register: RegisterName, unitPrice: UnitPrice }))
      .refine((p) => Object.keys(p).length >= 1, 'needs at least one product')
      .refine((p) => Object.keys(p).length <= MAX_PRODUCTS, `has more than ${MAX_PRODUCTS} products`),
    periodMinimum: MoneyInput.optional(),
  })
  .transform((input, ctx) => {
    let periodMinimum: bigint | undefined;
    if (input.periodMinimum !== undefined) {
      const r = parseMoney(input.periodMinimum, input.currency);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', path: ['periodMinimum'], message: `${r.message} for ${input.currency}` });
        return z.NEVER;
      }
      periodMinimum = r.value;
    }
    return { ...input, periodMinimum };
  });

export type SubscriptionPlan = z.output<typeof SubscriptionInput>;

/**
 * What may not change once a subscription exists: its currency and account (balances and bill
 * lines are denominated and owned by them) and the register a product draws on (ratings and
 * ledgers are partitioned by it). Prices, products added and the minimum may change.
 */
export function planChangeIssues(existing: Subscription, next: SubscriptionPlan): FieldRefusal[] {
  const issues: FieldRefusal[] = [];
  if (existing.currency !== next.currency) {
    issues.push({
      path: 'body.currency',
      code: 'VALIDATION_FAILED',
      message: `currency is ${existing.currency} and cannot change`,
    });
  }
  if (existing.accountId !== next.accountId) {
    issues.push({
      path: 'body.accountId',
      code: 'VALIDATION_FAILED',
      message: `accountId is ${existing.accountId} and cannot change`,
    });
  }
  for (const [productId, plan] of Object.entries(existing.products)) {
    const nextPlan = next.products[productId];
    if (!nextPlan) {
      issues.push({
        path: `body.products.${productId}`,
        code: 'VALIDATION_FAILED',
        message: 'an existing product cannot be removed',
      });
    } else if (nextPlan.register !== plan.register) {
      issues.push({
        path: `body.products.${productId}.register`,
        code: 'VALIDATION_FAILED',
        message: `product draws on ${plan.register} and cannot move to another register`,
      });
    }
  }
  return issues;
}

export function registersOf(sub: Pick<Subscription, 'products'>): string[] {
  return [...new Set(Object.values(sub.products).map((p) => p.register))].sort();
}

/** The instant a subscription starts: nothing may be dated before it. */
export const subscriptionStart = (sub: Pick<Subscription, 'startDate'>) => `${sub.startDate}T00:00:00.000Z`;
