// Adjustments in one transaction each: the adjustment item (keyed by its id, so a retry meets it),
// what it changes (grants, register and ledger entry; or a bill line), the ledger-close guard,
// the audit log entry and the domain event.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountingMethod, AccountLogEntry } from '../domain/account';
import {
  ADJUSTMENT_DIRECTIONS,
  ADJUSTMENT_TARGETS,
  ADJUSTMENT_TREATMENTS,
  billPosting,
  signedAmount,
  type Adjustment,
  type BillPosting,
} from '../domain/adjustment';
import { planDebit, type GrantChange, type LedgerEntry } from '../domain/balance';
import type { DomainEvent } from '../domain/domain-events';
import { periodOf } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
import type { Subscription } from '../domain/subscription';
import { accountLogPut } from './account-log';
import { assignmentOf } from './balance-group-moves';
import { grantDebitUpdate, grantPut, ledgerEntryPut, listGrants, registerUpdate } from './balances';
import { billLineAdjustmentUpdate, listBillLines } from './bill-lines';
import { clients } from './clients';
import type { TransactItem } from './grouped-transactions';
import { queryAll } from './query-all';
import { intent, refusals, transact, type Intent } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';
import { ledgerOpenCheck } from './ledger-close';
import { outboxPut } from './outbox';

type Item = Record<string, unknown>;
type Role = 'adjustment' | 'debit' | 'change' | 'bill-line' | 'assignment' | 'ledger-close' | 'log' | 'outbox';

/** Attempts after what the plan read (a grant, a bill line's status, the group's bill unit) changed. */
const MAX_ATTEMPTS = 10;

const toAdjustment = (item: Item): Adjustment => {
  const r = readItem(item, 'adjustment', 'adjustmentId');
  const text = (name: 'register' | 'currency' | 'validTo' | 'period') => {
    const v = r.optionalString(name);
    return v ? { [name]: v } : {};
  };
  return {
    adjustmentId: r.string('adjustmentId'),
    subscriptionId: r.string('subscriptionId'),
    accountId: r.string('accountId'),
    target: r.oneOf('target', ADJUSTMENT_TARGETS),
    direction: r.oneOf('direction', ADJUSTMENT_DIRECTIONS),
    amount: r.bigint('amount'),
    ...text('register'),
    ...text('currency'),
    ...text('validTo'),
    effectiveAt: r.string('effectiveAt'),
    treatment: r.oneOf('treatment', ADJUSTMENT_TREATMENTS),
    ...text('period'),
    at: r.string('at'),
    actor: r.string('actor'),
    reason: r.string('reason'),
  };
};

function adjustmentPut(a: Adjustment): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: { ...keys.adjustment(a.subscriptionId, a.adjustmentId), itemType: 'ADJUSTMENT', ...a },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

export async function getAdjustment(subscriptionId: string, adjustmentId: string): Promise<Adjustment | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.adjustment(subscriptionId, adjustmentId),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toAdjustment(res.Item) : undefined;
}

/** A subscription's adjustments, oldest first. */
export async function listAdjustments(subscriptionId: string): Promise<Adjustment[]> {
  const items = await queryAll(keys.subscription(subscriptionId).PK, keys.adjustmentPrefix);
  return items
    .map(toAdjustment)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.adjustmentId < b.adjustmentId ? -1 : 1));
}

/** An adjustment not yet placed: `treatment` and `period` are decided here, from what is stored. */
export type AdjustmentDraft = Omit<Adjustment, 'treatment' | 'period'>;

export interface AdjustmentCommand {
  draft: AdjustmentDraft;
  subscription: Subscription;
  accountingMethod: AccountingMethod;
  /** Set when the effective period is one a concurrent ledger close could close. */
  guardOpenPeriod?: string;
  /** The audit entry and the event, once the adjustment is placed. */
  record: (adjustment: Adjustment) => { log: AccountLogEntry; event: DomainEvent };
}

export interface AdjustmentResult {
  adjustment: Adjustment;
  entry?: LedgerEntry;
  /** True when the adjustment had already been made (a retry): nothing was written now. */
  replayed: boolean;
  event?: DomainEvent;
}

