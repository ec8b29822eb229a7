// Domain events that balance management emits. Pure: the shapes, one builder, and the publisher
// port. Each event is written to the outbox in the transaction of the change it reports and
// published after it (docs/balance-management.md, "Events"). Amounts are decimal strings, so an
// event is plain JSON wherever it goes (EventBridge, logs).

export const EVENT_SOURCE = 'usage-corrections';

export interface RegisterRef {
  subscriptionId: string;
  register: string;
}

export interface BalanceTransferred {
  transferId: string;
  from: RegisterRef;
  to: RegisterRef;
  amount: string;
  effectiveAt: string;
  reason?: string;
}

export interface BalanceGroupMoved {
  moveId: string;
  balanceGroupId: string;
  fromBillUnitId: string;
  toBillUnitId: string;
  /** The empty group created so that the source bill unit keeps one. */
  emptyBalanceGroupId?: string;
  reason?: string;
}

export interface BalanceAdjusted {
  adjustmentId: string;
  subscriptionId: string;
  target: 'REGISTER' | 'BILL';
  direction: 'DEBIT' | 'CREDIT';
  /** Quantity of the register, or money in `currency`. */
  amount: string;
  register?: string;
  currency?: string;
  effectiveAt: string;
  /** Where it landed: see AdjustmentTreatment in adjustment.ts. */
  treatment: string;
  postedPeriod?: string;
  reason: string;
}

/** A batch changed a bill line that was already BILLED: the billing system must re-issue that bill. */
export interface BillReinvoiceRequired {
  subscriptionId: string;
  batchId: string;
  currency: string;
  lines: Array<{ period: string; before: string; after: string }>;
}

interface Details {
  BILL_REINVOICE_REQUIRED: BillReinvoiceRequired;
  BALANCE_TRANSFERRED: BalanceTransferred;
  BALANCE_GROUP_MOVED: BalanceGroupMoved;
  BALANCE_ADJUSTED: BalanceAdjusted;
}

export type DomainEventType = keyof Details;

export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  /** Stable across retries and republishing: consumers deduplicate on it. */
  eventId: string;
  type: T;
  source: typeof EVENT_SOURCE;
  accountId: string;
  occurredAt: string;
  actor: string;
  detail: Details[T];
}

/** The event of an operation; its id derives from the operation's, so one operation has one event. */
export function domainEvent<T extends DomainEventType>(
  type: T,
  operationId: string,
  context: { accountId: string; occurredAt: string; actor: string },
  detail: Details[T],
): DomainEvent<T> {
  return { eventId: `${type}:${operationId}`, type, source: EVENT_SOURCE, ...context, detail };
}

/** Where events go: EventBridge in AWS, the log on the local stack, a list in tests. */
export interface EventPublisher {
  /** Resolves only when every event was accepted; otherwise throws and the outbox keeps them. */
  publish(events: readonly DomainEvent[]): Promise<void>;
}
