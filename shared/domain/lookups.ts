// What a client must handle, from the modules that define it (GET /v1/lookups): codes, types,
// statuses, the actions each batch type allows in each status, and the limits of one call.
import { ACCOUNTING_METHODS, BALANCE_GROUP_KINDS, OPEN_ITEM_KINDS, OPEN_ITEM_STATUSES } from './account';
import { ADJUSTMENT_DIRECTIONS, ADJUSTMENT_TARGETS, ADJUSTMENT_TREATMENTS } from './adjustment';
import { SUBMIT_APPROVAL_CONDITION } from './approval';
import { LEDGER_KINDS } from './balance';
import {
  allowedActions,
  AR_POLICIES,
  BATCH_ACTIONS,
  BATCH_STATUSES,
  BATCH_TYPES,
  eligibleStatuses,
  MAX_ADD_PER_CALL,
  MAX_REPLACEMENTS_PER_ORIGINAL,
  MAX_WINDOW_DAYS,
  MEMBER_ROLES,
  MEMBER_STATES,
  RELATED_REASONS,
  type Batch,
  type BatchAction,
  type BatchStatus,
  type BatchType,
} from './batch';
import { BILL_STATUSES } from './bill-line';
import { ERROR_CODES, errorCodes } from './errors';
import { EVENT_STATUSES, MAX_EVENTS_PER_REQUEST } from './usage-event';

/** Largest page a list route returns (`?limit=`). */
export const MAX_PAGE_LIMIT = 1000;

export interface ActionRule {
  action: BatchAction;
  /** Set when the action depends on more than type and status. */
  when?: string;
}

type Situation = Pick<Batch, 'type' | 'status' | 'counts' | 'lastError' | 'options' | 'undoneBy' | 'cancelRequested'>;

// The conditions allowedActions looks at besides type and status, each named as a client sees it.
// A condition that `refines` another (it holds only where that one does) is named only for the
// actions the one it refines does not already give.
const conditions: { holds: string; fails: string; apply: (b: Situation) => Situation; refines?: string }[] = [
  {
    holds: 'some members are in ERROR',
    fails: 'no member is in ERROR',
    apply: (b) => ({ ...b, counts: { ...b.counts, errored: 1 } }),
  },
  {
    holds: 'the last lock or revert stopped with lastError',
    fails: 'the last lock or revert did not stop with an error',
    apply: (b) => ({ ...b, lastError: { code: 'INTERNAL', message: '', at: '' } }),
  },
  {
    holds: 'the batch has no events',
    fails: 'the batch has events',
    apply: (b) => ({ ...b, counts: { ...b.counts, events: 0 } }),
  },
  {
    holds: 'the batch is creditOnly',
    fails: 'the batch is not creditOnly',
    apply: (b) => ({ ...b, options: { ...b.options, creditOnly: true } }),
  },
  {
    holds: 'its cancel stopped with lastError',
    fails: 'it is not a cancel that stopped with an error',
    apply: (b) => ({ ...b, lastError: { code: 'INTERNAL', message: '', at: '' }, cancelRequested: true }),
    refines: 'the last lock or revert stopped with lastError',
  },
  {
    holds: 'the batch names an undo (undoneBy)',
    fails: 'the batch names no undo yet (undoneBy)',
    apply: (b) => ({ ...b, undoneBy: 'undo' }),
  },
];

/** Every action a type allows in a status, each with the condition it needs, derived from the one rule table. */
function actionRules(type: BatchType, status: BatchStatus): ActionRule[] {
  const base: Situation = {
    type,
    status,
    counts: { events: 1, related: 0, errored: 0, inProcess: 0, processed: 0 },
    options: { arPolicy: 'REJECT', creditOnly: false },
  };
  const plain = new Set(allowedActions(base));
  const rules: ActionRule[] = [];
  for (const action of BATCH_ACTIONS) {
    // Allowed now: while none of the conditions that take it away holds (and). Not allowed now:
    // once any of those that give it holds (or).
    const when: string[] = [];
    const enabling: string[] = [];
    for (const c of conditions) {
      const withIt = allowedActions(c.apply(base)).includes(action);
      if (plain.has(action) && !withIt) when.push(c.fails);
      if (!plain.has(action) && withIt && !(c.refines && enabling.includes(c.refines))) enabling.push(c.holds);
    }
    if (enabling.length > 0) when.push(enabling.join(' or '));
    // Approval is the caller's condition, not the batch's: GET /v1/batches/{id} applies it for the one asking.
    if (action === 'SUBMIT' && (plain.has(action) || when.length > 0)) when.push(SUBMIT_APPROVAL_CONDITION);
    if (plain.has(action)) rules.push(when.length > 0 ? { action, when: when.join(' and ') } : { action });
    else if (when.length > 0) rules.push({ action, when: when.join(' and ') });
  }
  return rules;
}

const byTypeAndStatus = () =>
  Object.fromEntries(
    BATCH_TYPES.map((t) => [t, Object.fromEntries(BATCH_STATUSES.map((s) => [s, actionRules(t, s)]))]),
  ) as Record<BatchType, Record<BatchStatus, ActionRule[]>>;

export function lookups() {
  return {
    errorCodes: ERROR_CODES.map((code) => ({
      code,
      status: errorCodes[code].status,
      meaning: errorCodes[code].meaning,
    })),
    batchTypes: [...BATCH_TYPES],
    batchStatuses: [...BATCH_STATUSES],
    batchActions: [...BATCH_ACTIONS],
    actionsByTypeAndStatus: byTypeAndStatus(),
    eligibleEventStatusesByType: Object.fromEntries(BATCH_TYPES.map((t) => [t, [...eligibleStatuses(t)]])) as Record<
      BatchType,
      string[]
    >,
    eventStatuses: [...EVENT_STATUSES],
    memberRoles: [...MEMBER_ROLES],
    memberStates: [...MEMBER_STATES],
    relatedReasons: Object.entries(RELATED_REASONS).map(([reason, meaning]) => ({ reason, meaning })),
    arPolicies: [...AR_POLICIES],
    adjustmentTargets: [...ADJUSTMENT_TARGETS],
    adjustmentDirections: [...ADJUSTMENT_DIRECTIONS],
    adjustmentTreatments: [...ADJUSTMENT_TREATMENTS],
    ledgerEntryKinds: [...LEDGER_KINDS],
    billLineStatuses: [...BILL_STATUSES],
    accountingMethods: [...ACCOUNTING_METHODS],
    openItemKinds: [...OPEN_ITEM_KINDS],
    openItemStatuses: [...OPEN_ITEM_STATUSES],
    balanceGroupKinds: [...BALANCE_GROUP_KINDS],
    limits: {
      eventIdsPerCall: MAX_ADD_PER_CALL,
      eventsPerRequest: MAX_EVENTS_PER_REQUEST,
      replacementsPerOriginal: MAX_REPLACEMENTS_PER_ORIGINAL,
      windowDaysWithoutSubscriptions: MAX_WINDOW_DAYS,
      pageLimit: MAX_PAGE_LIMIT,
    },
  };
}

export type Lookups = ReturnType<typeof lookups>;
