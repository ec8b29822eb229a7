// Balance operations the API offers: grants (top-ups), balances and the ledger.
import { createHash, randomUUID } from 'node:crypto';
import { grantWindow, type GrantRequest } from '../domain/balance';
import { DomainError } from '../domain/errors';
import { registersOf } from '../domain/subscription';
import { addGrant, listBalances, listLedger, requireRegisterOf } from '../store/balances';
import { requireSubscription } from '../store/subscriptions';

/**
 * Grants allowance to a subscription's register. With an Idempotency-Key the grant id derives
 * from it, so a repeated call finds the grant it made instead of granting twice.
 */
export async function grantAllowance(
  subscriptionId: string,
  register: string,
  request: GrantRequest,
  actor: string,
  now: string,
  idempotencyKey?: string,
) {
  const sub = await requireSubscription(subscriptionId);
  requireRegisterOf(registersOf(sub), register, subscriptionId);
  const window = grantWindow(request, sub);
  if ('code' in window) throw new DomainError(window.code, window.message, [{ path: 'body.validFrom', ...window }]);
  const grantId = idempotencyKey
    ? createHash('sha256').update(`${subscriptionId}\n${register}\n${idempotencyKey}`).digest('base64url').slice(0, 22)
    : randomUUID();
  return addGrant({ subscriptionId, register, grantId, amount: request.amount, ...window, ...(request.reason ? { reason: request.reason } : {}) }, actor, now);
}

export async function balancesOf(subscriptionId: string, now: string) {
  const sub = await requireSubscription(subscriptionId);
  return listBalances(subscriptionId, registersOf(sub), now);
}

export async function ledgerOf(subscriptionId: string, register: string, limit: number, cursor?: string) {
  const sub = await requireSubscription(subscriptionId);
  requireRegisterOf(registersOf(sub), register, subscriptionId);
  return listLedger(subscriptionId, register, limit, cursor);
}