export async function applyAdjustment(cmd: AdjustmentCommand): Promise<AdjustmentResult> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const planned = cmd.draft.target === 'REGISTER' ? await registerItems(cmd) : await billItems(cmd);
    const { log, event } = cmd.record(planned.adjustment);
    const items: Array<Intent<Role>> = [
      intent<Role>('adjustment', adjustmentPut(planned.adjustment)),
      ...planned.items,
      ...(cmd.guardOpenPeriod ? [intent<Role>('ledger-close', ledgerOpenCheck(cmd.guardOpenPeriod))] : []),
      intent<Role>('log', accountLogPut(log)),
      intent<Role>('outbox', outboxPut(event)),
    ];
    try {
      await transact(items);
      return {
        adjustment: planned.adjustment,
        ...(planned.entry ? { entry: planned.entry } : {}),
        replayed: false,
        event,
      };
    } catch (err) {
      const failed = refusals(err, items);
      if (!failed) throw err;
      if (failed.has('adjustment')) {
        const done = await getAdjustment(cmd.draft.subscriptionId, cmd.draft.adjustmentId);
        if (done) return { adjustment: done, replayed: true };
      }
      if (failed.has('ledger-close')) {
        throw new DomainError(
          'BACKDATE_OUT_OF_RANGE',
          `the ledger was closed through ${cmd.guardOpenPeriod} or later while the adjustment was being made`,
        );
      }
      // A grant gave its allowance elsewhere, a line was billed, or the group moved: read again.
      if (!(failed.has('debit') || failed.has('bill-line') || failed.has('assignment'))) throw err;
    }
  }
  throw new DomainError('CONFLICT', `subscription ${cmd.draft.subscriptionId} kept changing; retry the adjustment`);
}

interface Planned {
  adjustment: Adjustment;
  items: Array<Intent<Role>>;
  entry?: LedgerEntry;
}

/** A register credit is a grant valid from the effective instant; a debit takes undrawn allowance valid then. */
async function registerItems(cmd: AdjustmentCommand): Promise<Planned> {
  const d = cmd.draft;
  const register = d.register!;
  const adjustment: Adjustment = { ...d, treatment: 'REGISTER' };
  const items: Array<Intent<Role>> = [];
  let grantChanges: GrantChange[];
  if (d.direction === 'CREDIT') {
    const grantId = `adjustment:${d.adjustmentId}`;
    items.push(
      intent<Role>(
        'change',
        grantPut(
          {
            subscriptionId: d.subscriptionId,
            register,
            grantId,
            amount: d.amount,
            validFrom: d.effectiveAt,
            ...(d.validTo ? { validTo: d.validTo } : {}),
            reason: d.reason,
          },
          d.at,
        ),
      ),
    );
    grantChanges = [{ grantId, amount: d.amount }];
  } else {
    const plan = planDebit(await listGrants(d.subscriptionId, register), register, d.amount, d.effectiveAt);
    if (!plan.ok)
      throw new DomainError(plan.code, plan.message, [{ path: 'body.amount', code: plan.code, message: plan.message }]);
    items.push(...plan.takes.map((t) => intent<Role>('debit', grantDebitUpdate(d.subscriptionId, register, t))));
    grantChanges = plan.takes.map((t) => ({ grantId: t.grantId, amount: -t.take }));
  }
  const entry: LedgerEntry = {
    entryId: `adjustment:${d.adjustmentId}`,
    subscriptionId: d.subscriptionId,
    register,
    kind: 'ADJUSTMENT',
    granted: signedAmount(d),
    consumed: 0n,
    at: d.at,
    actor: d.actor,
    reason: d.reason,
    effectiveAt: d.effectiveAt,
    adjustmentId: d.adjustmentId,
    grantChanges,
  };
  items.push(intent<Role>('change', registerUpdate(entry)), intent<Role>('change', ledgerEntryPut(entry)));
  return { adjustment, items, entry };
}

/** Places a bill adjustment by the accounting method, on the line statuses read now (each write re-checks them). */
async function billItems(cmd: AdjustmentCommand): Promise<Planned> {
  const d = cmd.draft;
  const [lines, assignment] = await Promise.all([listBillLines(d.subscriptionId), assignmentOf(cmd.subscription)]);
  const posting: BillPosting = billPosting(periodOf(d.effectiveAt), cmd.accountingMethod, lines);
  const adjustment: Adjustment = { ...d, treatment: posting.treatment, period: posting.period };
  if (!posting.field) return { adjustment, items: [] };
  return {
    adjustment,
    items: [
      intent<Role>(
        'bill-line',
        billLineAdjustmentUpdate(
          {
            subscriptionId: d.subscriptionId,
            period: posting.period,
            currency: d.currency!,
            field: posting.field,
            amount: signedAmount(d),
            billUnitId: assignment.billUnitId,
            ...(cmd.subscription.periodMinimum !== undefined ? { periodMinimum: cmd.subscription.periodMinimum } : {}),
          },
          d.at,
        ),
      ),
      intent<Role>('assignment', assignment.guard),
    ],
  };
}
