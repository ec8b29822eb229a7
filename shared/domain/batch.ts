// Over 350 lines: the status machine and the rule table by type × status are one table and are read
// together.
// Correction batches: types, the status machine, the one rule table of allowed actions by
// type × status, eligibility of events per type, and selection criteria. Pure.
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors';
import { EVENT_STATUSES, type EventStatus, type NewUsageEvent, type UsageEvent } from './usage-event';
import { Id, Instant } from './values';
import type { WorkflowName } from './workflows';

export const BATCH_TYPES = ['RATING', 'RERATE', 'REVERSE_REPLACE', 'UNDO'] as const;
export type BatchType = (typeof BATCH_TYPES)[number];
/** Types a batch may be created with; an UNDO batch is created from the batch it undoes (POST .../undo). */
export const CREATABLE_TYPES = ['RATING', 'RERATE', 'REVERSE_REPLACE'] as const;

export const BATCH_STATUSES = [
  'DRAFT',
  'LOCKING',
  'LOCKED',
  'REVERTING',
  'PROCESSING',
  'COMPLETED',
  'COMPLETED_WITH_ERRORS',
  'FAILED',
  'CANCELLED',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** A batch in one of these no longer holds events. */
export const FINISHED: ReadonlySet<BatchStatus> = new Set([
  'COMPLETED',
  'COMPLETED_WITH_ERRORS',
  'FAILED',
  'CANCELLED',
]);

export const BATCH_ACTIONS = [
  'ADD_EVENTS',
  'ADD_REPLACEMENTS',
  'REMOVE_EVENTS',
  'LOCK',
  'REVERT',
  'SUBMIT',
  'CANCEL',
  'UNDO',
] as const;
export type BatchAction = (typeof BATCH_ACTIONS)[number];

/** What submit does when a change would alter a bill line already interfaced to receivables. */
export const AR_POLICIES = ['REJECT', 'CREDIT_REBILL'] as const;

export interface BatchOptions {
  arPolicy: (typeof AR_POLICIES)[number];
  creditOnly: boolean;
  effectiveAt?: string;
  /** Four-eyes approval for this batch whatever the deployment setting says (it can only add to it). */
  requireApproval?: boolean;
}

export interface BatchCounts {
  /** Members added by the user (ids, criteria, CSV, replacement originals and their children). */
  events: number;
  /** Events pulled in at lock because the members change them. */
  related: number;
  errored: number;
  inProcess: number;
  processed: number;
}

export interface Batch {
  batchId: string;
  type: BatchType;
  name?: string;
  description?: string;
  status: BatchStatus;
  /** Grows with every status change: transitions and execution names are derived from it. */
  version: number;
  options: BatchOptions;
  counts: BatchCounts;
  progress: { done: number; total: number };
  createdBy: string;
  /** Who asked for the last lock: under approval, someone else submits. */
  lockedBy?: string;
  createdAt: string;
  updatedAt: string;
  lastError?: { code: ErrorCode; message: string; at: string };
  executions?: Record<string, string>;
  /**
   * A workflow start written with the status change and cleared once the execution is recorded:
   * while it is there the start is not known to have happened, and asking again repeats it.
   */
  pendingStart?: PendingStart;
  /** Set by cancel on a LOCKED batch: the revert it starts ends CANCELLED instead of DRAFT. */
  cancelRequested?: boolean;
  /** UNDO: the completed batch this one undoes. */
  undoes?: string;
  /** The UNDO batch created to undo this one (a cancelled or failed one may be replaced by another). */
  undoneBy?: string;
}

/** What an action starts: the same name and input always, so starting it twice starts it once. */
export interface PendingStart {
  action: BatchAction;
  workflow: WorkflowName;
  name: string;
  input: string;
}

export const BatchInput = z.strictObject({
  type: z.enum(CREATABLE_TYPES),
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
  options: z
    .strictObject({
      arPolicy: z.enum(AR_POLICIES).default('REJECT'),
      creditOnly: z.boolean().default(false),
      effectiveAt: Instant.optional(),
      requireApproval: z.boolean().default(false),
    })
    .default({ arPolicy: 'REJECT', creditOnly: false, requireApproval: false }),
});

export type NewBatch = Omit<z.output<typeof BatchInput>, 'type'> & { type: BatchType };

/** Options that make no sense for a type are refused when the batch is created. */
export function optionsRefusal(
  type: BatchType,
  options: BatchOptions,
): { code: ErrorCode; message: string } | undefined {
  if (options.creditOnly && type !== 'REVERSE_REPLACE') {
    return { code: 'ACTION_NOT_ALLOWED_FOR_TYPE', message: 'creditOnly applies to REVERSE_REPLACE batches only' };
  }
  return undefined;
}

// ---- the rule table ---------------------------------------------------------------------------

const byStatus: Record<BatchStatus, readonly BatchAction[]> = {
  // Cancel ends a batch that will not be submitted, releasing every event it holds.
  DRAFT: ['ADD_EVENTS', 'ADD_REPLACEMENTS', 'REMOVE_EVENTS', 'LOCK', 'CANCEL'],
  LOCKING: [],
  // Lock errors block submit until removed; only members in ERROR may be removed from a locked
  // batch, and the preview leaves them out, so removing them keeps it exact.
  LOCKED: ['REMOVE_EVENTS', 'REVERT', 'SUBMIT', 'CANCEL'],
  REVERTING: [],
  PROCESSING: [],
  // Undo (POST .../undo) creates an UNDO batch that puts back what this one changed.
  COMPLETED: ['UNDO'],
  COMPLETED_WITH_ERRORS: [],
  FAILED: [],
  CANCELLED: [],
};

const byType: Record<BatchType, ReadonlySet<BatchAction>> = {
  RATING: new Set(['ADD_EVENTS', 'REMOVE_EVENTS', 'LOCK', 'REVERT', 'SUBMIT', 'CANCEL', 'UNDO']),
  RERATE: new Set(['ADD_EVENTS', 'REMOVE_EVENTS', 'LOCK', 'REVERT', 'SUBMIT', 'CANCEL', 'UNDO']),
  REVERSE_REPLACE: new Set([
    'ADD_EVENTS',
    'ADD_REPLACEMENTS',
    'REMOVE_EVENTS',
    'LOCK',
    'REVERT',
    'SUBMIT',
    'CANCEL',
    'UNDO',
  ]),
  // An undo holds exactly what the original changed: nothing is added or removed, or it would undo part of it.
  UNDO: new Set(['LOCK', 'REVERT', 'SUBMIT', 'CANCEL', 'UNDO']),
};

/** The actions a batch allows now. A failed lock may be reverted; submit waits for errors to go. */
export function allowedActions(
  b: Pick<Batch, 'type' | 'status' | 'counts' | 'lastError' | 'options'> &
    Partial<Pick<Batch, 'pendingStart' | 'undoneBy' | 'cancelRequested'>>,
): BatchAction[] {
  const actions = [...byStatus[b.status]];
  // A start not known to have happened (its request died after the status change) may be asked again.
  if (b.pendingStart && !actions.includes(b.pendingStart.action)) actions.push(b.pendingStart.action);
  // A lock or revert that stopped with an error may be reverted (again).
  if ((b.status === 'LOCKING' || b.status === 'REVERTING') && b.lastError) actions.push('REVERT');
  // A cancel that stopped with an error (some holds released, the batch still REVERTING) may be asked again.
  if (b.status === 'REVERTING' && b.lastError && b.cancelRequested) actions.push('CANCEL');
  return actions.filter((a) => {
    if (!byType[b.type].has(a)) return false;
    if (a === 'ADD_REPLACEMENTS' && b.options.creditOnly) return false;
    if (a === 'SUBMIT' && b.counts.errored > 0) return false;
    if ((a === 'LOCK' || a === 'SUBMIT') && b.counts.events === 0) return false;
    if (a === 'REMOVE_EVENTS' && b.status === 'LOCKED' && b.counts.errored === 0) return false;
    // Offered once: the undo a batch names answers for it (a cancelled or failed one gives way on request).
    if (a === 'UNDO' && b.undoneBy !== undefined) return false;
    return true;
  });
}

/**
 * Why an action is refused: 422 ACTION_NOT_ALLOWED_FOR_TYPE when the type never allows it,
 * 409 INVALID_TRANSITION when the status does not allow it now.
 */
export function actionRefusal(
  b: Pick<Batch, 'type' | 'status' | 'counts' | 'lastError' | 'options' | 'batchId'> &
    Partial<Pick<Batch, 'pendingStart' | 'cancelRequested'>>,
  action: BatchAction,
): { code: ErrorCode; message: string } | undefined {
  if (!byType[b.type].has(action) || (action === 'ADD_REPLACEMENTS' && b.options.creditOnly)) {
    const why =
      action === 'ADD_REPLACEMENTS' && b.type === 'REVERSE_REPLACE'
        ? 'a creditOnly batch reverses without replacement'
        : `a ${b.type} batch does not allow ${action}`;
    return { code: 'ACTION_NOT_ALLOWED_FOR_TYPE', message: why };
  }
  if ((action === 'LOCK' || action === 'SUBMIT') && b.counts.events === 0 && byStatus[b.status].includes(action)) {
    return {
      code: 'BATCH_EMPTY',
      message: `batch ${b.batchId} has no events: add events before ${action === 'LOCK' ? 'locking' : 'submitting'}, or cancel it`,
    };
  }
  if (!allowedActions(b).includes(action)) {
    const extra =
      action === 'SUBMIT' && b.status === 'LOCKED'
        ? `; ${b.counts.errored} member(s) have errors: remove them (POST .../events/remove with {"mode":"BY_RULE","rule":{"errorCode":...}}) or revert`
        : '';
    return {
      code: 'INVALID_TRANSITION',
      message: `batch ${b.batchId} is ${b.status}: ${action} is not allowed${extra}`,
    };
  }
  return undefined;
}

// ---- eligibility -------------------------------------------------------------------------------

/** Event statuses a batch type takes; everything else is refused with its reason. */
const eligible: Record<BatchType, readonly EventStatus[]> = {
  RATING: ['LOADED'],
  RERATE: ['RATED'],
  // An excluded zero charge is rated too, and may need correcting.
  REVERSE_REPLACE: ['RATED', 'EXCLUDED'],
  // What the original left, whatever it is: the hold itself checks nothing changed it since.
  UNDO: ['LOADED', 'RATED', 'EXCLUDED', 'REVERSED'],
};

export const eligibleStatuses = (type: BatchType): readonly EventStatus[] => eligible[type];

export function eligibilityRefusal(
  type: BatchType,
  e: Pick<UsageEvent, 'status' | 'heldBy'>,
  batchId: string,
): ErrorCode | undefined {
  if (e.heldBy !== undefined && e.heldBy !== batchId) return 'EVENT_HELD_BY_OTHER_BATCH';
  if (eligible[type].includes(e.status)) return undefined;
  if (e.status === 'REVERSED') return 'EVENT_ALREADY_REVERSED';
  if (type === 'RATING') return 'EVENT_ALREADY_PROCESSED';
  return 'EVENT_NOT_RATED';
}

// ---- selection ---------------------------------------------------------------------------------

/** Longest time window a selection may name without a subscription. */
export const MAX_WINDOW_DAYS = 31;
/** Events added by one call; larger selections page with the returned cursor. */
export const MAX_ADD_PER_CALL = 1000;

/** Replacement events one original may receive. */
export const MAX_REPLACEMENTS_PER_ORIGINAL = 50;

export const Criteria = z.strictObject({
  subscriptionIds: z.array(Id).min(1).max(100).optional(),
  productId: Id.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  from: Instant.optional(),
  to: Instant.optional(),
});

export type SelectionCriteria = z.output<typeof Criteria>;

/** Selections must be precise: a subscription, or a closed window of at most MAX_WINDOW_DAYS. */
export function criteriaRefusal(c: SelectionCriteria): { code: ErrorCode; message: string } | undefined {
  if (c.from && c.to && c.to <= c.from) return { code: 'VALIDATION_FAILED', message: 'to must be after from' };
  if (c.subscriptionIds && c.subscriptionIds.length > 0) return undefined;
  if (!c.from || !c.to) {
    return {
      code: 'CRITERIA_TOO_BROAD',
      message: 'name subscriptionIds, or both from and to (a window of at most 31 days)',
    };
  }
  if (Date.parse(c.to) - Date.parse(c.from) > MAX_WINDOW_DAYS * 86_400_000) {
    return {
      code: 'CRITERIA_TOO_BROAD',
      message: `a window without subscriptionIds may span at most ${MAX_WINDOW_DAYS} days`,
    };
  }
  return undefined;
}

/**
 * A part of one partition a selection holds: a time window [from, to), the statuses it takes and
 * a product, as the criteria named them.
 */
export interface SelectionRange {
  from?: string;
  to?: string;
  statuses: readonly EventStatus[];
  productId?: string;
}

/** Whether one of the ranges takes the event (as it is now). */
export const selects = (
  ranges: readonly SelectionRange[],
  e: Pick<UsageEvent, 'occurredAt' | 'status' | 'productId'>,
): boolean =>
  ranges.some(
    (r) =>
      (r.from === undefined || e.occurredAt >= r.from) &&
      (r.to === undefined || e.occurredAt < r.to) &&
      r.statuses.includes(e.status) &&
      (r.productId === undefined || e.productId === r.productId),
  );

/** Days (UTC, YYYY-MM-DD) a window touches, for the day index. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(from.slice(0, 10)); t < Date.parse(to); t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

// ---- members -----------------------------------------------------------------------------------

export const MEMBER_ROLES = ['MEMBER', 'CHILD', 'RELATED', 'REPLACEMENT'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
/** As the API shows them: LOCKED and PROCESSED are HELD members seen through their batch's status. */
export const MEMBER_STATES = ['HELD', 'LOCKED', 'ERROR', 'PROCESSED', 'FAILED'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** Why lock held an event the user did not add. */
export const RELATED_REASONS = {
  LATER_IN_PARTITION:
    'Rated after a member in the same subscription and register, so re-rating the member changes it too.',
  CHILD_OF_REVERSED: 'A child of a member being reversed; it is reversed with its parent.',
} as const;
export type RelatedReason = keyof typeof RELATED_REASONS;
export const isRelatedReason = (r: unknown): r is RelatedReason =>
  typeof r === 'string' && Object.hasOwn(RELATED_REASONS, r);

/** A replacement event waiting in its batch until submit inserts it. */
export type PendingReplacement = NewUsageEvent & { replaces: string; register: string };

export interface BatchMember {
  eventId: string;
  role: MemberRole;
  state: MemberState;
  subscriptionId: string;
  register: string;
  occurredAt: string;
  errorCode?: ErrorCode;
  errorMessage?: string;
  relatedReason?: RelatedReason;
  /** REVERSE_REPLACE: the events that replace this original (none: reversed only). */
  replacements?: string[];
  /** Where those replacement events of another partition than the original's wait in the batch (sort keys). */
  replacementKeys?: string[];
  /** Those of the original's own partition, kept on the member item itself (no item of their own). */
  replacementEvents?: PendingReplacement[];
  addedAt: string;
}

export const RemoveRequest = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('ALL') }),
  z.strictObject({
    mode: z.literal('BY_RULE'),
    rule: z
      .strictObject({
        errorCode: z.enum(ERROR_CODES).optional(),
        subscriptionIds: z.array(Id).min(1).max(100).optional(),
        eventIds: z.array(Id).min(1).max(MAX_ADD_PER_CALL).optional(),
        from: Instant.optional(),
        to: Instant.optional(),
      })
      .refine((r) => Object.keys(r).length > 0, 'a rule needs at least one condition'),
  }),
]);

export type RemoveRule = Extract<z.output<typeof RemoveRequest>, { mode: 'BY_RULE' }>['rule'];

export function matchesRule(m: BatchMember, rule: RemoveRule): boolean {
  return (
    (rule.errorCode === undefined || m.errorCode === rule.errorCode) &&
    (rule.subscriptionIds === undefined || rule.subscriptionIds.includes(m.subscriptionId)) &&
    (rule.eventIds === undefined || rule.eventIds.includes(m.eventId)) &&
    (rule.from === undefined || m.occurredAt >= rule.from) &&
    (rule.to === undefined || m.occurredAt < rule.to)
  );
}
